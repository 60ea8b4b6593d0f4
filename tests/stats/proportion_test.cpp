#include "qbench/stats/proportion.hpp"

#include <gtest/gtest.h>

#include "qbench/util/error.hpp"

namespace qbench::stats {

// reference/statistics.md §3.4: k = 7, n = 50 (scipy binomtest docs).
TEST(Proportion, ClopperPearsonMatchesScipyExample) {
    const Interval ci = clopper_pearson(7, 50, 0.95);
    EXPECT_NEAR(ci.lower, 0.0581917003, 1e-9);
    EXPECT_NEAR(ci.upper, 0.2673960025, 1e-9);
}

TEST(Proportion, WilsonMatchesReferenceExample) {
    const Interval ci = wilson(7, 50, 0.95);
    EXPECT_NEAR(ci.lower, 0.06951, 5e-6);
    EXPECT_NEAR(ci.upper, 0.26186, 5e-6);
}

TEST(Proportion, WilsonMatchesHandComputation) {
    // k = 5, n = 10, z = 1.959964: centre 0.5, half = z/(1 + z²/10) · sqrt(0.025 + z²/400).
    const double z = 1.959963984540054;
    const double half = z / (1.0 + z * z / 10.0) * std::sqrt(0.025 + z * z / 400.0);
    const Interval ci = wilson(5, 10, 0.95);
    EXPECT_NEAR(ci.lower, 0.5 - half, 1e-12);
    EXPECT_NEAR(ci.upper, 0.5 + half, 1e-12);
}

TEST(Proportion, ZeroSuccessesGiveZeroLowerBound) {
    const Interval cp = clopper_pearson(0, 30, 0.95);
    EXPECT_EQ(cp.lower, 0.0);
    EXPECT_NEAR(cp.upper, 0.1157, 5e-5);  // reference §3.4: 1 − 0.025^(1/30)
    EXPECT_NEAR(cp.upper, 1.0 - std::pow(0.025, 1.0 / 30.0), 1e-12);
    const Interval w = wilson(0, 30, 0.95);
    EXPECT_EQ(w.lower, 0.0);
    EXPECT_GT(w.upper, 0.0);
}

TEST(Proportion, AllSuccessesGiveUnitUpperBound) {
    const Interval cp = clopper_pearson(30, 30, 0.95);
    EXPECT_EQ(cp.upper, 1.0);
    EXPECT_NEAR(cp.lower, std::pow(0.025, 1.0 / 30.0), 1e-12);
    const Interval w = wilson(30, 30, 0.95);
    EXPECT_EQ(w.upper, 1.0);
    EXPECT_LT(w.lower, 1.0);
}

TEST(Proportion, SingleItem) {
    const Interval cp = clopper_pearson(1, 1, 0.95);
    EXPECT_NEAR(cp.lower, 0.025, 1e-12);
    EXPECT_EQ(cp.upper, 1.0);
}

TEST(Proportion, RejectsBadCounts) {
    EXPECT_THROW(wilson(0, 0), Error);
    EXPECT_THROW(clopper_pearson(0, 0), Error);
    EXPECT_THROW(wilson(6, 5), Error);
    EXPECT_THROW(wilson(-1, 5), Error);
    EXPECT_THROW(wilson(1, 5, 1.0), Error);
    EXPECT_THROW(wilson_proportion(1.5, 5), Error);
    try {
        wilson(0, 0);
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kBadInput);
    }
}

}  // namespace qbench::stats
