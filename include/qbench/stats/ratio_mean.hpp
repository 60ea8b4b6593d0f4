// The mean of a per-token quantity (per-token KLD, same-top-1 indicator, Δp) when the tokens come
// in correlated blocks (the windows of a perplexity protocol): a ratio estimator over blocks with
// a cluster-robust standard error, the same estimator stats::ppl_ratio_ci uses for ln PPL ratios
// (reference/statistics.md §4.3). Tokens of one window share their context, so treating them as
// independent would understate the uncertainty.
#pragma once

#include <cstdint>
#include <vector>

#include "qbench/stats/interval.hpp"

namespace qbench::stats {

struct RatioMean {
    std::int64_t blocks = 0;   // C, blocks with at least one token counted too when empty
    std::int64_t n = 0;        // Σ t_c
    double mean = 0.0;         // Σ y_c / Σ t_c
    double se = 0.0;           // sqrt(C/(C − 1) · Σ_c (y_c − mean · t_c)²) / Σ_c t_c
    Interval ci;               // mean ± t_{C−1} · se
    double confidence = 0.95;
};

// `sums[c]` = Σ of the quantity over block c's tokens, `counts[c]` its number of tokens.
// With equal counts this is the batch-means SE sd(y_c / t_c) / sqrt(C). Edge cases: one block
// gives se = NaN and ci (−inf, +inf); zero spread gives se = 0 and ci = [mean, mean].
// Throws kBadInput for lists of different length, no block, a negative count, no token at all,
// a non-finite sum or a confidence outside (0, 1).
RatioMean ratio_mean(const std::vector<double>& sums, const std::vector<std::int64_t>& counts,
                     double confidence = 0.95);

}  // namespace qbench::stats
