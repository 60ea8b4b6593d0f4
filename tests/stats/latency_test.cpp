#include "qbench/stats/latency.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "qbench/util/error.hpp"

namespace qbench::stats {

TEST(Latency, SummaryOfOneToThousand) {
    std::vector<double> x(1000);
    std::iota(x.begin(), x.end(), 1.0);
    const LatencySummary s = summarize_latency(x);
    EXPECT_EQ(s.n, 1000);
    EXPECT_DOUBLE_EQ(s.mean, 500.5);
    EXPECT_NEAR(s.std, std::sqrt(1000.0 * 1001.0 / 12.0), 1e-9);  // n(n + 1)/12 for 1..n
    EXPECT_DOUBLE_EQ(s.min, 1.0);
    EXPECT_DOUBLE_EQ(s.max, 1000.0);
    // type 7: 1 + 999·q
    EXPECT_NEAR(s.p50.value, 500.5, 1e-9);
    EXPECT_NEAR(s.p90.value, 900.1, 1e-9);
    EXPECT_NEAR(s.p95.value, 950.05, 1e-9);
    EXPECT_NEAR(s.p99.value, 990.01, 1e-9);
    EXPECT_NEAR(s.p999.value, 999.001, 1e-9);
    EXPECT_FALSE(s.p99.undersampled);
    EXPECT_TRUE(s.p999.undersampled);
    EXPECT_DOUBLE_EQ(s.p999.q, 0.999);
}

TEST(Latency, SingleSample) {
    const LatencySummary s = summarize_latency({12.5});
    EXPECT_EQ(s.n, 1);
    EXPECT_DOUBLE_EQ(s.mean, 12.5);
    EXPECT_DOUBLE_EQ(s.p99.value, 12.5);
    EXPECT_DOUBLE_EQ(s.min, 12.5);
    EXPECT_DOUBLE_EQ(s.max, 12.5);
    EXPECT_TRUE(std::isnan(s.std));
    EXPECT_TRUE(s.p50.undersampled);
}

TEST(Latency, RejectsNoSamples) {
    EXPECT_THROW(summarize_latency({}), Error);
    EXPECT_THROW(summarize_latency({1.0, NAN}), Error);
}

}  // namespace qbench::stats
