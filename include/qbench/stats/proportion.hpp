// Confidence intervals for one binomial proportion k / n: the accuracy of one model on n items,
// a flip rate, a top-1 agreement. Formulas: reference/statistics.md §3.4.
#pragma once

#include <cstdint>

#include "qbench/stats/interval.hpp"

namespace qbench::stats {

// Wilson score interval (Wilson 1927), with p = k / n and z = z_critical(confidence):
//   centre = (p + z²/2n) / (1 + z²/n),  half = z / (1 + z²/n) · sqrt(p(1 − p)/n + z²/4n²).
// k = 0 gives lower = 0 exactly and k = n gives upper = 1 exactly.
// Example: k = 7, n = 50 gives (0.06951, 0.26186).
// Throws kBadInput unless n >= 1 and 0 <= k <= n, or for a confidence outside (0, 1).
Interval wilson(std::int64_t k, std::int64_t n, double confidence = 0.95);

// The same Wilson interval for an observed proportion p in [0, 1] given as a fraction (p need not
// be a multiple of 1/n). Throws kBadInput unless n >= 1 and 0 <= p <= 1.
Interval wilson_proportion(double p, std::int64_t n, double confidence = 0.95);

// Clopper–Pearson exact interval (Clopper & Pearson 1934), with alpha = 1 − confidence:
//   lower = BetaQuantile(alpha/2; k, n − k + 1),  upper = BetaQuantile(1 − alpha/2; k + 1, n − k),
// with lower = 0 when k = 0 and upper = 1 when k = n. Coverage is at least the nominal level.
// Example: k = 7, n = 50 gives (0.0581917003, 0.2673960025) (scipy binomtest docs); k = 0,
// n = 30 gives upper 0.1157. Throws as wilson().
Interval clopper_pearson(std::int64_t k, std::int64_t n, double confidence = 0.95);

}  // namespace qbench::stats
