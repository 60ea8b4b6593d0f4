#include "qbench/stats/means.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "qbench/util/error.hpp"

namespace qbench::stats {

namespace {
constexpr double kT3 = 3.182446305284263;  // t_{3, 0.975}
constexpr double kT4 = 2.776445105197793;  // t_{4, 0.975}
}  // namespace

TEST(Means, MeanWithStandardErrorIsHandComputed) {
    // 1, 2, 3, 4: mean 2.5, sample variance 5/3, SE = sqrt(5/12).
    const MeanEstimate r = mean_estimate({1, 2, 3, 4});
    EXPECT_EQ(r.n, 4);
    EXPECT_DOUBLE_EQ(r.mean, 2.5);
    EXPECT_NEAR(r.sd, std::sqrt(5.0 / 3.0), 1e-14);
    EXPECT_NEAR(r.se, std::sqrt(5.0 / 12.0), 1e-14);
    EXPECT_NEAR(r.ci.lower, 2.5 - kT3 * std::sqrt(5.0 / 12.0), 1e-9);
    EXPECT_NEAR(r.ci.upper, 2.5 + kT3 * std::sqrt(5.0 / 12.0), 1e-9);
}

TEST(Means, SingleScoreHasNoStandardError) {
    const MeanEstimate r = mean_estimate({0.7});
    EXPECT_DOUBLE_EQ(r.mean, 0.7);
    EXPECT_TRUE(std::isnan(r.se));
    EXPECT_TRUE(std::isinf(r.ci.lower));
    EXPECT_TRUE(std::isinf(r.ci.upper));
}

TEST(Means, ConstantScoresHaveZeroSpread) {
    const MeanEstimate r = mean_estimate({0.5, 0.5, 0.5});
    EXPECT_EQ(r.se, 0.0);
    EXPECT_EQ(r.ci.lower, 0.5);
    EXPECT_EQ(r.ci.upper, 0.5);
}

TEST(Means, PairedDifferenceIsHandComputed) {
    // d = b − a = (1, 0, 2, 1, 1): mean 1, sample variance 0.5, SE = sqrt(0.1).
    const std::vector<double> a{1, 3, 2, 5, 4};
    const std::vector<double> b{2, 3, 4, 6, 5};
    const PairedMeanDifference r = paired_mean_difference(a, b);
    EXPECT_DOUBLE_EQ(r.mean_a, 3.0);
    EXPECT_DOUBLE_EQ(r.mean_b, 4.0);
    EXPECT_DOUBLE_EQ(r.difference, 1.0);
    EXPECT_NEAR(r.se, std::sqrt(0.1), 1e-14);
    EXPECT_NEAR(r.t, 1.0 / std::sqrt(0.1), 1e-12);
    // two-sided p of t = 3.1623 with 4 df (Student t CDF, hand-checked: 0.03411)
    EXPECT_NEAR(r.p_value, 0.03411, 5e-5);
    EXPECT_NEAR(r.ci.lower, 1.0 - kT4 * std::sqrt(0.1), 1e-9);
    // Miller eq. 7: SE_paired² = SE_a² + SE_b² − 2·rho·SE_a·SE_b, Var(a) = 2.5, Var(b) = 2.5,
    // Cov = 2.25 -> rho = 0.9.
    EXPECT_NEAR(r.correlation, 0.9, 1e-14);
    EXPECT_NEAR(r.se_unpaired, std::sqrt(1.0), 1e-14);
    EXPECT_NEAR(r.se * r.se, 0.5 + 0.5 - 2 * 0.9 * 0.5, 1e-14);
}

TEST(Means, IdenticalVectorsGiveNoDifference) {
    const std::vector<double> a{0.1, 0.9, 0.4};
    const PairedMeanDifference r = paired_mean_difference(a, a);
    EXPECT_EQ(r.difference, 0.0);
    EXPECT_EQ(r.se, 0.0);
    EXPECT_EQ(r.t, 0.0);
    EXPECT_EQ(r.p_value, 1.0);
    EXPECT_EQ(r.ci.lower, 0.0);
    EXPECT_EQ(r.ci.upper, 0.0);
    EXPECT_NEAR(r.correlation, 1.0, 1e-14);
}

TEST(Means, ConstantNonZeroDifferenceIsCertain) {
    const PairedMeanDifference r = paired_mean_difference({1, 2, 3}, {2, 3, 4});
    EXPECT_EQ(r.se, 0.0);
    EXPECT_TRUE(std::isinf(r.t));
    EXPECT_EQ(r.p_value, 0.0);
}

TEST(Means, SinglePairHasNoTest) {
    const PairedMeanDifference r = paired_mean_difference({1}, {2});
    EXPECT_DOUBLE_EQ(r.difference, 1.0);
    EXPECT_TRUE(std::isnan(r.se));
    EXPECT_EQ(r.p_value, 1.0);
}

TEST(Means, RejectsBadInput) {
    EXPECT_THROW(mean_estimate({}), Error);
    EXPECT_THROW(mean_estimate({1.0, NAN}), Error);
    EXPECT_THROW(paired_mean_difference({1, 2}, {1}), Error);
    EXPECT_THROW(paired_mean_difference({}, {}), Error);
}

}  // namespace qbench::stats
