// Percentiles of raw samples (latencies, per-token KLD) and distribution-free confidence intervals
// for them (reference/statistics.md §5). q is a fraction in [0, 1]: 0.99 is P99.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "qbench/stats/interval.hpp"

namespace qbench::stats {

// Hyndman & Fan type 7, numpy's default (method = "linear"): on the sorted samples
// x_0 <= ... <= x_{n−1}, h = (n − 1)·q, j = floor(h), Q = x_j + (h − j)·(x_{j+1} − x_j).
// Example: 1, 2, ..., 10 at q = 0.9 gives 9.1. A single sample is every percentile.
// Throws kBadInput for no samples, a non-finite sample or q outside [0, 1].
double percentile(const std::vector<double>& samples, double q);

// The same on samples already sorted ascending (not checked), to take several percentiles of one
// large sample with a single sort. Throws kBadInput for no samples or q outside [0, 1].
double percentile_sorted(const std::vector<double>& sorted, double q);

// True when n < 10 / (1 − q): fewer than 10 expected observations beyond the percentile, too few
// to report it (1,000 samples for P99, 10,000 for P99.9). Always true for q = 1.
bool undersampled(std::int64_t n, double q);

// 1-based ranks [lower, upper] of the order statistics that bound the q-quantile with probability
// >= confidence (Hahn & Meeker 1991, binomial method, equal tails). With B ~ Binomial(n, q):
// lower = the largest r with P(B <= r − 1) <= alpha/2, upper = the smallest r with
// P(B <= r − 1) >= 1 − alpha/2.
struct RankInterval {
    std::int64_t lower = 0;
    std::int64_t upper = 0;
};

// Returns nothing when no such interval lies inside the sample (lower < 1 or upper > n): e.g. for
// P99 below n = 368 and P99.9 below n = 3,688. Examples: n = 100, P50 -> [40, 61];
// n = 1,000, P99 -> [983, 997]. Throws kBadInput unless n >= 1 and 0 < q < 1, or for a
// confidence outside (0, 1).
std::optional<RankInterval> order_statistic_ranks(std::int64_t n, double q,
                                                  double confidence = 0.95);

struct PercentileEstimate {
    double q = 0.0;
    double value = 0.0;                // percentile(samples, q)
    std::int64_t n = 0;
    bool undersampled = false;         // undersampled(n, q)
    std::optional<RankInterval> ranks; // order_statistic_ranks(n, q, confidence)
    std::optional<Interval> ci;        // [x_(lower), x_(upper)] when ranks exist
    double confidence = 0.95;
};

// A percentile with its sample count, the under-sampling flag and its order-statistic interval.
// The interval assumes i.i.d. samples; autocorrelated latencies make it optimistic.
// Throws as percentile() and order_statistic_ranks() (q must lie in (0, 1) here).
PercentileEstimate percentile_estimate(const std::vector<double>& samples, double q,
                                       double confidence = 0.95);

}  // namespace qbench::stats
