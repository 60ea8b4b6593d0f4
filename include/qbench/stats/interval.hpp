// A confidence interval and the two-sided critical values every interval in qbench::stats is
// built from. All functions here throw qbench::Error(kBadInput) on arguments outside their domain.
#pragma once

namespace qbench::stats {

// A closed interval [lower, upper]. Infinite bounds mean "no bound can be given" (e.g. a t
// interval from a single observation).
struct Interval {
    double lower = 0.0;
    double upper = 0.0;
};

// Throws kBadInput unless 0 < confidence < 1.
void check_confidence(double confidence);

// Upper (1 - confidence) / 2 quantile of N(0, 1): 1.959963984540054 at 0.95.
double z_critical(double confidence);

// Upper (1 - confidence) / 2 quantile of Student's t with df degrees of freedom (df >= 1):
// 2.570582 for df = 5 at 0.95.
double t_critical(double confidence, double df);

// Upper (1 - power) quantile of N(0, 1), the z_beta of a power calculation: 0.8416212 at 0.8.
// Throws kBadInput unless 0 < power < 1.
double z_power(double power);

}  // namespace qbench::stats
