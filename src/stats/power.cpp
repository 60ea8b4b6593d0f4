#include "qbench/stats/power.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "qbench/stats/interval.hpp"
#include "qbench/util/error.hpp"

namespace qbench::stats {

namespace {

void check_n(std::int64_t n) {
    if (n < 1) {
        throw_bad_input("a power calculation needs n >= 1 items, got n = {}", n);
    }
}

void check_probability(const char* name, double p) {
    if (!(p >= 0.0 && p <= 1.0)) {
        throw_bad_input("{} must lie in [0, 1], got {}", name, p);
    }
}

}  // namespace

double mde_mean(double var_d, std::int64_t n, double confidence, double power) {
    check_n(n);
    if (!(var_d >= 0.0)) {
        throw_bad_input("the variance of the differences must be >= 0, got {}", var_d);
    }
    return (z_critical(confidence) + z_power(power)) * std::sqrt(var_d / static_cast<double>(n));
}

double required_n_mean(double var_d, double effect, double confidence, double power) {
    if (!(var_d >= 0.0)) {
        throw_bad_input("the variance of the differences must be >= 0, got {}", var_d);
    }
    if (effect == 0.0 || !std::isfinite(effect)) {
        throw_bad_input("the target effect must be a non-zero number, got {}", effect);
    }
    const double z = z_critical(confidence) + z_power(power);
    return z * z * var_d / (effect * effect);
}

double required_n_paired(double p10, double p01, double confidence, double power) {
    check_probability("p10", p10);
    check_probability("p01", p01);
    if (p10 + p01 > 1.0) {
        throw_bad_input("p10 + p01 must be <= 1, got {}", p10 + p01);
    }
    if (p10 == p01) {
        throw_bad_input("p10 and p01 must differ (effect 0 needs infinitely many items)");
    }
    const double psi = p10 + p01;
    const double delta = p10 - p01;
    const double root = z_critical(confidence) * std::sqrt(psi) +
                        z_power(power) * std::sqrt(psi - delta * delta);
    return root * root / (delta * delta);
}

double mde_paired_floor(std::int64_t n, double confidence, double power) {
    check_n(n);
    const double za = z_critical(confidence);
    const double zb = z_power(power);
    const double sqrt_n = std::sqrt(static_cast<double>(n));
    if (sqrt_n <= za) {
        return std::numeric_limits<double>::infinity();
    }
    // With u = sqrt(delta): u sqrt(n) = z_a + z_b sqrt(1 - u^2); the left side increases and the
    // right side decreases in u, so the root in (0, 1] is unique (u = 1 satisfies >= since
    // sqrt(n) > z_a).
    double lo = 0.0;
    double hi = 1.0;
    for (int i = 0; i < 200 && hi - lo > 1e-15; ++i) {
        const double mid = 0.5 * (lo + hi);
        (mid * sqrt_n - za - zb * std::sqrt(1.0 - mid * mid) < 0.0 ? lo : hi) = mid;
    }
    const double u = 0.5 * (lo + hi);
    return u * u;
}

double mde_paired(std::int64_t n, double psi, double confidence, double power) {
    check_n(n);
    check_probability("the discordance psi", psi);
    const double za = z_critical(confidence);
    const double zb = z_power(power);
    const double sqrt_n = std::sqrt(static_cast<double>(n));
    if (psi == 0.0) {
        return mde_paired_floor(n, confidence, power);
    }
    if (sqrt_n <= za) {
        return std::numeric_limits<double>::infinity();
    }
    const auto excess = [&](double delta) {
        return delta * sqrt_n - za * std::sqrt(psi) -
               zb * std::sqrt(std::max(0.0, psi - delta * delta));
    };
    double lo = 0.0;
    double hi = std::sqrt(psi);
    for (int i = 0; i < 200 && hi - lo > 1e-15; ++i) {
        const double mid = 0.5 * (lo + hi);
        (excess(mid) < 0.0 ? lo : hi) = mid;
    }
    return 0.5 * (lo + hi);
}

double mde_unpaired(double p, std::int64_t n, double confidence, double power) {
    check_n(n);
    check_probability("the pooled proportion", p);
    const double se = std::sqrt(2.0 * p * (1.0 - p) / static_cast<double>(n));
    return (z_critical(confidence) + z_power(power)) * se;
}

double required_n_unpaired(double p1, double p2, double confidence, double power) {
    check_probability("p1", p1);
    check_probability("p2", p2);
    if (p1 == p2) {
        throw_bad_input("p1 and p2 must differ (effect 0 needs infinitely many items)");
    }
    const double p = 0.5 * (p1 + p2);
    const double effect = p1 - p2;
    const double z = z_critical(confidence) + z_power(power);
    return z * z * 2.0 * p * (1.0 - p) / (effect * effect);
}

}  // namespace qbench::stats
