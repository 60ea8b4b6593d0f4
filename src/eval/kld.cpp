#include "qbench/eval/kld.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "qbench/eval/llamacpp_kld.hpp"
#include "qbench/stats/percentile.hpp"
#include "qbench/stats/ratio_mean.hpp"
#include "qbench/util/error.hpp"

namespace qbench::eval {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'Q', 'B', 'K', 'L', 'D', '0', '1', '\n'};
constexpr char kEnd[8] = {'Q', 'B', 'K', 'L', 'D', 'E', 'N', 'D'};

using Clock = std::chrono::steady_clock;

nlohmann::json info_json(const KldFileInfo& i) {
    return {{"baseline", i.baseline},     {"protocol", i.protocol}, {"data_sha256", i.data_sha256},
            {"max_length", i.max_length}, {"stride", i.stride},     {"limit", i.limit},
            {"vocab_size", i.vocab_size}, {"top_k", i.top_k},     {"storage", i.storage}};
}

template <typename T>
void put(std::ofstream& out, const T& x) {
    out.write(reinterpret_cast<const char*>(&x), sizeof(T));
}

void put_tensor(std::ofstream& out, const torch::Tensor& t, torch::ScalarType type) {
    auto c = t.to(torch::kCPU, type).contiguous();
    out.write(reinterpret_cast<const char*>(c.data_ptr()), static_cast<std::streamsize>(c.nbytes()));
}

template <typename T>
bool get(std::ifstream& in, T& x) {
    return static_cast<bool>(in.read(reinterpret_cast<char*>(&x), sizeof(T)));
}

bool get_tensor(std::ifstream& in, torch::Tensor& t, std::vector<std::int64_t> shape, torch::ScalarType type) {
    t = torch::empty(shape, torch::TensorOptions().dtype(type));
    return static_cast<bool>(in.read(reinterpret_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes())));
}

// Opens a base file, checks magic and trailer, and leaves `in` at the first window record.
KldFileInfo open_base(const fs::path& path, std::ifstream& in) {
    in.open(path, std::ios::binary);
    if (!in) throw_bad_input("{}: cannot open the KLD base file", path.string());
    char magic[8];
    std::uint64_t n = 0;
    if (!in.read(magic, 8) || std::memcmp(magic, kMagic, 8) != 0 || !get(in, n) || n > (1u << 20)) {
        throw_bad_input("{}: not a qbench KLD base file", path.string());
    }
    std::string text(n, '\0');
    if (!in.read(text.data(), static_cast<std::streamsize>(n))) throw_bad_input("{}: truncated KLD base file header", path.string());
    KldFileInfo info;
    try {
        const auto j = nlohmann::json::parse(text);
        j.at("baseline").get_to(info.baseline);
        j.at("protocol").get_to(info.protocol);
        j.at("data_sha256").get_to(info.data_sha256);
        j.at("max_length").get_to(info.max_length);
        j.at("stride").get_to(info.stride);
        j.at("limit").get_to(info.limit);
        j.at("vocab_size").get_to(info.vocab_size);
        j.at("top_k").get_to(info.top_k);
        if (j.contains("storage")) j.at("storage").get_to(info.storage);
    } catch (const nlohmann::json::exception& e) {
        throw_bad_input("{}: bad KLD base file header: {}", path.string(), e.what());
    }
    if (info.vocab_size < 1 || info.top_k < 1 || info.top_k > info.vocab_size) {
        throw_bad_input("{}: bad KLD base file header: top_k {} for vocabulary {}", path.string(), info.top_k, info.vocab_size);
    }
    if (info.storage != "f32" && !(info.storage == "u16" && info.top_k == info.vocab_size)) {
        throw_bad_input("{}: bad KLD base file header: storage '{}' (f32, or u16 for full rows)", path.string(),
                        info.storage);
    }
    const auto body = in.tellg();
    in.seekg(-24, std::ios::end);
    char end[8];
    std::uint64_t windows = 0, tokens = 0;
    if (!in || in.tellg() < body || !in.read(end, 8) || std::memcmp(end, kEnd, 8) != 0 || !get(in, windows) ||
        !get(in, tokens)) {
        throw_bad_input("{}: incomplete KLD base file (no trailer; the baseline run was interrupted?)", path.string());
    }
    info.windows = static_cast<std::int64_t>(windows);
    info.tokens = static_cast<std::int64_t>(tokens);
    in.seekg(body);
    return info;
}

// A window's full distributions [T, vocab] (float32) and targets [T] (int64) as CPU tensors over
// the observer's spans (no copy of the distributions).
std::pair<torch::Tensor, torch::Tensor> host_tensors(const lm::WindowScores& s) {
    if (!s.full()) throw_bad_input("KLD: the model gave no full distributions for a window");
    auto logp = torch::from_blob(const_cast<float*>(s.logp.data()), {s.positions, s.vocab_size}, torch::kFloat32);
    auto targets = torch::from_blob(const_cast<std::int32_t*>(s.targets.data()), {s.positions}, torch::kInt32)
                       .to(torch::kInt64);
    return {logp, targets};
}

}  // namespace

bool KldFileInfo::same_windows(const KldFileInfo& o) const {
    return protocol == o.protocol && data_sha256 == o.data_sha256 && max_length == o.max_length &&
           stride == o.stride && limit == o.limit && vocab_size == o.vocab_size;
}

std::string KldFileInfo::describe() const {
    return info_json(*this).dump();
}

std::int64_t default_kld_top_k(std::int64_t vocab_size) { return vocab_size; }

std::string kld_dense_storage(std::int64_t vocab_size) { return vocab_size <= 4096 ? "f32" : "u16"; }

std::int64_t kld_base_bytes(const KldFileInfo& info, std::int64_t tokens) {
    std::int64_t per_token = 12;  // target id, its log-prob, the log tail
    if (info.top_k < info.vocab_size) {
        per_token += info.top_k * 8;
    } else if (kld_dense_storage(info.vocab_size) == "u16") {
        per_token += llamacpp_row_width(info.vocab_size) * 2;
    } else {
        per_token += info.vocab_size * 4;
    }
    return tokens * per_token;
}

std::int64_t kld_top_k_for_disk(const KldFileInfo& info, std::int64_t tokens, const fs::path& dir, std::string* why) {
    const std::int64_t need = kld_base_bytes(info, tokens);
    std::error_code ec;
    fs::create_directories(dir, ec);
    const auto space = fs::space(dir, ec);
    if (ec || info.top_k < info.vocab_size) return info.top_k;
    const double room = 0.9 * static_cast<double>(space.available);
    if (static_cast<double>(need) <= room) return info.top_k;
    const std::int64_t k = std::min<std::int64_t>(128, info.vocab_size);
    if (why) {
        *why = fmt::format("the full distributions of up to {} tokens over {} entries take {:.1f} GB and {} has "
                           "{:.1f} GB free: keeping the top-{} and a tail bucket (a lower bound; set "
                           "perplexity.kld_top_k to choose)",
                           tokens, info.vocab_size, need / 1e9, dir.string(), space.available / 1e9, k);
    }
    return k;
}

BaseDistribution reduce_base(const torch::Tensor& logp, const torch::Tensor& targets, std::int64_t k) {
    BaseDistribution b;
    b.targets = targets.to(torch::kInt64);
    auto lp = logp.to(torch::kFloat32);
    b.target_logp = lp.gather(1, b.targets.unsqueeze(1)).squeeze(1);
    const auto vocab = lp.size(1);
    if (k >= vocab) {
        b.logp = lp;
        b.log_tail = torch::full({lp.size(0)}, -std::numeric_limits<float>::infinity(), lp.options());
        return b;
    }
    auto [values, ids] = torch::topk(lp, k, /*dim=*/1, /*largest=*/true, /*sorted=*/true);
    b.ids = ids;
    b.logp = values;
    b.log_tail = torch::logsumexp(lp.scatter(1, ids, -std::numeric_limits<float>::infinity()), 1);
    return b;
}

TokenStats token_stats(const BaseDistribution& base, const torch::Tensor& variant_logp) {
    TokenStats s;
    auto q = variant_logp.to(torch::kFloat32);
    const auto ninf = -std::numeric_limits<double>::infinity();
    torch::Tensor p_log, q_log, base_top;
    if (!base.ids.defined()) {
        p_log = base.logp.to(torch::kFloat64);
        q_log = q.to(torch::kFloat64);
        base_top = base.logp.argmax(1);
    } else {
        p_log = base.logp.to(torch::kFloat64);
        q_log = q.gather(1, base.ids).to(torch::kFloat64);
        base_top = base.ids.select(1, 0);
    }
    // p ln(p / q), 0 where p = 0.
    auto terms = torch::where(p_log == ninf, torch::zeros_like(p_log), p_log.exp() * (p_log - q_log));
    s.kld = terms.sum(1);
    auto log_tail = base.log_tail.to(torch::kFloat64);
    if (base.ids.defined()) {
        auto q_tail = torch::logsumexp(q.scatter(1, base.ids, -std::numeric_limits<float>::infinity()), 1)
                          .to(torch::kFloat64);
        s.kld = s.kld + torch::where(log_tail == ninf, torch::zeros_like(log_tail), log_tail.exp() * (log_tail - q_tail));
    }
    s.tail_mass = log_tail.exp();
    s.same_top = q.argmax(1) == base_top;
    const auto targets = base.targets.to(q.device());
    s.delta_p = q.gather(1, targets.unsqueeze(1)).squeeze(1).to(torch::kFloat64).exp() -
                base.target_logp.to(torch::kFloat64).exp();
    return s;
}

KldBaseWriter::KldBaseWriter(fs::path path, KldFileInfo info)
    : path_(std::move(path)), tmp_(path_.string() + ".tmp"), info_(std::move(info)) {
    info_.storage = info_.top_k >= info_.vocab_size ? kld_dense_storage(info_.vocab_size) : "f32";
    fs::create_directories(path_.parent_path());
    out_.open(tmp_, std::ios::binary | std::ios::trunc);
    if (!out_) throw_runtime("{}: cannot write the KLD base file", tmp_.string());
    const std::string header = info_json(info_).dump();
    out_.write(kMagic, 8);
    put(out_, static_cast<std::uint64_t>(header.size()));
    out_.write(header.data(), static_cast<std::streamsize>(header.size()));
}

KldBaseWriter::~KldBaseWriter() {
    if (!finished_) {
        out_.close();
        std::error_code ec;
        fs::remove(tmp_, ec);
    }
}

void KldBaseWriter::window(std::size_t index, const Window& w, const lm::WindowScores& scores) {
    const auto [logp, targets] = host_tensors(scores);
    auto base = reduce_base(logp, targets, info_.top_k);
    const std::int64_t t = targets.size(0);
    put(out_, static_cast<std::int64_t>(index));
    put(out_, static_cast<std::int64_t>(w.block));
    put(out_, t);
    put_tensor(out_, base.targets, torch::kInt32);
    put_tensor(out_, base.target_logp, torch::kFloat32);
    put_tensor(out_, base.log_tail, torch::kFloat32);
    if (base.ids.defined()) put_tensor(out_, base.ids, torch::kInt32);
    if (info_.storage == "u16") {
        const auto lp = base.logp.to(torch::kCPU, torch::kFloat32).contiguous();
        const std::int64_t v = info_.vocab_size;
        std::vector<std::uint16_t> rows(static_cast<std::size_t>(t * llamacpp_row_width(v)));
        const auto width = static_cast<std::size_t>(llamacpp_row_width(v));
        for (std::int64_t i = 0; i < t; ++i) {
            pack_log_probs({lp.data_ptr<float>() + i * v, static_cast<std::size_t>(v)},
                           {rows.data() + static_cast<std::size_t>(i) * width, width});
        }
        out_.write(reinterpret_cast<const char*>(rows.data()), static_cast<std::streamsize>(rows.size() * 2));
    } else {
        put_tensor(out_, base.logp, torch::kFloat32);
    }
    if (!out_) throw_runtime("{}: write failed (disk full?)", tmp_.string());
    ++info_.windows;
    info_.tokens += t;
}

void KldBaseWriter::finish() {
    out_.write(kEnd, 8);
    put(out_, static_cast<std::uint64_t>(info_.windows));
    put(out_, static_cast<std::uint64_t>(info_.tokens));
    out_.close();
    if (!out_) throw_runtime("{}: write failed (disk full?)", tmp_.string());
    fs::rename(tmp_, path_);
    finished_ = true;
}

KldFileInfo read_kld_info(const fs::path& path) {
    std::ifstream in;
    return open_base(path, in);
}

KldScorer::KldScorer(const fs::path& path, const KldFileInfo& expected, double confidence)
    : path_(path), confidence_(confidence) {
    info_ = open_base(path, in_);
    if (!info_.same_windows(expected)) {
        throw_bad_input("{}: the KLD base file was made for other windows ({}; this run: {})", path.string(),
                        info_.describe(), expected.describe());
    }
}

KldScorer::~KldScorer() = default;

// Per-token statistics when the variant gave only its top-k log-probs (a server), on the host.
// The vocabulary is coarsened into the tokens whose probability both sides know (the variant's
// top-k and the true token, where the base knows them: all of them for a dense base file, its
// top-k otherwise) plus one bucket for the rest; by the log-sum inequality the KL divergence of
// the coarsened distributions is a lower bound of the full one. Same-top and delta-p are exact:
// the variant's argmax is its first listed token and the true token's log-prob is always given.
TokenStats topk_token_stats(const BaseDistribution& base, const lm::WindowScores& v) {
    const std::int64_t T = v.positions, k = v.k;
    const bool dense = !base.ids.defined();
    const auto p_logp = base.logp.to(torch::kCPU, torch::kFloat32).contiguous();
    const auto p_target = base.target_logp.to(torch::kCPU, torch::kFloat32).contiguous();
    const std::int64_t width = p_logp.size(1);
    torch::Tensor p_ids;
    if (!dense) p_ids = base.ids.to(torch::kCPU, torch::kInt64).contiguous();
    const float* pl = p_logp.data_ptr<float>();
    const float* pt = p_target.data_ptr<float>();
    const std::int64_t* pi = dense ? nullptr : p_ids.data_ptr<std::int64_t>();
    auto kld = torch::empty({T}, torch::kFloat64), dp = torch::empty({T}, torch::kFloat64),
         rest = torch::empty({T}, torch::kFloat64);
    auto same = torch::empty({T}, torch::kBool);
    auto* kp = kld.data_ptr<double>();
    auto* dpp = dp.data_ptr<double>();
    auto* rp = rest.data_ptr<double>();
    auto* sp = same.data_ptr<bool>();
    std::vector<std::pair<std::int64_t, double>> cells;  // token, variant log-prob
    for (std::int64_t t = 0; t < T; ++t) {
        const float* row = pl + t * width;
        // The base log-prob of `id`, when it knows it.
        auto base_logp = [&](std::int64_t id, double& out) {
            if (dense) {
                if (id < 0 || id >= width) return false;  // outside the base's vocabulary: in the rest
                out = row[id];
                return true;
            }
            for (std::int64_t j = 0; j < width; ++j) {
                if (pi[t * width + j] == id) {
                    out = row[j];
                    return true;
                }
            }
            if (id == v.targets[static_cast<std::size_t>(t)]) {
                out = pt[t];
                return true;
            }
            return false;
        };
        cells.clear();
        const std::int64_t target = v.targets[static_cast<std::size_t>(t)];
        bool target_listed = false;
        for (std::int64_t j = 0; j < k; ++j) {
            const std::int64_t id = v.top_ids[static_cast<std::size_t>(t * k + j)];
            cells.push_back({id, v.logp[static_cast<std::size_t>(t * k + j)]});
            target_listed = target_listed || id == target;
        }
        if (!target_listed) cells.push_back({target, v.target_logp[static_cast<std::size_t>(t)]});
        double sum = 0.0, p_known = 0.0, q_known = 0.0;
        for (const auto& [id, q_lp] : cells) {
            double p_lp = 0.0;
            if (!base_logp(id, p_lp)) continue;
            const double p = std::exp(p_lp), q = std::exp(q_lp);
            p_known += p;
            q_known += q;
            if (p > 0) sum += p * (p_lp - q_lp);
        }
        const double p_rest = std::max(0.0, 1.0 - p_known);
        // Raising q_rest (rounding in the listed log-probs can push their sum past 1) only lowers
        // the bucket's term, so the result stays a lower bound.
        const double q_rest = std::max(1.0 - q_known, 1e-30);
        if (p_rest > 0) sum += p_rest * std::log(p_rest / q_rest);
        kp[t] = std::max(0.0, sum);
        rp[t] = p_rest;
        const std::int64_t base_top = dense ? std::max_element(row, row + width) - row : pi[t * width];
        sp[t] = k > 0 && v.top_ids[static_cast<std::size_t>(t * k)] == base_top;
        dpp[t] = std::exp(static_cast<double>(v.target_logp[static_cast<std::size_t>(t)])) - std::exp(static_cast<double>(pt[t]));
    }
    TokenStats s;
    s.kld = kld;
    s.delta_p = dp;
    s.tail_mass = rest;
    s.same_top = same;
    return s;
}

void KldScorer::window(std::size_t index, const Window& w, const lm::WindowScores& scores) {
    if (!error_.empty()) return;
    const bool topk = !scores.full();
    if (topk && scores.k < 1) {
        error_ = "the variant gave no log-prob distributions";
        return;
    }
    const auto started = Clock::now();
    std::int64_t idx = 0, block = 0, t = 0;
    if (!get(in_, idx) || !get(in_, block) || !get(in_, t) || windows_seen_ >= info_.windows) {
        error_ = fmt::format("{}: the base file ends before window {}", path_.string(), index);
        return;
    }
    const std::int64_t n = scores.positions;
    if (idx != static_cast<std::int64_t>(index) || block != static_cast<std::int64_t>(w.block) || t != n) {
        error_ = fmt::format("{}: window {} of the base file (block {}, {} tokens) is not this run's window {} "
                             "(block {}, {} tokens)", path_.string(), idx, block, t, index, w.block, n);
        return;
    }
    BaseDistribution base;
    torch::Tensor ids32, tgt32;
    const bool dense = info_.top_k >= info_.vocab_size;
    bool ok = get_tensor(in_, tgt32, {t}, torch::kInt32) && get_tensor(in_, base.target_logp, {t}, torch::kFloat32) &&
              get_tensor(in_, base.log_tail, {t}, torch::kFloat32);
    if (ok && !dense) ok = get_tensor(in_, ids32, {t, info_.top_k}, torch::kInt32);
    if (ok && info_.storage == "u16") {
        // llama.cpp's 16-bit rows: dequantized, entries at or below ln p = -16 dropped (p = 0), as
        // llama-perplexity --kl-divergence sums only over ln p > -16.
        const std::int64_t v = info_.vocab_size;
        const auto width = static_cast<std::size_t>(llamacpp_row_width(v));
        std::vector<std::uint16_t> rows(static_cast<std::size_t>(t) * width);
        ok = static_cast<bool>(in_.read(reinterpret_cast<char*>(rows.data()), static_cast<std::streamsize>(rows.size() * 2)));
        if (ok) {
            base.logp = torch::empty({t, v}, torch::kFloat32);
            float* lp = base.logp.data_ptr<float>();
            const float ninf = -std::numeric_limits<float>::infinity();
            for (std::int64_t i = 0; i < t; ++i) {
                const std::span<const std::uint16_t> row(rows.data() + static_cast<std::size_t>(i) * width, width);
                for (std::int64_t j = 0; j < v; ++j) {
                    const float x = unpacked_log_prob(row, j);
                    lp[i * v + j] = x > -16.0f ? x : ninf;
                }
            }
        }
    } else if (ok) {
        ok = get_tensor(in_, base.logp, {t, dense ? info_.vocab_size : info_.top_k}, torch::kFloat32);
    }
    if (!ok) {
        error_ = fmt::format("{}: truncated at window {}", path_.string(), index);
        return;
    }
    const auto mine = torch::from_blob(const_cast<std::int32_t*>(scores.targets.data()), {n}, torch::kInt32)
                          .to(torch::kInt64);
    if (!torch::equal(tgt32.to(torch::kInt64), mine)) {
        error_ = fmt::format("window {} scores other tokens than the baseline's (KLD needs the same tokenizer and data)",
                             index);
        return;
    }
    TokenStats s;
    if (topk) {
        base.targets = mine;
        if (!dense) base.ids = ids32.to(torch::kInt64);
        s = topk_token_stats(base, scores);
        records_.variant_top_k = std::max(records_.variant_top_k, scores.k);
    } else {
        const auto [logp, targets] = host_tensors(scores);
        if (logp.size(1) != info_.vocab_size) {
            error_ = fmt::format("the variant's vocabulary ({}) is not the baseline's ({})", logp.size(1),
                                 info_.vocab_size);
            return;
        }
        const auto device = logp.device();
        base.targets = mine.to(device);
        base.target_logp = base.target_logp.to(device);
        base.log_tail = base.log_tail.to(device);
        base.logp = base.logp.to(device);
        if (!dense) base.ids = ids32.to(device, torch::kInt64);
        s = token_stats(base, logp);
    }
    auto kld = s.kld.to(torch::kCPU).contiguous();
    auto dp = s.delta_p.to(torch::kCPU).contiguous();
    const auto* kp = kld.data_ptr<double>();
    const auto* dpp = dp.data_ptr<double>();
    for (std::int64_t i = 0; i < n; ++i) {
        // The variant's log-probs are checked before any observer sees them, so a non-finite
        // value here comes from the base file.
        if (!std::isfinite(kp[i]) || !std::isfinite(dpp[i])) {
            throw_runtime("KLD vs '{}': window {}, scored token {}: the KLD is {} (delta p {}): {} holds non-finite "
                          "log-probs there; write it again from the baseline",
                          info_.baseline, index, i, kp[i], dpp[i], path_.string());
        }
    }
    KldWindowRecord rec;
    rec.index = idx;
    rec.block = block;
    rec.kld.assign(kp, kp + n);
    rec.delta_p.assign(dpp, dpp + n);
    rec.same_top = s.same_top.sum().item<std::int64_t>();
    rec.tail_mass_sum = s.tail_mass.sum().item<double>();
    records_.windows.push_back(std::move(rec));
    ++windows_seen_;
    records_.seconds += std::chrono::duration<double>(Clock::now() - started).count();
}

std::optional<KldRecords> KldScorer::finish_records() {
    if (error_.empty() && windows_seen_ != info_.windows) {
        error_ = fmt::format("{}: the run scored {} windows, the base file holds {}", path_.string(), windows_seen_,
                             info_.windows);
    }
    if (!error_.empty()) return std::nullopt;
    records_.baseline = info_.baseline;
    records_.protocol = info_.protocol;
    records_.top_k = info_.top_k;
    records_.vocab_size = info_.vocab_size;
    records_.confidence = confidence_;
    return records_;
}

std::optional<report::KldResult> KldScorer::finish() {
    const auto records = finish_records();
    if (!records) return std::nullopt;
    auto r = aggregate_kld(*records);
    if (!r) error_ = "no scored tokens";
    return r;
}

}  // namespace qbench::eval
