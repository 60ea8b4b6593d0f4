#include "qbench/stats/means.hpp"

#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <cstddef>
#include <limits>

#include "qbench/util/error.hpp"

namespace qbench::stats {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

void check_finite(const std::vector<double>& v, const char* what) {
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (!std::isfinite(v[i])) {
            throw_bad_input("{} score {} is not a finite number ({})", what, i, v[i]);
        }
    }
}

double mean_of(const std::vector<double>& v) {
    double sum = 0.0;
    for (double x : v) {
        sum += x;
    }
    return sum / static_cast<double>(v.size());
}

// Sample variance (divisor n − 1) about a given mean; requires v.size() >= 2.
double sample_variance(const std::vector<double>& v, double mean) {
    double ss = 0.0;
    for (double x : v) {
        ss += (x - mean) * (x - mean);
    }
    return ss / static_cast<double>(v.size() - 1);
}

}  // namespace

MeanEstimate mean_estimate(const std::vector<double>& scores, double confidence) {
    check_confidence(confidence);
    if (scores.empty()) {
        throw_bad_input("a mean needs at least one score");
    }
    check_finite(scores, "the");
    MeanEstimate r;
    r.n = static_cast<std::int64_t>(scores.size());
    r.confidence = confidence;
    r.mean = mean_of(scores);
    if (r.n == 1) {
        r.sd = r.se = kNaN;
        r.ci = Interval{-kInf, kInf};
        return r;
    }
    r.sd = std::sqrt(sample_variance(scores, r.mean));
    r.se = r.sd / std::sqrt(static_cast<double>(r.n));
    const double half = t_critical(confidence, static_cast<double>(r.n - 1)) * r.se;
    r.ci = Interval{r.mean - half, r.mean + half};
    return r;
}

PairedMeanDifference paired_mean_difference(const std::vector<double>& a,
                                            const std::vector<double>& b, double confidence) {
    check_confidence(confidence);
    if (a.size() != b.size()) {
        throw_bad_input("paired scores need the same items: {} baseline vs {} variant scores",
                        a.size(), b.size());
    }
    if (a.empty()) {
        throw_bad_input("a paired difference needs at least one item");
    }
    check_finite(a, "baseline");
    check_finite(b, "variant");
    const std::size_t n = a.size();
    std::vector<double> d(n);
    for (std::size_t i = 0; i < n; ++i) {
        d[i] = b[i] - a[i];
    }
    PairedMeanDifference r;
    r.n = static_cast<std::int64_t>(n);
    r.confidence = confidence;
    r.mean_a = mean_of(a);
    r.mean_b = mean_of(b);
    r.difference = mean_of(d);
    if (n == 1) {
        r.sd = r.se = r.se_unpaired = r.correlation = r.t = kNaN;
        r.ci = Interval{-kInf, kInf};
        return r;
    }
    const double nn = static_cast<double>(n);
    const double var_a = sample_variance(a, r.mean_a);
    const double var_b = sample_variance(b, r.mean_b);
    r.sd = std::sqrt(sample_variance(d, r.difference));
    r.se = r.sd / std::sqrt(nn);
    r.se_unpaired = std::sqrt((var_a + var_b) / nn);
    double cov = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        cov += (a[i] - r.mean_a) * (b[i] - r.mean_b);
    }
    cov /= nn - 1.0;
    r.correlation = (var_a > 0.0 && var_b > 0.0) ? cov / std::sqrt(var_a * var_b) : kNaN;
    const double df = nn - 1.0;
    const double half = t_critical(confidence, df) * r.se;
    r.ci = Interval{r.difference - half, r.difference + half};
    if (r.se > 0.0) {
        r.t = r.difference / r.se;
        const boost::math::students_t dist(df);
        r.p_value = 2.0 * boost::math::cdf(boost::math::complement(dist, std::fabs(r.t)));
    } else if (r.difference != 0.0) {
        r.t = r.difference > 0.0 ? kInf : -kInf;
        r.p_value = 0.0;
    }
    return r;
}

}  // namespace qbench::stats
