#include "qbench/stats/latency.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "qbench/stats/percentile.hpp"
#include "qbench/util/error.hpp"

namespace qbench::stats {

LatencySummary summarize_latency(const std::vector<double>& samples) {
    if (samples.empty()) {
        throw_bad_input("a latency summary needs at least one sample");
    }
    for (std::size_t i = 0; i < samples.size(); ++i) {
        if (!std::isfinite(samples[i])) {
            throw_bad_input("latency sample {} is not a finite number ({})", i, samples[i]);
        }
    }
    std::vector<double> sorted = samples;
    std::sort(sorted.begin(), sorted.end());
    LatencySummary s;
    s.n = static_cast<std::int64_t>(sorted.size());
    const auto at = [&](double q) {
        return PercentileValue{q, percentile_sorted(sorted, q), undersampled(s.n, q)};
    };
    s.p50 = at(0.5);
    s.p90 = at(0.9);
    s.p95 = at(0.95);
    s.p99 = at(0.99);
    s.p999 = at(0.999);
    s.min = sorted.front();
    s.max = sorted.back();
    double sum = 0.0;
    for (double x : samples) {
        sum += x;
    }
    s.mean = sum / static_cast<double>(s.n);
    if (s.n == 1) {
        s.std = std::numeric_limits<double>::quiet_NaN();
        return s;
    }
    double ss = 0.0;
    for (double x : samples) {
        ss += (x - s.mean) * (x - s.mean);
    }
    s.std = std::sqrt(ss / static_cast<double>(s.n - 1));
    return s;
}

}  // namespace qbench::stats
