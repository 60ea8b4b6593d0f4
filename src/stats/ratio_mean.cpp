#include "qbench/stats/ratio_mean.hpp"

#include <cmath>
#include <limits>

#include "qbench/util/error.hpp"

namespace qbench::stats {

RatioMean ratio_mean(const std::vector<double>& sums, const std::vector<std::int64_t>& counts,
                     double confidence) {
    check_confidence(confidence);
    if (sums.size() != counts.size()) {
        throw_bad_input("a block mean needs one count per sum: {} sums, {} counts", sums.size(), counts.size());
    }
    if (sums.empty()) throw_bad_input("a block mean needs at least one block");
    RatioMean r;
    r.confidence = confidence;
    r.blocks = static_cast<std::int64_t>(sums.size());
    double total = 0.0;
    for (std::size_t i = 0; i < sums.size(); ++i) {
        if (counts[i] < 0) throw_bad_input("block {} has a negative token count ({})", i, counts[i]);
        if (!std::isfinite(sums[i])) throw_bad_input("block {} has a non-finite sum", i);
        r.n += counts[i];
        total += sums[i];
    }
    if (r.n < 1) throw_bad_input("a block mean needs at least one token");
    const double n = static_cast<double>(r.n);
    r.mean = total / n;
    if (r.blocks == 1) {
        r.se = std::numeric_limits<double>::quiet_NaN();
        const double inf = std::numeric_limits<double>::infinity();
        r.ci = Interval{-inf, inf};
        return r;
    }
    double ss = 0.0;
    for (std::size_t i = 0; i < sums.size(); ++i) {
        const double resid = sums[i] - r.mean * static_cast<double>(counts[i]);
        ss += resid * resid;
    }
    const double c = static_cast<double>(r.blocks);
    r.se = std::sqrt(c / (c - 1.0) * ss) / n;
    const double t = t_critical(confidence, c - 1.0);
    r.ci = Interval{r.mean - t * r.se, r.mean + t * r.se};
    return r;
}

}  // namespace qbench::stats
