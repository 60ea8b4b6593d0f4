#include "qbench/stats/unpaired.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "qbench/util/error.hpp"

namespace qbench::stats {

struct SeedCase {
    double a, b;
    std::int64_t n;
    double z, p, critical;
};

// DESIGN.md "Known errors in the seed" and reference/statistics.md §7: what the seed's
// is_significant formula really gives (not the z = 0.82 / 2.54 / 0.78 it prints).
TEST(TwoProportion, SeedExamplesGiveWhatTheFormulaSays) {
    const SeedCase cases[] = {
        {0.299, 0.262, 164, 0.7458, 0.4558, 0.09724},
        {0.568, 0.521, 1319, 2.424, 0.01537, 0.03801},
        {0.698, 0.691, 14000, 1.271, 0.2036, 0.01079},
    };
    for (const auto& k : cases) {
        SCOPED_TRACE(testing::Message() << "(" << k.a << ", " << k.b << ", " << k.n << ")");
        const TwoProportion r = two_proportion(k.a, k.b, k.n);
        EXPECT_NEAR(r.z, k.z, 5e-4);
        EXPECT_NEAR(r.p_value, k.p, 5e-4 * k.p + 1e-5);
        EXPECT_NEAR(r.critical_difference, k.critical, 5e-6);
        EXPECT_EQ(r.significant, k.p < 0.05);
    }
    // The seed's printed values are wrong: make sure we do not reproduce them.
    EXPECT_GT(std::fabs(two_proportion(0.299, 0.262, 164).z - 0.82), 0.05);
}

TEST(TwoProportion, IsTheSeedsFormula) {
    const TwoProportion r = two_proportion(0.299, 0.262, 164);
    const double pooled = (0.299 * 164 + 0.262 * 164) / (2 * 164);
    const double se = std::sqrt(2 * pooled * (1 - pooled) / 164);
    EXPECT_NEAR(r.se, se, 1e-15);
    EXPECT_NEAR(r.z, (0.299 - 0.262) / se, 1e-12);
    EXPECT_NEAR(r.difference, 0.037, 1e-15);
    EXPECT_NEAR(r.mde, 0.139, 5e-4);  // §7: the 80 %-power MDE, 13.9 pp
    EXPECT_NEAR(r.wald_ci.upper - r.difference,
                1.959963984540054 * std::sqrt((0.299 * 0.701 + 0.262 * 0.738) / 164), 1e-12);
}

TEST(TwoProportion, NewcombeHybridIntervalIsHandComputed) {
    // p1 = 0.5, p2 = 0.3, n = 10 with Wilson limits computed from the Wilson formula.
    const double z = 1.959963984540054;
    const auto wilson = [&](double p, double n) {
        const double d = 1 + z * z / n;
        const double c = (p + z * z / (2 * n)) / d;
        const double h = z / d * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n));
        return std::pair{c - h, c + h};
    };
    const auto [l1, u1] = wilson(0.5, 10);
    const auto [l2, u2] = wilson(0.3, 10);
    const TwoProportion r = two_proportion(0.5, 0.3, 10);
    EXPECT_NEAR(r.ci.lower, 0.2 - std::sqrt((0.5 - l1) * (0.5 - l1) + (u2 - 0.3) * (u2 - 0.3)),
                1e-12);
    EXPECT_NEAR(r.ci.upper, 0.2 + std::sqrt((u1 - 0.5) * (u1 - 0.5) + (0.3 - l2) * (0.3 - l2)),
                1e-12);
}

TEST(TwoProportion, DegenerateProportions) {
    for (double p : {0.0, 1.0}) {
        const TwoProportion r = two_proportion(p, p, 50);
        EXPECT_EQ(r.se, 0.0);
        EXPECT_EQ(r.z, 0.0);
        EXPECT_EQ(r.p_value, 1.0);
        EXPECT_FALSE(r.significant);
    }
    const TwoProportion r = two_proportion(1.0, 0.0, 50);
    EXPECT_NEAR(r.z, 1.0 / std::sqrt(2 * 0.25 / 50), 1e-12);
    EXPECT_LT(r.p_value, 1e-10);
}

TEST(TwoProportion, RejectsBadInput) {
    EXPECT_THROW(two_proportion(0.5, 0.5, 0), Error);
    EXPECT_THROW(two_proportion(1.2, 0.5, 10), Error);
    EXPECT_THROW(two_proportion(0.5, -0.1, 10), Error);
    EXPECT_THROW(two_proportion(0.5, 0.4, 10, 0.0), Error);
}

}  // namespace qbench::stats
