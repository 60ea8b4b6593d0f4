#include "qbench/eval/records.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>

#include "qbench/stats/percentile.hpp"
#include "qbench/stats/ratio_mean.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"

namespace qbench::eval {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::array<double, 13> kQuantiles = {0.0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0};

std::vector<report::SamplePercentile> percentiles(std::vector<double>& xs) {
    std::sort(xs.begin(), xs.end());
    std::vector<report::SamplePercentile> out;
    for (double q : kQuantiles) {
        out.push_back({q, stats::percentile_sorted(xs, q), stats::undersampled(static_cast<std::int64_t>(xs.size()), q)});
    }
    return out;
}

template <typename Window>
void sort_unique(std::vector<Window>& ws) {
    std::stable_sort(ws.begin(), ws.end(), [](const Window& a, const Window& b) { return a.index < b.index; });
    for (std::size_t i = 1; i < ws.size(); ++i) {
        if (ws[i].index == ws[i - 1].index) throw_bad_input("window {} is scored twice", ws[i].index);
    }
}

}  // namespace

void finalize(report::PerplexityResult& r) {
    r.nll_sum = 0;
    r.tokens_scored = 0;
    std::int64_t words = 0, bytes = 0;
    for (const auto& b : r.blocks) {
        r.nll_sum += b.nll_sum;
        r.tokens_scored += b.tokens;
        words += b.words;
        bytes += b.bytes;
    }
    r.ppl = r.tokens_scored > 0 ? std::exp(r.nll_sum / static_cast<double>(r.tokens_scored))
                                : std::numeric_limits<double>::quiet_NaN();
    if (r.protocol == "lm-eval-rolling" && words > 0 && bytes > 0) {
        r.word_perplexity = std::exp(r.nll_sum / static_cast<double>(words));
        r.byte_perplexity = std::exp(r.nll_sum / static_cast<double>(bytes));
        r.bits_per_byte = r.nll_sum / static_cast<double>(bytes) / std::log(2.0);
    }
}

void llamacpp_estimates(report::PerplexityResult& r, const std::vector<double>& nll_sq_sums) {
    if (nll_sq_sums.size() != r.blocks.size()) {
        throw_runtime("llamacpp_estimates: {} squared sums for {} chunks", nll_sq_sums.size(), r.blocks.size());
    }
    r.running_ppl.clear();
    r.ppl_stderr.reset();
    double nll = 0.0, nll2 = 0.0;
    std::int64_t count = 0;
    for (std::size_t i = 0; i < r.blocks.size(); ++i) {
        nll += r.blocks[i].nll_sum;
        nll2 += nll_sq_sums[i];
        count += r.blocks[i].tokens;
        r.running_ppl.push_back(std::exp(nll / static_cast<double>(count)));
    }
    if (count < 2) return;
    const double mean = nll / static_cast<double>(count);
    const double var = nll2 / static_cast<double>(count) - mean * mean;
    if (var > 0) r.ppl_stderr = std::exp(mean) * std::sqrt(var / static_cast<double>(count - 1));
}

report::PerplexityResult aggregate_perplexity(const PerplexityRecords& rec) {
    report::PerplexityResult r;
    r.protocol = rec.protocol;
    r.max_length = rec.max_length;
    r.stride = rec.stride;
    r.input_tokens = rec.input_tokens;
    r.seconds = rec.seconds;
    r.blocks.assign(static_cast<std::size_t>(rec.blocks_total), {});
    std::vector<double> nll_sq(r.blocks.size(), 0.0);
    for (const auto& w : rec.windows) {
        auto& b = r.blocks.at(static_cast<std::size_t>(w.block));
        b.nll_sum += w.nll_sum;
        b.tokens += w.tokens;
        nll_sq.at(static_cast<std::size_t>(w.block)) += w.nll_sq;
    }
    if (rec.block_words.size() == r.blocks.size() && rec.block_bytes.size() == r.blocks.size()) {
        for (std::size_t d = 0; d < r.blocks.size(); ++d) {
            r.blocks[d].words = rec.block_words[d];
            r.blocks[d].bytes = rec.block_bytes[d];
        }
    }
    finalize(r);
    // llama-perplexity's running estimate needs every chunk in order; over part of them it would
    // describe no run, so a shard's part leaves it out.
    if (rec.protocol == "llama.cpp" && static_cast<std::int64_t>(rec.windows.size()) == rec.windows_total) {
        llamacpp_estimates(r, nll_sq);
    }
    return r;
}

report::KldResult summarize_kld(const std::vector<report::KldBlock>& blocks, std::vector<double> kld,
                                std::vector<double> delta_p, double tail_mass_sum, double confidence) {
    if (kld.empty() || kld.size() != delta_p.size()) throw_bad_input("KLD: no per-token values to summarize");
    report::KldResult r;
    r.blocks = blocks;
    r.confidence = confidence;
    r.tokens = static_cast<std::int64_t>(kld.size());
    std::vector<double> ks, same, dps;
    std::vector<std::int64_t> counts;
    std::int64_t block_tokens = 0;
    double dp_sq = 0.0;
    for (const auto& b : blocks) {
        ks.push_back(b.kld_sum);
        same.push_back(static_cast<double>(b.same_top));
        dps.push_back(b.delta_p_sum);
        counts.push_back(b.tokens);
        block_tokens += b.tokens;
        dp_sq += b.delta_p_sq_sum;
    }
    if (block_tokens != r.tokens) throw_bad_input("KLD: blocks hold {} tokens, {} values given", block_tokens, r.tokens);
    const auto k = stats::ratio_mean(ks, counts, confidence);
    r.kld_mean = k.mean;
    r.kld_se = k.se;
    r.kld_ci_lower = k.ci.lower;
    r.kld_ci_upper = k.ci.upper;
    const auto s = stats::ratio_mean(same, counts, confidence);
    r.same_top = s.mean;
    r.same_top_ci_lower = std::max(0.0, s.ci.lower);
    r.same_top_ci_upper = std::min(1.0, s.ci.upper);
    const auto d = stats::ratio_mean(dps, counts, confidence);
    r.delta_p_mean = d.mean;
    r.delta_p_ci_lower = d.ci.lower;
    r.delta_p_ci_upper = d.ci.upper;
    r.delta_p_rms = std::sqrt(dp_sq / static_cast<double>(r.tokens));
    r.base_tail_mass_mean = tail_mass_sum / static_cast<double>(r.tokens);
    r.kld_percentiles = percentiles(kld);
    r.delta_p_percentiles = percentiles(delta_p);
    return r;
}

std::optional<report::KldResult> aggregate_kld(const KldRecords& rec) {
    // Token by token into the window's block, windows in index order: the arithmetic of the
    // scorer's stream, whatever process scored each window.
    std::vector<report::KldBlock> blocks;
    std::vector<double> kld, delta_p;
    double tail = 0.0;
    for (const auto& w : rec.windows) {
        if (w.kld.size() != w.delta_p.size()) throw_bad_input("KLD window {}: {} KLD values, {} delta p", w.index, w.kld.size(), w.delta_p.size());
        if (static_cast<std::size_t>(w.block) >= blocks.size()) blocks.resize(static_cast<std::size_t>(w.block) + 1);
        auto& b = blocks[static_cast<std::size_t>(w.block)];
        for (std::size_t i = 0; i < w.kld.size(); ++i) {
            kld.push_back(w.kld[i]);
            delta_p.push_back(w.delta_p[i]);
            b.kld_sum += w.kld[i];
            b.delta_p_sum += w.delta_p[i];
            b.delta_p_sq_sum += w.delta_p[i] * w.delta_p[i];
        }
        b.tokens += static_cast<std::int64_t>(w.kld.size());
        b.same_top += w.same_top;
        tail += w.tail_mass_sum;
    }
    if (kld.empty()) return std::nullopt;
    auto r = summarize_kld(blocks, std::move(kld), std::move(delta_p), tail, rec.confidence);
    r.baseline = rec.baseline;
    r.protocol = rec.protocol;
    r.top_k = rec.top_k;
    r.vocab_size = rec.vocab_size;
    r.variant_top_k = rec.variant_top_k;
    r.exact = rec.top_k >= rec.vocab_size && rec.variant_top_k == 0;
    r.seconds = rec.seconds;
    return r;
}

void to_json(json& j, const PerplexityRecords& r) {
    json ws = json::array();
    for (const auto& w : r.windows) ws.push_back({w.index, w.block, w.tokens, w.nll_sum, w.nll_sq});
    j = {{"protocol", r.protocol},         {"max_length", r.max_length},     {"stride", r.stride},
         {"input_tokens", r.input_tokens}, {"windows_total", r.windows_total}, {"group_size", r.group_size}, {"blocks_total", r.blocks_total},
         {"block_words", r.block_words},   {"block_bytes", r.block_bytes},   {"seconds", r.seconds},
         {"windows", ws}};
}

void from_json(const json& j, PerplexityRecords& r) {
    j.at("protocol").get_to(r.protocol);
    j.at("max_length").get_to(r.max_length);
    j.at("stride").get_to(r.stride);
    j.at("input_tokens").get_to(r.input_tokens);
    j.at("windows_total").get_to(r.windows_total);
    j.at("group_size").get_to(r.group_size);
    j.at("blocks_total").get_to(r.blocks_total);
    j.at("block_words").get_to(r.block_words);
    j.at("block_bytes").get_to(r.block_bytes);
    j.at("seconds").get_to(r.seconds);
    r.windows.clear();
    for (const auto& w : j.at("windows")) {
        r.windows.push_back({w.at(0).get<std::int64_t>(), w.at(1).get<std::int64_t>(), w.at(2).get<std::int64_t>(),
                             w.at(3).get<double>(), w.at(4).get<double>()});
    }
}

void to_json(json& j, const KldRecords& r) {
    json ws = json::array();
    for (const auto& w : r.windows) {
        ws.push_back({{"index", w.index}, {"block", w.block}, {"same_top", w.same_top},
                      {"tail_mass_sum", w.tail_mass_sum}, {"kld", w.kld}, {"delta_p", w.delta_p}});
    }
    j = {{"baseline", r.baseline},     {"protocol", r.protocol},     {"top_k", r.top_k}, {"vocab_size", r.vocab_size},
         {"confidence", r.confidence}, {"seconds", r.seconds}, {"windows", ws}};
    if (r.variant_top_k > 0) j["variant_top_k"] = r.variant_top_k;
}

void from_json(const json& j, KldRecords& r) {
    j.at("baseline").get_to(r.baseline);
    j.at("protocol").get_to(r.protocol);
    j.at("top_k").get_to(r.top_k);
    j.at("vocab_size").get_to(r.vocab_size);
    j.at("confidence").get_to(r.confidence);
    j.at("seconds").get_to(r.seconds);
    r.variant_top_k = j.value("variant_top_k", std::int64_t{0});
    r.windows.clear();
    for (const auto& w : j.at("windows")) {
        KldWindowRecord k;
        w.at("index").get_to(k.index);
        w.at("block").get_to(k.block);
        w.at("same_top").get_to(k.same_top);
        w.at("tail_mass_sum").get_to(k.tail_mass_sum);
        w.at("kld").get_to(k.kld);
        w.at("delta_p").get_to(k.delta_p);
        r.windows.push_back(std::move(k));
    }
}

PerplexityRecords pool(std::vector<PerplexityRecords> parts) {
    if (parts.empty()) throw_bad_input("no perplexity records to pool");
    PerplexityRecords out = parts.front();
    out.windows.clear();
    out.seconds = 0.0;
    for (auto& p : parts) {
        out.windows.insert(out.windows.end(), p.windows.begin(), p.windows.end());
        out.seconds += p.seconds;
    }
    sort_unique(out.windows);
    return out;
}

KldRecords pool(std::vector<KldRecords> parts) {
    if (parts.empty()) throw_bad_input("no KLD records to pool");
    KldRecords out = parts.front();
    out.windows.clear();
    out.seconds = 0.0;
    for (auto& p : parts) {
        for (auto& w : p.windows) out.windows.push_back(std::move(w));
        out.seconds += p.seconds;
        out.variant_top_k = std::max(out.variant_top_k, p.variant_top_k);
    }
    sort_unique(out.windows);
    return out;
}

// ---- KLD base files (layout: eval/kld.hpp) ------------------------------------------------------

namespace {

constexpr char kBaseMagic[8] = {'Q', 'B', 'K', 'L', 'D', '0', '1', '\n'};
constexpr char kBaseEnd[8] = {'Q', 'B', 'K', 'L', 'D', 'E', 'N', 'D'};

template <typename T>
T read_at(const std::string& bytes, std::size_t at, const fs::path& path) {
    if (at + sizeof(T) > bytes.size()) throw_bad_input("{}: truncated KLD base file", path.string());
    T x;
    std::memcpy(&x, bytes.data() + at, sizeof(T));
    return x;
}

template <typename T>
void append(std::string& out, const T& x) {
    out.append(reinterpret_cast<const char*>(&x), sizeof(T));
}

struct BasePart {
    std::string bytes;
    std::string header;  // magic + length + JSON
    std::vector<std::pair<std::int64_t, std::pair<std::size_t, std::size_t>>> windows;  // index -> [begin, end)
    std::uint64_t tokens = 0;
};

BasePart read_part(const fs::path& path) {
    BasePart p;
    p.bytes = read_file(path);
    const std::string& b = p.bytes;
    if (b.size() < 16 || std::memcmp(b.data(), kBaseMagic, 8) != 0) throw_bad_input("{}: not a qbench KLD base file", path.string());
    const auto n = read_at<std::uint64_t>(b, 8, path);
    if (n > (1u << 20) || 16 + n + 24 > b.size()) throw_bad_input("{}: truncated KLD base file header", path.string());
    p.header = b.substr(0, 16 + n);
    std::int64_t vocab = 0, k = 0;
    try {
        const auto j = json::parse(b.substr(16, n));
        j.at("vocab_size").get_to(vocab);
        j.at("top_k").get_to(k);
    } catch (const json::exception& e) {
        throw_bad_input("{}: bad KLD base file header: {}", path.string(), e.what());
    }
    if (vocab < 1 || k < 1 || k > vocab) throw_bad_input("{}: bad KLD base file header: top_k {} for vocabulary {}", path.string(), k, vocab);
    const std::size_t end = b.size() - 24;
    if (std::memcmp(b.data() + end, kBaseEnd, 8) != 0) {
        throw_bad_input("{}: incomplete KLD base file (no trailer; the baseline run was interrupted?)", path.string());
    }
    const auto windows = read_at<std::uint64_t>(b, end + 8, path);
    p.tokens = read_at<std::uint64_t>(b, end + 16, path);
    const bool dense = k >= vocab;
    const auto per_token = static_cast<std::size_t>(12 + (dense ? 4 * vocab : 8 * k));
    std::size_t at = 16 + n;
    std::uint64_t tokens = 0;
    while (at < end) {
        const auto index = read_at<std::int64_t>(b, at, path);
        const auto t = read_at<std::int64_t>(b, at + 16, path);
        if (t < 0) throw_bad_input("{}: bad window record at byte {}", path.string(), at);
        const std::size_t size = 24 + static_cast<std::size_t>(t) * per_token;
        if (at + size > end) throw_bad_input("{}: truncated KLD base file at window {}", path.string(), index);
        p.windows.push_back({index, {at, at + size}});
        tokens += static_cast<std::uint64_t>(t);
        at += size;
    }
    if (p.windows.size() != windows || tokens != p.tokens) {
        throw_bad_input("{}: the trailer counts {} windows and {} tokens, the file holds {} and {}", path.string(),
                        windows, p.tokens, p.windows.size(), tokens);
    }
    return p;
}

}  // namespace

void merge_kld_base_files(const std::vector<fs::path>& paths, const fs::path& out) {
    if (paths.empty()) throw_bad_input("{}: no KLD base files to merge", out.string());
    std::vector<BasePart> parts;
    std::map<std::int64_t, std::pair<std::size_t, std::pair<std::size_t, std::size_t>>> windows;
    std::uint64_t tokens = 0;
    for (std::size_t i = 0; i < paths.size(); ++i) {
        parts.push_back(read_part(paths[i]));
        if (parts[i].header != parts[0].header) {
            throw_bad_input("{}: the KLD base file's header differs from {}'s", paths[i].string(), paths[0].string());
        }
        for (const auto& [index, range] : parts[i].windows) {
            if (!windows.emplace(index, std::make_pair(i, range)).second) {
                throw_bad_input("{}: window {} is also in {}", paths[i].string(), index,
                                paths[windows.at(index).first].string());
            }
        }
        tokens += parts[i].tokens;
    }
    std::string bytes = parts[0].header;
    for (const auto& [index, where] : windows) {
        const auto& [part, range] = where;
        bytes.append(parts[part].bytes, range.first, range.second - range.first);
    }
    bytes.append(kBaseEnd, 8);
    append(bytes, static_cast<std::uint64_t>(windows.size()));
    append(bytes, tokens);
    fs::create_directories(out.parent_path());
    write_file_atomic(out, bytes);
}

}  // namespace qbench::eval
