#include "qbench/stats/mcnemar.hpp"

#include <algorithm>
#include <boost/math/distributions/binomial.hpp>
#include <boost/math/distributions/chi_squared.hpp>
#include <cmath>

#include "qbench/util/error.hpp"

namespace qbench::stats {

namespace {

double chi2_upper_tail(double x2) {
    const boost::math::chi_squared one_df(1.0);
    return boost::math::cdf(boost::math::complement(one_df, x2));
}

}  // namespace

McNemar mcnemar(std::int64_t b, std::int64_t c) {
    if (b < 0 || c < 0) {
        throw_bad_input("McNemar counts must be >= 0, got b = {}, c = {}", b, c);
    }
    McNemar r;
    r.b = b;
    r.c = c;
    const std::int64_t m = b + c;
    if (m == 0) {
        return r;
    }
    const boost::math::binomial_distribution<> discordant(static_cast<double>(m), 0.5);
    const double k = static_cast<double>(std::min(b, c));
    const double tail = boost::math::cdf(discordant, k);
    r.exact_p = std::min(1.0, 2.0 * tail);
    r.mid_p = std::min(1.0, 2.0 * tail - boost::math::pdf(discordant, k));
    const double diff = static_cast<double>(b - c);
    const double md = static_cast<double>(m);
    r.chi2 = diff * diff / md;
    r.chi2_p = chi2_upper_tail(r.chi2);
    const double corrected = std::max(0.0, std::fabs(diff) - 1.0);
    r.chi2_cc = corrected * corrected / md;
    r.chi2_cc_p = chi2_upper_tail(r.chi2_cc);
    return r;
}

}  // namespace qbench::stats
