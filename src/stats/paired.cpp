#include "qbench/stats/paired.hpp"

#include <algorithm>
#include <cmath>

#include "qbench/stats/power.hpp"
#include "qbench/stats/proportion.hpp"
#include "qbench/util/error.hpp"

namespace qbench::stats {

namespace {

void check_counts(std::int64_t n, std::int64_t b, std::int64_t c) {
    if (n < 1) {
        throw_bad_input("a paired comparison needs n >= 1 items, got n = {}", n);
    }
    if (b < 0 || c < 0 || b + c > n) {
        throw_bad_input("discordant counts must satisfy 0 <= b, c and b + c <= n = {}, got b = {}, "
                        "c = {}", n, b, c);
    }
}

// Tango's score statistic for H0: (x − y) / n = delta (see tango_ci in the header).
double tango_statistic(double n, double x, double y, double delta) {
    const double a = 2.0 * n;
    const double b = -x - y + (2.0 * n - x + y) * delta;
    const double c = -y * delta * (1.0 - delta);
    const double p21 = (std::sqrt(std::max(0.0, b * b - 4.0 * a * c)) - b) / (2.0 * a);
    return (x - y - n * delta) / std::sqrt(n * (2.0 * p21 + delta * (1.0 - delta)));
}

// Tango interval of (x − y) / n by bisection; T is decreasing in delta, +inf at −1 and −inf at
// +1 unless the data sit on that bound. A NaN statistic (0/0 at the estimate when x = y = 0)
// counts as inside the interval.
Interval tango_raw(double n, double x, double y, double z) {
    const double estimate = (x - y) / n;
    const auto inside_below = [&](double delta) { return !(tango_statistic(n, x, y, delta) > z); };
    const auto inside_above = [&](double delta) { return !(tango_statistic(n, x, y, delta) < -z); };
    double lo = -1.0;
    double hi = estimate;
    for (int i = 0; i < 200 && hi - lo > 1e-14; ++i) {
        const double mid = 0.5 * (lo + hi);
        (inside_below(mid) ? hi : lo) = mid;
    }
    Interval ci;
    ci.lower = hi;
    lo = estimate;
    hi = 1.0;
    for (int i = 0; i < 200 && hi - lo > 1e-14; ++i) {
        const double mid = 0.5 * (lo + hi);
        (inside_above(mid) ? lo : hi) = mid;
    }
    ci.upper = lo;
    return ci;
}

}  // namespace

PairedTable paired_table(const std::vector<int>& a, const std::vector<int>& b) {
    if (a.size() != b.size()) {
        throw_bad_input("paired scores need the same items: {} baseline vs {} variant scores",
                        a.size(), b.size());
    }
    if (a.empty()) {
        throw_bad_input("a paired comparison needs at least one item");
    }
    PairedTable t;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if ((a[i] != 0 && a[i] != 1) || (b[i] != 0 && b[i] != 1)) {
            throw_bad_input("paired binary scores must be 0 or 1; item {} has {} and {}", i, a[i],
                            b[i]);
        }
        if (a[i] == 1) {
            ++(b[i] == 1 ? t.both_right : t.b);
        } else {
            ++(b[i] == 1 ? t.c : t.both_wrong);
        }
    }
    return t;
}

Interval tango_ci(std::int64_t n, std::int64_t b, std::int64_t c, double confidence) {
    check_counts(n, b, c);
    // The interval of (c − b)/n is Tango's interval of (x − y)/n with x = c, y = b.
    return tango_raw(static_cast<double>(n), static_cast<double>(c), static_cast<double>(b),
                     z_critical(confidence));
}

Interval newcombe_paired_ci(const PairedTable& t, double confidence) {
    if (t.both_right < 0 || t.b < 0 || t.c < 0 || t.both_wrong < 0) {
        throw_bad_input("paired table counts must be >= 0");
    }
    const std::int64_t n = t.n();
    if (n < 1) {
        throw_bad_input("a paired comparison needs n >= 1 items, got n = 0");
    }
    const double nn = static_cast<double>(n);
    const double n11 = static_cast<double>(t.both_right);
    const double b = static_cast<double>(t.b);
    const double c = static_cast<double>(t.c);
    const double n22 = static_cast<double>(t.both_wrong);
    const Interval w1 = wilson(t.both_right + t.b, n, confidence);
    const Interval w2 = wilson(t.both_right + t.c, n, confidence);
    const double p1 = (n11 + b) / nn;
    const double p2 = (n11 + c) / nn;
    const double d = p1 - p2;
    const double a_prod = (n11 + b) * (c + n22) * (n11 + c) * (b + n22);
    const double b_cross = n11 * n22 - b * c;
    double c_adj = 0.0;
    if (b_cross > nn / 2.0) {
        c_adj = b_cross - nn / 2.0;
    } else if (b_cross < 0.0) {
        c_adj = b_cross;
    }
    const double phi = a_prod > 0.0 ? c_adj / std::sqrt(a_prod) : 0.0;
    const double dl1 = p1 - w1.lower;
    const double du1 = w1.upper - p1;
    const double dl2 = p2 - w2.lower;
    const double du2 = w2.upper - p2;
    const double spread_lower = dl1 * dl1 - 2.0 * phi * dl1 * du2 + du2 * du2;
    const double spread_upper = dl2 * dl2 - 2.0 * phi * dl2 * du1 + du1 * du1;
    const double lower = d - std::sqrt(std::max(0.0, spread_lower));
    const double upper = d + std::sqrt(std::max(0.0, spread_upper));
    return Interval{-upper, -lower};
}

Interval paired_wald_ci(std::int64_t n, std::int64_t b, std::int64_t c, double confidence) {
    check_counts(n, b, c);
    const double nn = static_cast<double>(n);
    const double d = static_cast<double>(c - b) / nn;
    const double diff = static_cast<double>(b - c);
    const double se = std::sqrt(std::max(0.0, static_cast<double>(b + c) - diff * diff / nn)) / nn;
    const double half = z_critical(confidence) * se;
    return Interval{d - half, d + half};
}

PairedComparison paired_binary_counts(std::int64_t n, std::int64_t b, std::int64_t c,
                                      double confidence) {
    check_counts(n, b, c);
    check_confidence(confidence);
    const double nn = static_cast<double>(n);
    PairedComparison r;
    r.n = n;
    r.b = b;
    r.c = c;
    r.flips = static_cast<double>(b + c) / nn;
    r.flips_correct_to_incorrect = static_cast<double>(b) / nn;
    r.flips_incorrect_to_correct = static_cast<double>(c) / nn;
    r.flips_ci = wilson(b + c, n, confidence);
    r.difference = static_cast<double>(c - b) / nn;
    r.ci = tango_ci(n, b, c, confidence);
    r.ci_method = "tango";
    r.wald_ci = paired_wald_ci(n, b, c, confidence);
    r.mcnemar = mcnemar(b, c);
    r.confidence = confidence;
    r.mde = mde_paired(n, r.flips, confidence, r.mde_power);
    return r;
}

PairedComparison paired_binary(const std::vector<int>& a, const std::vector<int>& b,
                               double confidence) {
    const PairedTable t = paired_table(a, b);
    return paired_binary_counts(t.n(), t.b, t.c, confidence);
}

}  // namespace qbench::stats
