#include "qbench/stats/percentile.hpp"

#include <algorithm>
#include <boost/math/distributions/binomial.hpp>
#include <cmath>
#include <cstddef>

#include "qbench/util/error.hpp"

namespace qbench::stats {

namespace {

std::vector<double> sorted_samples(const std::vector<double>& samples) {
    if (samples.empty()) {
        throw_bad_input("a percentile needs at least one sample");
    }
    for (std::size_t i = 0; i < samples.size(); ++i) {
        if (!std::isfinite(samples[i])) {
            throw_bad_input("sample {} is not a finite number ({})", i, samples[i]);
        }
    }
    std::vector<double> sorted = samples;
    std::sort(sorted.begin(), sorted.end());
    return sorted;
}

double type7(const std::vector<double>& sorted, double q) {
    const double h = static_cast<double>(sorted.size() - 1) * q;
    const auto j = static_cast<std::size_t>(std::floor(h));
    if (j + 1 >= sorted.size()) {
        return sorted.back();
    }
    return sorted[j] + (h - static_cast<double>(j)) * (sorted[j + 1] - sorted[j]);
}

void check_q(double q) {
    if (!(q >= 0.0 && q <= 1.0)) {
        throw_bad_input("a percentile's q must lie in [0, 1], got {}", q);
    }
}

}  // namespace

double percentile(const std::vector<double>& samples, double q) {
    check_q(q);
    return type7(sorted_samples(samples), q);
}

double percentile_sorted(const std::vector<double>& sorted, double q) {
    check_q(q);
    if (sorted.empty()) {
        throw_bad_input("a percentile needs at least one sample");
    }
    return type7(sorted, q);
}

bool undersampled(std::int64_t n, double q) {
    return q >= 1.0 || static_cast<double>(n) < 10.0 / (1.0 - q);
}

std::optional<RankInterval> order_statistic_ranks(std::int64_t n, double q, double confidence) {
    check_confidence(confidence);
    if (n < 1) {
        throw_bad_input("order-statistic ranks need n >= 1 samples, got n = {}", n);
    }
    if (!(q > 0.0 && q < 1.0)) {
        throw_bad_input("an order-statistic interval needs 0 < q < 1, got {}", q);
    }
    const double alpha = 1.0 - confidence;
    const boost::math::binomial_distribution<> count(static_cast<double>(n), q);
    // F(r − 1) for 1-based rank r; F(−1) = 0.
    const auto cdf_below = [&](std::int64_t r) {
        return r <= 0 ? 0.0 : boost::math::cdf(count, static_cast<double>(r - 1));
    };
    // lower: the largest r in [0, n] with F(r − 1) <= alpha/2 (r = 0 always qualifies).
    std::int64_t lo = 0;
    std::int64_t hi = n;
    while (lo < hi) {
        const std::int64_t mid = lo + (hi - lo + 1) / 2;
        if (cdf_below(mid) <= alpha / 2.0) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    const std::int64_t lower = lo;
    // upper: the smallest r in [1, n + 1] with F(r − 1) >= 1 − alpha/2 (F(n) = 1 qualifies).
    lo = 1;
    hi = n + 1;
    while (lo < hi) {
        const std::int64_t mid = lo + (hi - lo) / 2;
        if (cdf_below(mid) >= 1.0 - alpha / 2.0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    const std::int64_t upper = lo;
    if (lower < 1 || upper > n) {
        return std::nullopt;
    }
    return RankInterval{lower, upper};
}

PercentileEstimate percentile_estimate(const std::vector<double>& samples, double q,
                                       double confidence) {
    check_q(q);
    const std::vector<double> sorted = sorted_samples(samples);
    PercentileEstimate r;
    r.q = q;
    r.n = static_cast<std::int64_t>(sorted.size());
    r.value = type7(sorted, q);
    r.undersampled = undersampled(r.n, q);
    r.confidence = confidence;
    r.ranks = order_statistic_ranks(r.n, q, confidence);
    if (r.ranks) {
        r.ci = Interval{sorted[static_cast<std::size_t>(r.ranks->lower - 1)],
                        sorted[static_cast<std::size_t>(r.ranks->upper - 1)]};
    }
    return r;
}

}  // namespace qbench::stats
