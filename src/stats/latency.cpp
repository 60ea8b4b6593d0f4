#include "qbench/stats/latency.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "qbench/stats/percentile.hpp"

namespace qbench::stats {

LatencySummary summarize_latency(const std::vector<double>& samples) {
    const auto at = [&](double q) {
        return PercentileValue{q, percentile(samples, q),
                               undersampled(static_cast<std::int64_t>(samples.size()), q)};
    };
    LatencySummary s;
    s.p50 = at(0.5);  // validates the samples first
    s.p90 = at(0.9);
    s.p95 = at(0.95);
    s.p99 = at(0.99);
    s.p999 = at(0.999);
    s.n = static_cast<std::int64_t>(samples.size());
    const auto [lo, hi] = std::minmax_element(samples.begin(), samples.end());
    s.min = *lo;
    s.max = *hi;
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
