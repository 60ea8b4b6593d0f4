// Two variants scored 0/1 on the same items: the paired comparison qbench uses by default
// (DESIGN.md, "Task scores"; reference/statistics.md §3). Convention throughout: "a" is the
// baseline and "b" the variant, and
//   b = items a got right and the variant got wrong (correct -> incorrect),
//   c = items a got wrong and the variant got right (incorrect -> correct),
// so the difference variant − baseline is (c − b) / n. Intervals here are for that difference.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qbench/stats/interval.hpp"
#include "qbench/stats/mcnemar.hpp"

namespace qbench::stats {

// The 2×2 table of a paired binary comparison; n = both_right + b + c + both_wrong.
struct PairedTable {
    std::int64_t both_right = 0;  // n11
    std::int64_t b = 0;           // baseline right, variant wrong
    std::int64_t c = 0;           // baseline wrong, variant right
    std::int64_t both_wrong = 0;  // n22
    std::int64_t n() const { return both_right + b + c + both_wrong; }
};

// Counts the table from per-item scores. Throws kBadInput unless the vectors have the same,
// non-zero length and hold only 0 and 1.
PairedTable paired_table(const std::vector<int>& a, const std::vector<int>& b);

// Tango (1998) asymptotic score interval for (c − b) / n, recommended by Agresti & Min (2005).
// For H0: difference (b − c)/n = delta, with A = 2n, B = −b − c + (2n − b + c)·delta,
// C = −c·delta·(1 − delta), p21(delta) = (sqrt(B² − 4AC) − B) / 2A:
//   T(delta) = (b − c − n·delta) / sqrt(n · (2·p21(delta) + delta·(1 − delta)));
// the interval {delta : |T(delta)| <= z} is found by bisection on [−1, 1] (T is decreasing) and
// negated to give the interval for (c − b) / n. Works for b + c = 0 (a non-degenerate interval
// around 0) and for b or c = n. Published check: table (n11, b, c, n22) = (4, 9, 3, 16) gives
// (−0.390, 0.027) for (c − b)/n. Throws kBadInput unless 0 <= b, c and b + c <= n, n >= 1.
Interval tango_ci(std::int64_t n, std::int64_t b, std::int64_t c, double confidence = 0.95);

// Newcombe (1998) method 10, the square-and-add hybrid score interval, for (c − b) / n. Needs the
// full table (the Wilson limits of both marginal accuracies). With p1 = (n11 + b)/n,
// p2 = (n11 + c)/n, Wilson limits [l1, u1], [l2, u2], d = p1 − p2,
// A = (n11 + b)(c + n22)(n11 + c)(b + n22), B = n11·n22 − b·c, C = B − n/2 if B > n/2, B if
// B < 0, 0 otherwise, phi = C / sqrt(A) (0 when A = 0):
//   L = d − sqrt((p1 − l1)² − 2·phi·(p1 − l1)(u2 − p2) + (u2 − p2)²)
//   U = d + sqrt((p2 − l2)² − 2·phi·(p2 − l2)(u1 − p1) + (u1 − p1)²),
// returned negated as [−U, −L]. Check: (4, 9, 3, 16) gives (−0.3807, 0.0273).
// Throws kBadInput for a negative count or n = 0.
Interval newcombe_paired_ci(const PairedTable& table, double confidence = 0.95);

// Paired Wald interval (Newcombe method 1) for (c − b) / n:
// d ± z · sqrt((b + c) − (b − c)²/n) / n. Degenerate [0, 0] when b + c = 0; poor coverage when
// b + c is small. Throws as tango_ci().
Interval paired_wald_ci(std::int64_t n, std::int64_t b, std::int64_t c,
                        double confidence = 0.95);

struct PairedComparison {
    std::int64_t n = 0;
    std::int64_t b = 0;               // correct -> incorrect
    std::int64_t c = 0;               // incorrect -> correct
    double flips = 0.0;               // (b + c) / n (Dutta et al. 2024)
    double flips_correct_to_incorrect = 0.0;  // b / n
    double flips_incorrect_to_correct = 0.0;  // c / n
    Interval flips_ci;                // Wilson interval of (b + c) / n
    double difference = 0.0;          // (c − b) / n = mean(variant) − mean(baseline)
    Interval ci;                      // the recommended interval of the difference
    std::string ci_method;            // which interval ci is: "tango"
    Interval wald_ci;                 // paired Wald interval, for comparison
    McNemar mcnemar;                  // exact, mid-p, chi-square with / without correction
    double confidence = 0.95;
    double mde = 0.0;                 // mde_paired(n, flips, confidence, mde_power)
    double mde_power = 0.8;
};

// The full paired analysis of per-item 0/1 scores of the baseline (a) and the variant (b).
// Throws as paired_table().
PairedComparison paired_binary(const std::vector<int>& a, const std::vector<int>& b,
                               double confidence = 0.95);

// The same analysis from the counts alone (n items, b and c discordant). b + c = 0 gives
// difference 0, McNemar p = 1, a Wald interval [0, 0] and a Tango interval around 0.
// Throws kBadInput unless n >= 1, b, c >= 0 and b + c <= n.
PairedComparison paired_binary_counts(std::int64_t n, std::int64_t b, std::int64_t c,
                                      double confidence = 0.95);

}  // namespace qbench::stats
