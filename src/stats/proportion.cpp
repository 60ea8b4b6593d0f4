#include "qbench/stats/proportion.hpp"

#include <algorithm>
#include <boost/math/distributions/beta.hpp>
#include <cmath>

#include "qbench/util/error.hpp"

namespace qbench::stats {

namespace {

void check_counts(std::int64_t k, std::int64_t n) {
    if (n < 1) {
        throw_bad_input("a proportion needs n >= 1 items, got n = {}", n);
    }
    if (k < 0 || k > n) {
        throw_bad_input("the count k must lie in [0, n] = [0, {}], got k = {}", n, k);
    }
}

}  // namespace

Interval wilson_proportion(double p, std::int64_t n, double confidence) {
    if (n < 1) {
        throw_bad_input("a proportion needs n >= 1 items, got n = {}", n);
    }
    if (!(p >= 0.0 && p <= 1.0)) {
        throw_bad_input("a proportion must lie in [0, 1], got {}", p);
    }
    const double z = z_critical(confidence);
    const double nn = static_cast<double>(n);
    const double z2 = z * z;
    const double denom = 1.0 + z2 / nn;
    const double centre = (p + z2 / (2.0 * nn)) / denom;
    const double half = z / denom * std::sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn));
    Interval ci{std::max(0.0, centre - half), std::min(1.0, centre + half)};
    if (p == 0.0) {
        ci.lower = 0.0;
    }
    if (p == 1.0) {
        ci.upper = 1.0;
    }
    return ci;
}

Interval wilson(std::int64_t k, std::int64_t n, double confidence) {
    check_counts(k, n);
    if (k == n) {
        return wilson_proportion(1.0, n, confidence);
    }
    return wilson_proportion(static_cast<double>(k) / static_cast<double>(n), n, confidence);
}

Interval clopper_pearson(std::int64_t k, std::int64_t n, double confidence) {
    check_counts(k, n);
    check_confidence(confidence);
    const double alpha = 1.0 - confidence;
    const double kk = static_cast<double>(k);
    const double nn = static_cast<double>(n);
    Interval ci{0.0, 1.0};
    if (k > 0) {
        const boost::math::beta_distribution<> lower_dist(kk, nn - kk + 1.0);
        ci.lower = boost::math::quantile(lower_dist, alpha / 2.0);
    }
    if (k < n) {
        const boost::math::beta_distribution<> upper_dist(kk + 1.0, nn - kk);
        ci.upper = boost::math::quantile(boost::math::complement(upper_dist, alpha / 2.0));
    }
    return ci;
}

}  // namespace qbench::stats
