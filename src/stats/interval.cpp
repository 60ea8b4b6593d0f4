#include "qbench/stats/interval.hpp"

#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>

#include "qbench/util/error.hpp"

namespace qbench::stats {

void check_confidence(double confidence) {
    if (!(confidence > 0.0 && confidence < 1.0)) {
        throw_bad_input("confidence must be strictly between 0 and 1, got {}", confidence);
    }
}

double z_critical(double confidence) {
    check_confidence(confidence);
    const boost::math::normal standard(0.0, 1.0);
    return boost::math::quantile(boost::math::complement(standard, (1.0 - confidence) / 2.0));
}

double t_critical(double confidence, double df) {
    check_confidence(confidence);
    if (!(df >= 1.0)) {
        throw_bad_input("a t quantile needs at least 1 degree of freedom, got {}", df);
    }
    const boost::math::students_t t(df);
    return boost::math::quantile(boost::math::complement(t, (1.0 - confidence) / 2.0));
}

double z_power(double power) {
    if (!(power > 0.0 && power < 1.0)) {
        throw_bad_input("power must be strictly between 0 and 1, got {}", power);
    }
    const boost::math::normal standard(0.0, 1.0);
    return boost::math::quantile(standard, power);
}

}  // namespace qbench::stats
