#include "qbench/stats/percentile.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "qbench/util/error.hpp"

namespace qbench::stats {

// numpy.percentile(np.arange(1, 11), [50, 90, 99]) = 5.5, 9.1, 9.91 (type 7, h = (n − 1)·q).
TEST(Percentile, MatchesNumpyLinear) {
    const std::vector<double> x{10, 1, 9, 2, 8, 3, 7, 4, 6, 5};
    EXPECT_DOUBLE_EQ(percentile(x, 0.5), 5.5);
    EXPECT_NEAR(percentile(x, 0.9), 9.1, 1e-12);
    EXPECT_NEAR(percentile(x, 0.99), 9.91, 1e-12);
    EXPECT_DOUBLE_EQ(percentile(x, 0.0), 1.0);
    EXPECT_DOUBLE_EQ(percentile(x, 1.0), 10.0);
    EXPECT_DOUBLE_EQ(percentile({3, 1, 2}, 0.25), 1.5);
}

TEST(Percentile, SortedVariantAgrees) {
    EXPECT_NEAR(percentile_sorted({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9), 9.1, 1e-12);
    EXPECT_THROW(percentile_sorted({}, 0.5), Error);
}

TEST(Percentile, SingleSampleIsEveryPercentile) {
    EXPECT_DOUBLE_EQ(percentile({4.2}, 0.0), 4.2);
    EXPECT_DOUBLE_EQ(percentile({4.2}, 0.999), 4.2);
}

TEST(Percentile, UndersampledFlagFollowsTenTailObservations) {
    EXPECT_TRUE(undersampled(999, 0.99));
    EXPECT_FALSE(undersampled(1000, 0.99));
    EXPECT_TRUE(undersampled(9999, 0.999));
    EXPECT_FALSE(undersampled(10000, 0.999));
    EXPECT_FALSE(undersampled(20, 0.5));
    EXPECT_TRUE(undersampled(19, 0.5));
    EXPECT_TRUE(undersampled(1000000, 1.0));
}

struct RankCase {
    std::int64_t n;
    double q;
    std::int64_t lower, upper;
};

// reference/statistics.md §5.2, exact binomial 95 % ranks.
TEST(Percentile, OrderStatisticRanksMatchReferenceTable) {
    const RankCase cases[] = {
        {100, 0.5, 40, 61},       {368, 0.5, 165, 204},     {368, 0.99, 360, 368},
        {1000, 0.5, 469, 532},    {1000, 0.99, 983, 997},   {3688, 0.99, 3639, 3663},
        {3688, 0.999, 3680, 3688}, {10000, 0.5, 4902, 5099}, {10000, 0.99, 9880, 9920},
        {10000, 0.999, 9983, 9997}, {100000, 0.99, 98938, 99062},
        {100000, 0.999, 99880, 99920},
    };
    for (const auto& k : cases) {
        SCOPED_TRACE(testing::Message() << "n = " << k.n << ", q = " << k.q);
        const auto ranks = order_statistic_ranks(k.n, k.q, 0.95);
        ASSERT_TRUE(ranks.has_value());
        EXPECT_EQ(ranks->lower, k.lower);
        EXPECT_EQ(ranks->upper, k.upper);
    }
}

TEST(Percentile, NoOrderStatisticIntervalBelowTheThresholds) {
    EXPECT_FALSE(order_statistic_ranks(100, 0.99).has_value());
    EXPECT_FALSE(order_statistic_ranks(367, 0.99).has_value());
    EXPECT_FALSE(order_statistic_ranks(3687, 0.999).has_value());
    EXPECT_FALSE(order_statistic_ranks(1, 0.5).has_value());
}

TEST(Percentile, EstimateCarriesValueFlagAndInterval) {
    std::vector<double> x(100);
    std::iota(x.begin(), x.end(), 1.0);  // 1..100: x_(r) = r
    const PercentileEstimate p50 = percentile_estimate(x, 0.5);
    EXPECT_DOUBLE_EQ(p50.value, 50.5);
    EXPECT_FALSE(p50.undersampled);
    ASSERT_TRUE(p50.ci.has_value());
    EXPECT_DOUBLE_EQ(p50.ci->lower, 40.0);
    EXPECT_DOUBLE_EQ(p50.ci->upper, 61.0);
    const PercentileEstimate p99 = percentile_estimate(x, 0.99);
    EXPECT_TRUE(p99.undersampled);
    EXPECT_FALSE(p99.ci.has_value());
}

TEST(Percentile, RejectsBadInput) {
    EXPECT_THROW(percentile({}, 0.5), Error);
    EXPECT_THROW(percentile({1.0}, 1.5), Error);
    EXPECT_THROW(percentile({1.0, INFINITY}, 0.5), Error);
    EXPECT_THROW(order_statistic_ranks(0, 0.5), Error);
    EXPECT_THROW(order_statistic_ranks(10, 1.0), Error);
}

}  // namespace qbench::stats
