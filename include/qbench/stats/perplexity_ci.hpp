// The perplexity ratio of two variants scored on the same blocks (windows of a perplexity
// protocol, or documents), with an interval computed over blocks, never over tokens as if they
// were independent (DESIGN.md, "Perplexity protocols"; reference/statistics.md §4.3).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qbench/stats/interval.hpp"

namespace qbench::stats {

// One scored block: the sum of −ln p(token) over its scored tokens, and their number.
struct Block {
    double nll_sum = 0.0;
    std::int64_t tokens = 0;
};

struct PerplexityRatio {
    std::int64_t blocks = 0;     // C
    std::int64_t tokens = 0;     // scored tokens, the same for both variants
    double ppl_a = 0.0;          // exp(Σ nll_a / Σ t)
    double ppl_b = 0.0;
    double ln_ratio = 0.0;       // ln(PPL_a / PPL_b) = Σ_c D_c / Σ_c t_c, D_c = nll_a,c − nll_b,c
    double ratio = 0.0;          // PPL_a / PPL_b = exp(ln_ratio)
    double se_ln_ratio = 0.0;    // block-clustered SE (or the bootstrap SD) of ln_ratio
    Interval ln_ratio_ci;
    Interval ratio_ci;           // exp of ln_ratio_ci
    std::string method;          // "block-t" or "block-bootstrap"
    double confidence = 0.95;
    std::int64_t resamples = 0;  // bootstrap only (0 otherwise)
    std::uint64_t seed = 0;      // bootstrap only
};

// Cluster-robust (linearised ratio) interval over C blocks, variant a over variant b:
//   ln_ratio = Σ D_c / Σ t_c,
//   SE = sqrt(C/(C − 1) · Σ_c (D_c − ln_ratio · t_c)²) / Σ_c t_c,
//   ln CI = ln_ratio ± t_{C−1} · SE,  ratio CI = exp(ln CI).
// With equal t_c this is the batch-means SE sd(D_c / t_c) / sqrt(C). Pass (variant, baseline) for
// the usual PPL(quant) / PPL(base). Edge cases: one block gives se = NaN and ln CI (−inf, +inf)
// (ratio CI [0, +inf]); identical blocks give ratio 1 and ratio CI [1, 1].
// Throws kBadInput unless both lists have the same number (>= 1) of blocks, each block has the
// same token count (>= 0) in both, the tokens total at least 1 and every nll_sum is finite.
PerplexityRatio ppl_ratio_ci(const std::vector<Block>& blocks_a, const std::vector<Block>& blocks_b,
                             double confidence = 0.95);

// Paired block bootstrap: `resamples` times, draw C blocks with replacement (the same blocks for
// both variants) from a std::mt19937_64 seeded with `seed`, and recompute Σ D / Σ t; the ln CI is
// the type-7 percentile interval of those values and se_ln_ratio their standard deviation.
// Deterministic for a given seed on every platform (no std::uniform_int_distribution). A
// resample whose blocks hold no tokens is drawn again. Edge cases as ppl_ratio_ci().
// Throws as ppl_ratio_ci(), and unless resamples >= 2.
PerplexityRatio ppl_ratio_bootstrap(const std::vector<Block>& blocks_a,
                                    const std::vector<Block>& blocks_b, double confidence = 0.95,
                                    std::int64_t resamples = 2000, std::uint64_t seed = 20240917);

}  // namespace qbench::stats
