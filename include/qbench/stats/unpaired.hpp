// Two accuracies treated as independent samples of n items each: the seed's `is_significant`
// (reference/seed-quantization-benchmarking.md), kept and labelled as unpaired. For two variants
// scored on the same items it wastes most of the information: prefer paired.hpp.
#pragma once

#include <cstdint>

#include "qbench/stats/interval.hpp"

namespace qbench::stats {

struct TwoProportion {
    double p1 = 0.0;
    double p2 = 0.0;
    std::int64_t n = 0;               // items per arm
    double difference = 0.0;          // p1 − p2
    double pooled = 0.0;              // (p1 + p2) / 2
    double se = 0.0;                  // sqrt(2 · pooled · (1 − pooled) / n), the pooled SE
    double z = 0.0;                   // difference / se (signed; 0 when se = 0)
    double p_value = 1.0;             // 2 · (1 − Phi(|z|))
    bool significant = false;         // p_value < 1 − confidence (the seed's |z| > z_crit)
    double critical_difference = 0.0;  // z_crit · se: detected with only 50 % power
    double mde = 0.0;                 // (z_crit + z_power) · se, at mde_power
    double mde_power = 0.8;
    Interval ci;                      // Newcombe (1998) method 10 hybrid score interval of p1 − p2
    Interval wald_ci;                 // unpooled Wald: difference ± z_crit · sqrt(Σ p(1 − p)/n)
    double confidence = 0.95;
};

// The pooled two-proportion z-test with equal n, exactly as the seed's `is_significant`:
//   pooled = (p1 + p2)/2, se = sqrt(2 · pooled · (1 − pooled)/n), z = (p1 − p2)/se,
//   p = 2 · (1 − Phi(|z|)), critical_difference = z_crit · se.
// The seed calls critical_difference the "minimum detectable difference"; it is the 50 %-power
// difference, and mde is the one at `power` (default 80 %).
// Newcombe's hybrid interval: with Wilson limits [l1, u1] of p1 and [l2, u2] of p2,
//   [d − sqrt((p1 − l1)² + (u2 − p2)²), d + sqrt((u1 − p1)² + (p2 − l2)²)].
// Values the formulas give for the seed's examples (not the ones it prints):
//   (0.299, 0.262, 164): z = 0.7458, p = 0.4558, critical_difference = 0.09724, mde = 0.1390;
//   (0.568, 0.521, 1319): z = 2.424, p = 0.01537, critical_difference = 0.03801;
//   (0.698, 0.691, 14000): z = 1.271, p = 0.2036, critical_difference = 0.01079.
// Edge cases: p1 = p2 = 0 or p1 = p2 = 1 gives se = 0, z = 0, p = 1 (se > 0 whenever p1 != p2).
// Throws kBadInput unless n >= 1 and p1, p2 lie in [0, 1], or for confidence / power outside
// (0, 1).
TwoProportion two_proportion(double p1, double p2, std::int64_t n, double confidence = 0.95,
                             double power = 0.8);

}  // namespace qbench::stats
