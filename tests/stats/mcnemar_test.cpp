#include "qbench/stats/mcnemar.hpp"

#include <gtest/gtest.h>

#include "qbench/util/error.hpp"

namespace qbench::stats {

struct McNemarCase {
    std::int64_t b, c;
    double exact, mid, cc, no_cc;
};

// reference/statistics.md §3.2, test vectors recomputed there with Boost.
TEST(McNemar, MatchesReferenceTable) {
    const McNemarCase cases[] = {
        {5, 0, 0.0625, 0.03125, 0.07364, 0.02535},
        {40, 20, 0.013489, 0.009853, 0.014171, 0.009823},
        {12, 2, 0.012940, 0.007385, 0.016157, 0.007526},
        {60, 45, 0.17157, 0.14478, 0.17186, 0.14324},
    };
    for (const auto& k : cases) {
        SCOPED_TRACE(testing::Message() << "b = " << k.b << ", c = " << k.c);
        const McNemar r = mcnemar(k.b, k.c);
        EXPECT_NEAR(r.exact_p, k.exact, k.exact * 5e-4);
        EXPECT_NEAR(r.mid_p, k.mid, k.mid * 5e-4);
        EXPECT_NEAR(r.chi2_cc_p, k.cc, k.cc * 5e-4);
        EXPECT_NEAR(r.chi2_p, k.no_cc, k.no_cc * 5e-4);
    }
}

TEST(McNemar, StatisticsAreHandComputed) {
    const McNemar r = mcnemar(12, 2);
    EXPECT_DOUBLE_EQ(r.chi2, 100.0 / 14.0);
    EXPECT_DOUBLE_EQ(r.chi2_cc, 81.0 / 14.0);
    // exact: 2 · P(Bin(14, 1/2) <= 2) = 2 · (1 + 14 + 91) / 2^14
    EXPECT_NEAR(r.exact_p, 2.0 * 106.0 / 16384.0, 1e-15);
    EXPECT_NEAR(r.mid_p, 2.0 * 106.0 / 16384.0 - 91.0 / 16384.0, 1e-15);
}

TEST(McNemar, NoDiscordantPairsGivesPOne) {
    const McNemar r = mcnemar(0, 0);
    EXPECT_EQ(r.exact_p, 1.0);
    EXPECT_EQ(r.mid_p, 1.0);
    EXPECT_EQ(r.chi2_p, 1.0);
    EXPECT_EQ(r.chi2_cc_p, 1.0);
    EXPECT_EQ(r.chi2, 0.0);
}

TEST(McNemar, BalancedFlipsGivePOne) {
    const McNemar r = mcnemar(7, 7);
    EXPECT_DOUBLE_EQ(r.exact_p, 1.0);
    EXPECT_DOUBLE_EQ(r.mid_p, 1.0);
    EXPECT_DOUBLE_EQ(r.chi2_p, 1.0);
    EXPECT_DOUBLE_EQ(r.chi2_cc_p, 1.0);
}

TEST(McNemar, IsSymmetricInBAndC) {
    const McNemar x = mcnemar(40, 20);
    const McNemar y = mcnemar(20, 40);
    EXPECT_DOUBLE_EQ(x.exact_p, y.exact_p);
    EXPECT_DOUBLE_EQ(x.mid_p, y.mid_p);
}

TEST(McNemar, RejectsNegativeCounts) {
    EXPECT_THROW(mcnemar(-1, 3), Error);
}

}  // namespace qbench::stats
