// Power analysis: the minimum detectable effect (MDE) of a design, and the number of items a
// design needs to detect a given effect. Two-sided tests at level alpha = 1 − confidence; power is
// the probability of rejecting H0 when the effect is real. z_a = z_critical(confidence) and
// z_b = z_power(power). Note: z_a · SE alone (the seed's "minimum detectable difference") is the
// effect detected with 50 % power, not an MDE (reference/statistics.md §3.6).
// Every function throws kBadInput for a confidence or power outside (0, 1) and for the
// argument-specific conditions it lists.
#pragma once

#include <cstdint>

namespace qbench::stats {

// Miller (2024) eq. 10, for a paired mean difference with per-item difference variance var_d
// (K = 1 sample per item): MDE = (z_a + z_b) · sqrt(var_d / n).
// Throws unless n >= 1 and var_d >= 0.
double mde_mean(double var_d, std::int64_t n, double confidence = 0.95, double power = 0.8);

// Miller (2024) eq. 9: n = (z_a + z_b)² · var_d / effect², real-valued (round up to plan).
// Example: var_d = 1/9, effect = 0.03 at 95 % / 80 % gives 969.0.
// Throws unless var_d >= 0 and effect != 0.
double required_n_mean(double var_d, double effect, double confidence = 0.95, double power = 0.8);

// Connor (1987) sample size for McNemar's test, with discordance psi = p10 + p01 and effect
// delta = p10 − p01 (p10, p01 = probabilities of the two kinds of flip):
//   n = (z_a · sqrt(psi) + z_b · sqrt(psi − delta²))² / delta², real-valued (round up to plan).
// Example: p10 = 0.06, p01 = 0.03 gives 782.5 (783 items).
// Throws unless p10, p01 >= 0, p10 + p01 <= 1 and p10 != p01.
double required_n_paired(double p10, double p01, double confidence = 0.95, double power = 0.8);

// Connor's formula solved for |delta| at a given n and discordance psi: the root in
// [0, sqrt(psi)] of delta · sqrt(n) = z_a · sqrt(psi) + z_b · sqrt(psi − delta²), by bisection.
// psi = 0 (no flips observed, b = c = 0) has no discordance to plan with; it gives
// mde_paired_floor(n) instead. Returns +infinity when no root exists (n <= z_a², too few items
// for any effect). Throws unless n >= 1, 0 <= psi <= 1.
double mde_paired(std::int64_t n, double psi, double confidence = 0.95, double power = 0.8);

// The smallest net effect |delta| that McNemar's test can detect at this n whatever the
// discordance: Connor's formula with every flip in one direction (psi = |delta|, the least
// discordance an effect delta allows), i.e. the root of
//   delta · sqrt(n) = z_a · sqrt(delta) + z_b · sqrt(delta − delta²).
// A larger psi only raises the right side, so no effect below this has the power at this n.
// About (z_a + z_b)² / n = 7.85 / n at 95 % / 80 % (0.0787 at n = 100). +infinity when
// n <= z_a². Throws unless n >= 1.
double mde_paired_floor(std::int64_t n, double confidence = 0.95, double power = 0.8);

// Unpaired design, n items per arm, pooled proportion p: the pooled z-test's standard error
// SE = sqrt(2 p (1 − p) / n) and MDE = (z_a + z_b) · SE.
// Example: p = (0.299 + 0.262) / 2, n = 164 gives 0.1390 (13.9 pp).
// Throws unless n >= 1 and 0 <= p <= 1.
double mde_unpaired(double p, std::int64_t n, double confidence = 0.95, double power = 0.8);

// The same design solved for n per arm, with p = (p1 + p2) / 2 and effect = p1 − p2:
// n = (z_a + z_b)² · 2 p (1 − p) / effect², real-valued (round up to plan).
// Throws unless p1, p2 lie in [0, 1] and differ.
double required_n_unpaired(double p1, double p2, double confidence = 0.95, double power = 0.8);

}  // namespace qbench::stats
