// Means of per-item scores (partial credit, K-sample averages, probability of the correct option)
// and the paired difference of two variants scored on the same items: Miller (2024), "Adding
// Error Bars to Evals", eqs. 1 and 7 (reference/statistics.md §1).
#pragma once

#include <cstdint>
#include <vector>

#include "qbench/stats/interval.hpp"

namespace qbench::stats {

struct MeanEstimate {
    std::int64_t n = 0;
    double mean = 0.0;
    double sd = 0.0;        // sample standard deviation, divisor n − 1
    double se = 0.0;        // sd / sqrt(n)
    Interval ci;            // mean ± t_{n−1} · se
    double confidence = 0.95;
};

// Miller eq. 1: mean, SE = sqrt(Var(s) / n) with the n − 1 variance, and a t_{n−1} interval.
// Edge cases: n = 1 gives sd = se = NaN (undefined) and ci = (−inf, +inf); constant scores give
// sd = se = 0 and ci = [mean, mean]. Throws kBadInput for no scores, a non-finite score or a
// confidence outside (0, 1).
MeanEstimate mean_estimate(const std::vector<double>& scores, double confidence = 0.95);

struct PairedMeanDifference {
    std::int64_t n = 0;
    double mean_a = 0.0;       // baseline
    double mean_b = 0.0;       // variant
    double difference = 0.0;   // mean_b − mean_a = mean of d_i = b_i − a_i
    double sd = 0.0;           // sample standard deviation of d_i
    double se = 0.0;           // paired SE = sd / sqrt(n) = sqrt(SE_a² + SE_b² − 2·rho·SE_a·SE_b)
    double se_unpaired = 0.0;  // sqrt(SE_a² + SE_b²), what ignoring the pairing would give
    double correlation = 0.0;  // Pearson rho of a and b; NaN when either vector is constant
    Interval ci;               // difference ± t_{n−1} · se
    double t = 0.0;            // paired t statistic difference / se, df = n − 1
    double p_value = 1.0;      // two-sided, Student's t with n − 1 degrees of freedom
    double confidence = 0.95;
};

// Miller eq. 7 and the paired t test, on d_i = b_i − a_i. Edge cases: identical vectors (or any
// d with zero spread and mean 0) give se = 0, t = 0, p = 1 and ci = [0, 0]; a constant non-zero
// difference gives t = ±inf, p = 0 and ci = [d, d]; n = 1 gives sd = se = t = NaN, p = 1 and
// ci = (−inf, +inf). Throws kBadInput for vectors of different or zero length, a non-finite score
// or a confidence outside (0, 1).
PairedMeanDifference paired_mean_difference(const std::vector<double>& a,
                                            const std::vector<double>& b,
                                            double confidence = 0.95);

}  // namespace qbench::stats
