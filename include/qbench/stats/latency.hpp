// The summary of raw latency samples that perf and the report print (DESIGN.md, "Percentiles").
#pragma once

#include <cstdint>
#include <vector>

namespace qbench::stats {

struct PercentileValue {
    double q = 0.0;             // e.g. 0.99
    double value = 0.0;         // type-7 percentile (percentile.hpp)
    bool undersampled = false;  // n < 10 / (1 − q): too few samples to report this percentile
};

// All values are in the samples' own unit.
struct LatencySummary {
    std::int64_t n = 0;
    double mean = 0.0;
    double std = 0.0;           // sample standard deviation (divisor n − 1); NaN when n = 1
    double min = 0.0;
    double max = 0.0;
    PercentileValue p50;
    PercentileValue p90;
    PercentileValue p95;
    PercentileValue p99;
    PercentileValue p999;       // P99.9
};

// mean, std, min, max and P50/P90/P95/P99/P99.9 (Hyndman–Fan type 7, numpy's default), each
// percentile flagged when under-sampled. A single sample gives every percentile = that sample and
// std = NaN. Throws kBadInput for no samples or a non-finite sample.
LatencySummary summarize_latency(const std::vector<double>& samples);

}  // namespace qbench::stats
