#include "qbench/stats/unpaired.hpp"

#include <boost/math/distributions/normal.hpp>
#include <cmath>

#include "qbench/stats/power.hpp"
#include "qbench/stats/proportion.hpp"
#include "qbench/util/error.hpp"

namespace qbench::stats {

TwoProportion two_proportion(double p1, double p2, std::int64_t n, double confidence,
                             double power) {
    if (n < 1) {
        throw_bad_input("a two-proportion test needs n >= 1 items per arm, got n = {}", n);
    }
    if (!(p1 >= 0.0 && p1 <= 1.0) || !(p2 >= 0.0 && p2 <= 1.0)) {
        throw_bad_input("proportions must lie in [0, 1], got p1 = {}, p2 = {}", p1, p2);
    }
    const double z_crit = z_critical(confidence);
    const double nn = static_cast<double>(n);
    TwoProportion r;
    r.p1 = p1;
    r.p2 = p2;
    r.n = n;
    r.confidence = confidence;
    r.mde_power = power;
    r.difference = p1 - p2;
    r.pooled = 0.5 * (p1 + p2);
    r.se = std::sqrt(2.0 * r.pooled * (1.0 - r.pooled) / nn);
    if (r.se > 0.0) {
        r.z = r.difference / r.se;
        const boost::math::normal standard(0.0, 1.0);
        r.p_value = 2.0 * boost::math::cdf(boost::math::complement(standard, std::fabs(r.z)));
    }
    r.significant = r.p_value < 1.0 - confidence;
    r.critical_difference = z_crit * r.se;
    r.mde = mde_unpaired(r.pooled, n, confidence, power);

    const Interval w1 = wilson_proportion(p1, n, confidence);
    const Interval w2 = wilson_proportion(p2, n, confidence);
    const double d = r.difference;
    r.ci.lower = d - std::hypot(p1 - w1.lower, w2.upper - p2);
    r.ci.upper = d + std::hypot(w1.upper - p1, p2 - w2.lower);
    const double wald_half = z_crit * std::sqrt((p1 * (1.0 - p1) + p2 * (1.0 - p2)) / nn);
    r.wald_ci = Interval{d - wald_half, d + wald_half};
    return r;
}

}  // namespace qbench::stats
