// The block (cluster-robust) mean of per-token quantities, against hand-computed values.
#include "qbench/stats/ratio_mean.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "qbench/util/error.hpp"

namespace qbench::stats {
namespace {

// Equal block sizes: the batch-means SE sd(y_c / t_c) / sqrt(C). Blocks of 2 tokens with means
// 1, 2, 3: mean 2, sd 1, se 1/sqrt(3), CI 2 ± t_{0.975,2} · se = 2 ± 4.302653 · 0.577350.
TEST(RatioMean, EqualBlocksAreBatchMeans) {
    const auto r = ratio_mean({2, 4, 6}, {2, 2, 2});
    EXPECT_EQ(r.n, 6);
    EXPECT_EQ(r.blocks, 3);
    EXPECT_DOUBLE_EQ(r.mean, 2.0);
    EXPECT_NEAR(r.se, 1 / std::sqrt(3.0), 1e-12);
    EXPECT_NEAR(r.ci.lower, 2 - 4.302652729749464 / std::sqrt(3.0), 1e-9);
    EXPECT_NEAR(r.ci.upper, 2 + 4.302652729749464 / std::sqrt(3.0), 1e-9);
}

// Unequal blocks: sums 1, 5 over 1 and 3 tokens: mean 6/4 = 1.5; residuals 1 − 1.5 = −.5 and
// 5 − 4.5 = .5; se = sqrt(2/1 · .5) / 4 = .25; t_{0.975,1} = 12.706205.
TEST(RatioMean, UnequalBlocksUseTheLinearisedRatio) {
    const auto r = ratio_mean({1, 5}, {1, 3});
    EXPECT_DOUBLE_EQ(r.mean, 1.5);
    EXPECT_NEAR(r.se, 0.25, 1e-12);
    EXPECT_NEAR(r.ci.upper, 1.5 + 12.706204736174707 * 0.25, 1e-9);
}

TEST(RatioMean, EdgeCases) {
    const auto one = ratio_mean({3}, {2});
    EXPECT_DOUBLE_EQ(one.mean, 1.5);
    EXPECT_TRUE(std::isnan(one.se));
    EXPECT_TRUE(std::isinf(one.ci.lower));
    const auto flat = ratio_mean({1, 2, 0}, {1, 2, 0});
    EXPECT_DOUBLE_EQ(flat.se, 0.0);
    EXPECT_DOUBLE_EQ(flat.ci.lower, 1.0);
    EXPECT_THROW(ratio_mean({}, {}), Error);
    EXPECT_THROW(ratio_mean({1}, {1, 2}), Error);
    EXPECT_THROW(ratio_mean({0, 0}, {0, 0}), Error);
    EXPECT_THROW(ratio_mean({NAN, 1}, {1, 1}), Error);
    EXPECT_THROW(ratio_mean({1, 1}, {-1, 2}), Error);
    EXPECT_THROW(ratio_mean({1, 1}, {1, 1}, 1.5), Error);
}

}  // namespace
}  // namespace qbench::stats
