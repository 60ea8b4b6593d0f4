#include "qbench/eval/llamacpp_kld.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "qbench/eval/kld.hpp"
#include "qbench/util/error.hpp"

namespace qbench::eval {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'_', 'l', 'o', 'g', 'i', 't', 's', '_'};
// llama.cpp ignores base entries at or below this log-prob in the KLD sum.
constexpr float kFloor = -16.f;

// llama.cpp's nearest_int: round half to even through the float mantissa (|x| < 2^22).
int nearest_int(float x) {
    float v = x + 12582912.f;
    std::int32_t i = 0;
    std::memcpy(&i, &v, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

float row_float(std::span<const std::uint16_t> row, int k) {
    float f = 0;
    std::memcpy(&f, row.data() + 2 * k, sizeof f);
    return f;
}

std::int64_t header_bytes(std::int64_t n_ctx, std::int64_t n_chunk) {
    return 8 + 3 * 4 + n_chunk * n_ctx * 4;
}

}  // namespace

std::int64_t llamacpp_row_width(std::int64_t n_vocab) {
    return 2 * ((n_vocab + 1) / 2) + 4;
}

void pack_log_probs(std::span<const float> logits, std::span<std::uint16_t> row) {
    const auto n = static_cast<std::int64_t>(logits.size());
    if (n < 1 || static_cast<std::int64_t>(row.size()) != llamacpp_row_width(n)) {
        throw_runtime("pack_log_probs: {} logits for a row of {}", n, row.size());
    }
    float max_logit = logits[0], min_logit = logits[0];
    for (float x : logits) {
        max_logit = std::max(max_logit, x);
        min_logit = std::min(min_logit, x);
    }
    min_logit = std::max(min_logit, max_logit - 16);
    double sum_exp = 0.0;
    for (float x : logits) sum_exp += std::exp(x - max_logit);
    const auto log_sum_exp = static_cast<float>(std::log(sum_exp));
    const float min_log_prob = min_logit - max_logit - log_sum_exp;
    const float scale = (max_logit - min_logit) / 65535.f;
    std::memcpy(row.data(), &scale, sizeof scale);
    std::memcpy(row.data() + 2, &min_log_prob, sizeof min_log_prob);
    auto q = row.subspan(4);
    std::fill(q.begin(), q.end(), std::uint16_t{0});
    if (scale != 0.f) {
        const float inv = 1 / scale;
        for (std::int64_t i = 0; i < n; ++i) {
            if (logits[i] > min_logit) q[i] = static_cast<std::uint16_t>(nearest_int(inv * (logits[i] - min_logit)));
        }
    }
}

float unpacked_log_prob(std::span<const std::uint16_t> row, std::int64_t i) {
    return row_float(row, 0) * row[4 + i] + row_float(row, 1);
}

LlamaTokenStats llamacpp_token_stats(std::span<const float> logits, std::span<const std::uint16_t> base_row,
                                     std::int32_t target) {
    const auto n = static_cast<std::int64_t>(logits.size());
    float max_logit = logits[0];
    std::int64_t imax = 0;
    for (std::int64_t i = 1; i < n; ++i) {
        if (logits[i] > max_logit) {
            max_logit = logits[i];
            imax = i;
        }
    }
    double sum_exp = 0.0;
    for (float x : logits) sum_exp += std::exp(static_cast<double>(x) - max_logit);
    const double log_z = max_logit + std::log(sum_exp);
    LlamaTokenStats s;
    s.nll = log_z - logits[target];
    s.nll_base = -static_cast<double>(unpacked_log_prob(base_row, target));
    double kld = 0.0;
    std::int64_t imax_base = 0;
    float base_max = 0.f;
    for (std::int64_t i = 0; i < n; ++i) {
        const float lp = unpacked_log_prob(base_row, i);
        if (i == 0 || lp > base_max) {
            base_max = lp;
            imax_base = i;
        }
        if (lp > kFloor) kld += std::exp(static_cast<double>(lp)) * (lp - (logits[i] - log_z));
    }
    s.kld = kld;
    s.same_top = imax == imax_base;
    s.delta_p = std::exp(-s.nll) - std::exp(-s.nll_base);
    return s;
}

bool is_llamacpp_kld_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    char magic[8];
    return in.read(magic, 8) && std::memcmp(magic, kMagic, 8) == 0;
}

LlamaKldHeader read_llamacpp_kld_header(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw_bad_input("{}: cannot open the llama.cpp KLD base file", path.string());
    char magic[8];
    std::int32_t v[3] = {0, 0, 0};
    if (!in.read(magic, 8) || std::memcmp(magic, kMagic, 8) != 0) {
        throw_bad_input("{}: not a llama.cpp KLD base file (no \"_logits_\" magic)", path.string());
    }
    if (!in.read(reinterpret_cast<char*>(v), sizeof v)) {
        throw_bad_input("{}: truncated llama.cpp KLD base file (header)", path.string());
    }
    LlamaKldHeader h;
    h.n_ctx = v[0];
    h.n_vocab = v[1];
    h.n_chunk = v[2];
    if (h.n_ctx < 3 || h.n_vocab < 1 || h.n_chunk < 1) {
        throw_bad_input("{}: bad llama.cpp KLD base file header (n_ctx {}, n_vocab {}, n_chunk {})", path.string(),
                        h.n_ctx, h.n_vocab, h.n_chunk);
    }
    const std::int64_t want = header_bytes(h.n_ctx, h.n_chunk) +
                              h.n_chunk * h.rows_per_chunk() * llamacpp_row_width(h.n_vocab) * 2;
    std::error_code ec;
    const auto size = static_cast<std::int64_t>(fs::file_size(path, ec));
    if (ec || size < want) {
        throw_bad_input("{}: truncated llama.cpp KLD base file ({} bytes, n_ctx {}, n_vocab {} and n_chunk {} need {})",
                        path.string(), ec ? 0 : size, h.n_ctx, h.n_vocab, h.n_chunk, want);
    }
    if (size > want) {
        throw_bad_input("{}: {} bytes after the last chunk of this llama.cpp KLD base file (not one?)", path.string(),
                        size - want);
    }
    h.tokens.resize(static_cast<std::size_t>(h.n_chunk * h.n_ctx));
    in.read(reinterpret_cast<char*>(h.tokens.data()), static_cast<std::streamsize>(h.tokens.size() * 4));
    if (!in) throw_bad_input("{}: cannot read the tokens of the llama.cpp KLD base file", path.string());
    return h;
}

void check_llamacpp_kld_header(const fs::path& path, const LlamaKldHeader& h, std::int64_t n_ctx,
                               std::int64_t n_vocab, std::int64_t n_chunk, std::span<const std::int32_t> tokens) {
    const auto p = path.string();
    if (h.n_ctx != n_ctx) throw_bad_input("{}: made with n_ctx {}, this run's max_length is {}", p, h.n_ctx, n_ctx);
    if (h.n_vocab != n_vocab) throw_bad_input("{}: made for a vocabulary of {}, this model's is {}", p, h.n_vocab, n_vocab);
    if (h.n_chunk != n_chunk) throw_bad_input("{}: holds {} chunks, this run scores {}", p, h.n_chunk, n_chunk);
    const auto n = static_cast<std::size_t>(n_chunk * n_ctx);
    if (tokens.size() < n) throw_bad_input("{}: holds {} tokens, this run has {}", p, n, tokens.size());
    for (std::size_t i = 0; i < n; ++i) {
        if (h.tokens[i] != tokens[i]) {
            throw_bad_input("{}: token {} (chunk {}) is {} in the file, {} in this run's data (other text or tokenizer)",
                            p, i, static_cast<std::int64_t>(i) / n_ctx, h.tokens[i], tokens[i]);
        }
    }
}

LlamaKldWriter::LlamaKldWriter(fs::path path, std::int64_t n_ctx, std::int64_t n_vocab, std::int64_t n_chunk,
                               std::span<const std::int32_t> tokens)
    : path_(std::move(path)), tmp_(path_.string() + ".tmp"), n_vocab_(n_vocab), n_chunk_(n_chunk),
      rows_(n_ctx - 1 - n_ctx / 2) {
    if (static_cast<std::int64_t>(tokens.size()) < n_chunk * n_ctx) {
        throw_runtime("{}: {} tokens for {} chunks of {}", path_.string(), tokens.size(), n_chunk, n_ctx);
    }
    if (path_.has_parent_path()) fs::create_directories(path_.parent_path());
    out_.open(tmp_, std::ios::binary | std::ios::trunc);
    if (!out_) throw_runtime("{}: cannot write the KLD base file", tmp_.string());
    const std::int32_t v[3] = {static_cast<std::int32_t>(n_ctx), static_cast<std::int32_t>(n_vocab),
                               static_cast<std::int32_t>(n_chunk)};
    out_.write(kMagic, 8);
    out_.write(reinterpret_cast<const char*>(v), sizeof v);
    out_.write(reinterpret_cast<const char*>(tokens.data()), static_cast<std::streamsize>(n_chunk * n_ctx * 4));
}

LlamaKldWriter::~LlamaKldWriter() {
    if (!finished_) {
        out_.close();
        std::error_code ec;
        fs::remove(tmp_, ec);
    }
}

// The rows are log-probs (lm::WindowScores, full); the packing and the per-token statistics
// normalize with a log-sum-exp first, which leaves log-probs unchanged, so logits or log-probs
// give the same bytes.
void LlamaKldWriter::window(std::size_t, const Window&, const lm::WindowScores& s) {
    if (!s.full() || s.positions != rows_ || s.vocab_size != n_vocab_) {
        throw_runtime("{}: a window of {} x {} log-probs{}, the llama.cpp layout needs {} x {}", tmp_.string(),
                      s.positions, s.k, s.full() ? "" : " (not full distributions)", rows_, n_vocab_);
    }
    const auto width = llamacpp_row_width(n_vocab_);
    std::vector<std::uint16_t> rows(static_cast<std::size_t>(rows_ * width));
    const float* p = s.logp.data();
    for (std::int64_t t = 0; t < rows_; ++t) {
        pack_log_probs({p + t * n_vocab_, static_cast<std::size_t>(n_vocab_)},
                       {rows.data() + t * width, static_cast<std::size_t>(width)});
    }
    out_.write(reinterpret_cast<const char*>(rows.data()), static_cast<std::streamsize>(rows.size() * 2));
    if (!out_) throw_runtime("{}: write failed (disk full?)", tmp_.string());
    ++written_;
}

void LlamaKldWriter::finish() {
    out_.close();
    if (!out_) throw_runtime("{}: write failed (disk full?)", tmp_.string());
    if (written_ != n_chunk_) throw_runtime("{}: {} chunks written, {} announced", tmp_.string(), written_, n_chunk_);
    fs::rename(tmp_, path_);
    finished_ = true;
}

LlamaKldScorer::LlamaKldScorer(const fs::path& path, std::int64_t n_ctx, std::int64_t n_vocab, std::int64_t n_chunk,
                               std::span<const std::int32_t> tokens, double confidence)
    : path_(path), header_(read_llamacpp_kld_header(path)), confidence_(confidence) {
    check_llamacpp_kld_header(path, header_, n_ctx, n_vocab, n_chunk, tokens);
    in_.open(path, std::ios::binary);
    in_.seekg(header_bytes(header_.n_ctx, header_.n_chunk));
}

void LlamaKldScorer::window(std::size_t index, const Window& w, const lm::WindowScores& s) {
    const auto started = std::chrono::steady_clock::now();
    const auto rows = header_.rows_per_chunk();
    const auto width = llamacpp_row_width(header_.n_vocab);
    if (!s.full() || s.vocab_size != header_.n_vocab) {
        throw_runtime("{}: window {} has {} log-probs per token, the file's rows {} (full distributions needed)",
                      path_.string(), index, s.k, header_.n_vocab);
    }
    if (s.positions != rows || static_cast<std::int64_t>(index) != windows_seen_) {
        throw_runtime("{}: window {} with {} scored tokens, the file's chunk {} has {}", path_.string(), index,
                      s.positions, windows_seen_, rows);
    }
    std::vector<std::uint16_t> base(static_cast<std::size_t>(rows * width));
    if (!in_.read(reinterpret_cast<char*>(base.data()), static_cast<std::streamsize>(base.size() * 2))) {
        throw_bad_input("{}: truncated at chunk {}", path_.string(), index);
    }
    if (static_cast<std::size_t>(w.block) >= blocks_.size()) blocks_.resize(w.block + 1);
    auto& b = blocks_[w.block];
    const float* p = s.logp.data();
    const auto* t = s.targets.data();
    for (std::int64_t i = 0; i < rows; ++i) {
        const auto s = llamacpp_token_stats({p + i * header_.n_vocab, static_cast<std::size_t>(header_.n_vocab)},
                                            {base.data() + i * width, static_cast<std::size_t>(width)},
                                            static_cast<std::int32_t>(t[i]));
        if (!std::isfinite(s.kld) || !std::isfinite(s.delta_p)) {
            throw_bad_input("{}: chunk {}, scored token {}: the KLD is {} (non-finite base row)", path_.string(),
                            index, i, s.kld);
        }
        kld_.push_back(s.kld);
        delta_p_.push_back(s.delta_p);
        b.kld_sum += s.kld;
        b.delta_p_sum += s.delta_p;
        b.delta_p_sq_sum += s.delta_p * s.delta_p;
        b.same_top += s.same_top ? 1 : 0;
    }
    b.tokens += rows;
    ++windows_seen_;
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

report::KldResult LlamaKldScorer::finish() {
    if (windows_seen_ != header_.n_chunk) {
        throw_bad_input("{}: the run scored {} chunks, the file holds {}", path_.string(), windows_seen_,
                        header_.n_chunk);
    }
    auto r = summarize_kld(blocks_, std::move(kld_), std::move(delta_p_), 0.0, confidence_);
    r.baseline = path_.string();
    r.protocol = "llama.cpp";
    r.top_k = header_.n_vocab;
    r.vocab_size = header_.n_vocab;
    r.exact = true;
    r.seconds = seconds_;
    return r;
}

}  // namespace qbench::eval
