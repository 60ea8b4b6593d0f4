// McNemar's test for two variants scored 0/1 on the same items (reference/statistics.md §3.2).
// Only the discordant counts matter: b = items the baseline got right and the variant wrong,
// c = items the baseline got wrong and the variant right. H0: b | b + c ~ Binomial(b + c, 1/2).
#pragma once

#include <cstdint>

namespace qbench::stats {

struct McNemar {
    std::int64_t b = 0;
    std::int64_t c = 0;
    double exact_p = 1.0;   // min(1, 2 · F(min(b, c))), F = CDF of Binomial(b + c, 1/2)
    double mid_p = 1.0;     // min(1, 2 · F(min(b, c)) − pmf(min(b, c)))
    double chi2 = 0.0;      // (b − c)² / (b + c)
    double chi2_p = 1.0;    // upper tail of chi-square(1) at chi2
    double chi2_cc = 0.0;   // max(0, |b − c| − 1)² / (b + c)  (Edwards' continuity correction)
    double chi2_cc_p = 1.0; // upper tail of chi-square(1) at chi2_cc
};

// All four two-sided McNemar p-values. Fagerland, Lydersen & Laake (2013) recommend the mid-p;
// the exact conditional and the continuity-corrected tests are conservative.
// Edge cases: b + c = 0 gives every p = 1 and both statistics 0. The continuity correction is
// floored at 0, so b = c gives chi2_cc = 0 and chi2_cc_p = 1 (statsmodels would give
// 1 / (b + c) there). Check values (b, c -> exact, mid-p, cc, no-cc): (5, 0) -> 0.0625, 0.03125,
// 0.07364, 0.02535; (40, 20) -> 0.013489, 0.009853, 0.014171, 0.009823.
// Throws kBadInput for a negative count.
McNemar mcnemar(std::int64_t b, std::int64_t c);

}  // namespace qbench::stats
