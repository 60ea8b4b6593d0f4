#include "qbench/stats/power.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "qbench/util/error.hpp"

namespace qbench::stats {

// reference/statistics.md §1.5: Miller's worked example, omega² = 1/9, delta = 0.03 -> 969.
TEST(Power, MillerSampleSizeExample) {
    EXPECT_NEAR(required_n_mean(1.0 / 9.0, 0.03), 969.0, 0.01);
    EXPECT_EQ(std::ceil(required_n_mean(1.0 / 9.0, 0.03)), 969.0);
    // §3.5: Miller's eq. 9 with Var(d) = psi − delta² for p10 = 0.06, p01 = 0.03 gives 777.
    EXPECT_NEAR(required_n_mean(0.09 - 0.0009, 0.03), 777.0, 0.05);
}

TEST(Power, MdeMeanInvertsRequiredN) {
    const double n = required_n_mean(0.25, 0.05);
    EXPECT_NEAR(mde_mean(0.25, static_cast<std::int64_t>(n)), 0.05, 1e-3);
    // (z_0.975 + z_0.8) · sqrt(0.25 / 100) = 2.8015852 · 0.05
    EXPECT_NEAR(mde_mean(0.25, 100), (1.959963984540054 + 0.8416212335729143) * 0.05, 1e-12);
}

// §3.5: Connor (1987), 783 items for p10 = 0.06, p01 = 0.03 and about 3,922 for 0.03 / 0.02.
TEST(Power, ConnorSampleSizeExamples) {
    EXPECT_EQ(std::ceil(required_n_paired(0.06, 0.03)), 783.0);
    EXPECT_NEAR(required_n_paired(0.06, 0.03), 782.53, 0.01);
    EXPECT_NEAR(required_n_paired(0.03, 0.02), 3922.08, 0.01);
    EXPECT_DOUBLE_EQ(required_n_paired(0.03, 0.06), required_n_paired(0.06, 0.03));
}

TEST(Power, PairedMdeInvertsConnor) {
    const double n = required_n_paired(0.06, 0.03);  // 782.53
    EXPECT_LT(mde_paired(783, 0.09), 0.03);
    EXPECT_GT(mde_paired(782, 0.09), 0.03);
    // An exact round trip: the n Connor needs for (psi, mde) is the n we started from.
    const double delta = mde_paired(1000, 0.09);
    EXPECT_NEAR(required_n_paired((0.09 + delta) / 2.0, (0.09 - delta) / 2.0), 1000.0, 1e-6);
    EXPECT_GT(n, 0.0);
}

TEST(Power, PairedMdeEdgeCases) {
    // No flips: the floor (every flip one way), not 0.
    EXPECT_EQ(mde_paired(100, 0.0), mde_paired_floor(100));
    EXPECT_TRUE(std::isinf(mde_paired(3, 0.5)));  // sqrt(3) < z_0.975
    EXPECT_THROW(mde_paired(0, 0.1), Error);
    EXPECT_THROW(mde_paired(10, 1.5), Error);
}

// §7: the 80 %-power MDEs of the seed's unpaired designs are 13.9, 5.43 and 1.54 pp.
TEST(Power, UnpairedMdeOfSeedExamples) {
    EXPECT_NEAR(mde_unpaired((0.299 + 0.262) / 2.0, 164), 0.139, 5e-4);
    EXPECT_NEAR(mde_unpaired((0.568 + 0.521) / 2.0, 1319), 0.0543, 5e-5);
    EXPECT_NEAR(mde_unpaired((0.698 + 0.691) / 2.0, 14000), 0.0154, 5e-5);
}

TEST(Power, UnpairedRequiredNInvertsMde) {
    const double n = required_n_unpaired(0.70, 0.67);
    EXPECT_NEAR(mde_unpaired(0.685, static_cast<std::int64_t>(std::round(n))), 0.03, 1e-4);
}

TEST(Power, RejectsBadInput) {
    EXPECT_THROW(required_n_mean(0.1, 0.0), Error);
    EXPECT_THROW(required_n_paired(0.05, 0.05), Error);
    EXPECT_THROW(required_n_paired(0.7, 0.6), Error);
    EXPECT_THROW(required_n_unpaired(0.5, 0.5), Error);
    EXPECT_THROW(mde_mean(0.1, 100, 0.95, 1.0), Error);
    EXPECT_THROW(mde_unpaired(0.5, 0), Error);
}

// The floor solves delta sqrt(n) = z_a sqrt(delta) + z_b sqrt(delta - delta^2). Hand-computed
// with z_0.975 = 1.959964, z_0.8 = 0.841621: n = 100 -> u = sqrt(delta) solves
// 10 u = 1.959964 + 0.841621 sqrt(1 - u^2), delta = u^2 = 0.0766561 (Python bisection; n = 400:
// 0.0195068).
TEST(Power, PairedMdeFloor) {
    EXPECT_NEAR(mde_paired_floor(100), 0.0766561, 1e-6);
    EXPECT_NEAR(mde_paired_floor(400), 0.0195068, 1e-6);
    for (std::int64_t n : {10, 100, 1000, 100000}) {
        const double d = mde_paired_floor(n);
        // It is Connor's root at psi = delta: the required n at (p10 = delta, p01 = 0) is n.
        EXPECT_NEAR(required_n_paired(d, 0.0), static_cast<double>(n), 1e-6 * static_cast<double>(n)) << n;
        // Below every Connor MDE at an observed discordance psi >= d (and about 7.85 / n for large n).
        EXPECT_LT(d, mde_paired(n, std::min(1.0, 2.0 * d)));
        if (n >= 1000) EXPECT_NEAR(d * static_cast<double>(n), 7.849, 0.15) << n;
    }
    EXPECT_LT(mde_paired_floor(1000), mde_paired_floor(100));
    EXPECT_TRUE(std::isinf(mde_paired_floor(3)));  // sqrt(3) < z_0.975
    EXPECT_THROW(mde_paired_floor(0), Error);
}

}  // namespace qbench::stats
