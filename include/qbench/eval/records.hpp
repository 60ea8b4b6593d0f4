// Per-window records of a perplexity protocol and of KLD against the baseline, and the one
// aggregation from records to the result that a single run and `qbench merge` both call
// (docs/ARCHITECTURE.md, "Sharded runs"). Records are pooled in window order, never in the order
// shards arrive, so a merged result is the single run's by construction. Torch-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "qbench/report/results.hpp"

namespace qbench::eval {

// One scored window: its index among the protocol's windows, its result block and sums.
struct WindowRecord {
    std::int64_t index = 0;
    std::int64_t block = 0;
    std::int64_t tokens = 0;
    double nll_sum = 0.0;  // Σ −ln p over the window's scored tokens
    double nll_sq = 0.0;   // Σ (ln p)², for llama-perplexity's stderr
};

// What a protocol's result is made of: the protocol's shape (identical in every shard) and the
// records of the windows scored here (all of them in an unsharded run), ascending index.
struct PerplexityRecords {
    std::string protocol;
    std::int64_t max_length = 0;
    std::int64_t stride = 0;
    std::int64_t input_tokens = 0;
    std::int64_t windows_total = 0;   // windows of the protocol, scored here or elsewhere
    // Windows scored together (the batch size): a sharded run assigns windows in these groups of
    // consecutive indices, so a window's scores never depend on which others a shard holds.
    std::int64_t group_size = 1;
    std::int64_t blocks_total = 0;
    std::vector<std::int64_t> block_words, block_bytes;  // lm-eval-rolling with texts, else empty
    std::vector<WindowRecord> windows;
    double seconds = 0.0;
};

// The result of the windows in `records` (block sums in window order, then ppl, the word/byte
// figures and llama.cpp's running estimates and stderr).
report::PerplexityResult aggregate_perplexity(const PerplexityRecords& records);

// One window's KLD against the baseline: per-token values (percentiles need them all) and sums.
struct KldWindowRecord {
    std::int64_t index = 0;
    std::int64_t block = 0;
    std::int64_t same_top = 0;
    double tail_mass_sum = 0.0;  // Σ base mass outside the top-k
    std::vector<double> kld, delta_p;
};

struct KldRecords {
    std::string baseline, protocol;
    std::int64_t top_k = 0;
    std::int64_t vocab_size = 0;
    std::int64_t variant_top_k = 0;  // > 0: the variant listed only its top-k (a served model): a lower bound
    double confidence = 0.95;
    std::vector<KldWindowRecord> windows;  // ascending index
    double seconds = 0.0;
};

// The KLD result of the records, or nullopt when they hold no scored token.
std::optional<report::KldResult> aggregate_kld(const KldRecords& records);

// Summarizes per-token values and block sums into a result (percentiles, block-t intervals).
report::KldResult summarize_kld(const std::vector<report::KldBlock>& blocks, std::vector<double> kld,
                                std::vector<double> delta_p, double tail_mass_sum, double confidence = 0.95);

// Fills ppl and the word/byte figures from blocks (used after evaluation and by report readers).
void finalize(report::PerplexityResult& result);

// llama-perplexity's running estimates and final stderr (tools/perplexity/perplexity.cpp) from
// the blocks (chunks, in order) and each chunk's Σ nll²: running_ppl[i] = exp(Σ_{≤i} nll / Σ_{≤i}
// tokens); with m = mean nll, v = mean nll² − m² over all n tokens, ppl_stderr = ppl · sqrt(v /
// (n − 1)), absent when v ≤ 0 (llama.cpp prints an error instead).
void llamacpp_estimates(report::PerplexityResult& result, const std::vector<double>& nll_sq_sums);

void to_json(nlohmann::json& j, const PerplexityRecords& r);
void from_json(const nlohmann::json& j, PerplexityRecords& r);
void to_json(nlohmann::json& j, const KldRecords& r);
void from_json(const nlohmann::json& j, KldRecords& r);

// Pools the parts' windows in index order; a window present twice throws kBadInput (its index).
PerplexityRecords pool(std::vector<PerplexityRecords> parts);
KldRecords pool(std::vector<KldRecords> parts);

// Joins KLD base files written by shards over disjoint windows of one protocol into the file
// one process writes: the (identical) header, the window records in index order, the trailer
// with the totals. Byte for byte the single run's file. kBadInput naming a file that is not a
// complete base file, whose header differs from the first's, or that repeats a window.
void merge_kld_base_files(const std::vector<std::filesystem::path>& parts, const std::filesystem::path& out);

}  // namespace qbench::eval
