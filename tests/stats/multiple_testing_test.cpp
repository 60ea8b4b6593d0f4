#include "qbench/stats/multiple_testing.hpp"

#include <gtest/gtest.h>

#include "qbench/util/error.hpp"

namespace qbench::stats {

// reference/statistics.md §3.7 (R p.adjust(method = "holm")).
TEST(Holm, MatchesReferenceExample) {
    const HolmResult r = holm({0.50, 0.01, 0.001, 0.69, 0.02, 0.05, 0.0025}, 0.05);
    const std::vector<double> expected{1, 0.05, 0.007, 1, 0.08, 0.15, 0.015};
    ASSERT_EQ(r.adjusted.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_NEAR(r.adjusted[i], expected[i], 1e-12) << "index " << i;
    }
    const std::vector<bool> rejected{false, true, true, false, false, false, true};
    EXPECT_EQ(r.rejected, rejected);
}

TEST(Holm, TieAtAlphaIsRejected) {
    // 2 · 0.025 = 0.05 exactly: "<=" with a relative tolerance rejects it.
    const HolmResult r = holm({0.025, 0.9}, 0.05);
    EXPECT_TRUE(r.rejected[0]);
    EXPECT_FALSE(r.rejected[1]);
}

TEST(Holm, EqualPValuesGetEqualAdjustments) {
    const HolmResult r = holm({0.01, 0.01, 0.01}, 0.05);
    for (double p : r.adjusted) {
        EXPECT_NEAR(p, 0.03, 1e-15);
    }
}

TEST(Holm, EmptyAndSingleFamilies) {
    EXPECT_TRUE(holm({}, 0.05).adjusted.empty());
    const HolmResult one = holm({0.04}, 0.05);
    EXPECT_DOUBLE_EQ(one.adjusted[0], 0.04);
    EXPECT_TRUE(one.rejected[0]);
}

TEST(Holm, RejectsBadInput) {
    EXPECT_THROW(holm({0.5, 1.5}), Error);
    EXPECT_THROW(holm({0.5}, 0.0), Error);
}

}  // namespace qbench::stats
