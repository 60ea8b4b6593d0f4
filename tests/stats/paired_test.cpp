#include "qbench/stats/paired.hpp"
#include "qbench/stats/power.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "qbench/util/error.hpp"

namespace qbench::stats {

namespace {

constexpr double kZ95 = 1.959963984540054;

struct TableCase {
    PairedTable table;
    double confidence;
    double lower, upper;  // published / reference interval of (b − c)/n
    double tolerance;     // half a unit in the last printed digit, plus Newton's slack
};

}  // namespace

// reference/statistics.md §3.3: Tango intervals published in the ratesci test suite (Fagerland
// et al. 2014; Agresti & Min 2005) and recomputed there. The reference gives the interval of
// (b − c)/n; qbench's difference is (c − b)/n, so the interval is negated.
TEST(Paired, TangoMatchesPublishedExamples) {
    const TableCase cases[] = {
        {{4, 9, 3, 16}, 0.95, -0.027, 0.390, 6e-4},
        {{43, 0, 1, 0}, 0.90, -0.096, 0.037, 6e-4},
        {{53, 16, 8, 9}, 0.95, -0.020, 0.207, 6e-4},
        {{1, 1, 7, 12}, 0.95, -0.517, -0.026, 6e-4},
        {{14, 5, 0, 22}, 0.95, 0.0258, 0.2554, 6e-5},
        {{100, 40, 20, 0}, 0.95, 0.0309, 0.2181, 6e-5},
    };
    for (const auto& k : cases) {
        SCOPED_TRACE(testing::Message() << "table (" << k.table.both_right << ", " << k.table.b
                                        << ", " << k.table.c << ", " << k.table.both_wrong << ")");
        const Interval ci = tango_ci(k.table.n(), k.table.b, k.table.c, k.confidence);
        EXPECT_NEAR(ci.lower, -k.upper, k.tolerance);
        EXPECT_NEAR(ci.upper, -k.lower, k.tolerance);
    }
}

TEST(Paired, TangoScoreIsZScoreAtBothBounds) {
    // At each bound the score statistic equals ∓z, computed independently of the bisection.
    const std::int64_t n = 32, b = 9, c = 3;
    const Interval ci = tango_ci(n, b, c, 0.95);
    for (double bound : {ci.lower, ci.upper}) {
        const double delta = -bound;  // the bound of (b − c)/n
        const double a2 = 2.0 * n;
        const double b2 = -b - c + (2.0 * n - b + c) * delta;
        const double c2 = -c * delta * (1.0 - delta);
        const double p21 = (std::sqrt(b2 * b2 - 4.0 * a2 * c2) - b2) / (2.0 * a2);
        const double t = (b - c - n * delta) / std::sqrt(n * (2.0 * p21 + delta * (1.0 - delta)));
        EXPECT_NEAR(std::fabs(t), kZ95, 1e-9);
    }
}

TEST(Paired, TangoWithoutDiscordantPairsIsClosedForm) {
    // b = c = 0: |T(delta)| = sqrt(n·|delta| / (1 − |delta|)), so the bounds are ±z²/(n + z²).
    const Interval ci = tango_ci(50, 0, 0, 0.95);
    const double bound = kZ95 * kZ95 / (50.0 + kZ95 * kZ95);
    EXPECT_NEAR(ci.upper, bound, 1e-10);
    EXPECT_NEAR(ci.lower, -bound, 1e-10);
}

TEST(Paired, TangoReachesTheBoundWhenEveryItemFlips) {
    const Interval ci = tango_ci(10, 10, 0, 0.95);
    EXPECT_EQ(ci.lower, -1.0);
    EXPECT_LT(ci.upper, 0.0);
}

TEST(Paired, NewcombeMatchesReferenceExamples) {
    const TableCase cases[] = {
        {{4, 9, 3, 16}, 0.95, -0.0273, 0.3807, 6e-5},
        {{53, 16, 8, 9}, 0.95, -0.0201, 0.2039, 6e-5},
        {{1, 1, 7, 12}, 0.95, -0.5069, -0.0256, 6e-5},
        {{14, 5, 0, 22}, 0.95, 0.0115, 0.2265, 6e-5},
        {{100, 40, 20, 0}, 0.95, 0.0306, 0.2167, 6e-5},
    };
    for (const auto& k : cases) {
        SCOPED_TRACE(testing::Message() << "table (" << k.table.both_right << ", " << k.table.b
                                        << ", " << k.table.c << ", " << k.table.both_wrong << ")");
        const Interval ci = newcombe_paired_ci(k.table, k.confidence);
        EXPECT_NEAR(ci.lower, -k.upper, k.tolerance);
        EXPECT_NEAR(ci.upper, -k.lower, k.tolerance);
    }
}

TEST(Paired, WaldIsHandComputed) {
    // n = 32, b = 9, c = 3: d = −6/32, SE = sqrt(12 − 36/32)/32.
    const Interval ci = paired_wald_ci(32, 9, 3, 0.95);
    const double half = kZ95 * std::sqrt(12.0 - 36.0 / 32.0) / 32.0;
    EXPECT_NEAR(ci.lower, -0.1875 - half, 1e-12);
    EXPECT_NEAR(ci.upper, -0.1875 + half, 1e-12);
    const Interval zero = paired_wald_ci(20, 0, 0, 0.95);
    EXPECT_EQ(zero.lower, 0.0);
    EXPECT_EQ(zero.upper, 0.0);
}

TEST(Paired, CountsTableFromPerItemScores) {
    const std::vector<int> base{1, 1, 1, 0, 0, 1, 0, 1};
    const std::vector<int> quant{1, 0, 1, 1, 0, 0, 0, 1};
    const PairedTable t = paired_table(base, quant);
    EXPECT_EQ(t.both_right, 3);
    EXPECT_EQ(t.b, 2);
    EXPECT_EQ(t.c, 1);
    EXPECT_EQ(t.both_wrong, 2);

    const PairedComparison r = paired_binary(base, quant);
    EXPECT_EQ(r.n, 8);
    EXPECT_EQ(r.b, 2);
    EXPECT_EQ(r.c, 1);
    EXPECT_DOUBLE_EQ(r.difference, 4.0 / 8.0 - 5.0 / 8.0);  // mean(quant) − mean(base)
    EXPECT_DOUBLE_EQ(r.flips, 3.0 / 8.0);
    EXPECT_DOUBLE_EQ(r.flips_correct_to_incorrect, 2.0 / 8.0);
    EXPECT_DOUBLE_EQ(r.flips_incorrect_to_correct, 1.0 / 8.0);
    EXPECT_EQ(r.ci_method, "tango");
    EXPECT_DOUBLE_EQ(r.mcnemar.exact_p, 1.0);  // 2 · P(Bin(3, 1/2) <= 1) = 1
}

TEST(Paired, ComparisonFromCountsCollectsEveryPiece) {
    // Table (100, 40, 20, 0): n = 160.
    const PairedComparison r = paired_binary_counts(160, 40, 20, 0.95);
    EXPECT_DOUBLE_EQ(r.difference, -20.0 / 160.0);
    EXPECT_NEAR(r.ci.lower, -0.2181, 6e-5);
    EXPECT_NEAR(r.ci.upper, -0.0309, 6e-5);
    EXPECT_NEAR(r.mcnemar.exact_p, 0.013489, 1e-5);
    EXPECT_NEAR(r.mcnemar.mid_p, 0.009853, 1e-5);
    EXPECT_GT(r.flips_ci.lower, 0.0);
    EXPECT_LT(r.flips_ci.lower, 60.0 / 160.0);
    EXPECT_GT(r.flips_ci.upper, 60.0 / 160.0);
    EXPECT_GT(r.mde, 0.0);
}

TEST(Paired, NoDiscordantPairs) {
    const std::vector<int> same{1, 0, 1, 1, 0};
    const PairedComparison r = paired_binary(same, same);
    EXPECT_EQ(r.b + r.c, 0);
    EXPECT_EQ(r.difference, 0.0);
    EXPECT_EQ(r.flips, 0.0);
    EXPECT_EQ(r.mcnemar.exact_p, 1.0);
    EXPECT_EQ(r.wald_ci.lower, 0.0);
    EXPECT_EQ(r.wald_ci.upper, 0.0);
    EXPECT_LT(r.ci.lower, 0.0);
    EXPECT_GT(r.ci.upper, 0.0);
    // No discordant pairs: the MDE is the floor of McNemar's test at this n (0.939 at n = 5,
    // hand-computed by bisection), never 0.
    EXPECT_EQ(r.mde, mde_paired_floor(5));
    EXPECT_NEAR(r.mde, 0.939362, 1e-6);
    const PairedComparison big = paired_binary_counts(400, 0, 0, 0.95);
    EXPECT_NEAR(big.mde, mde_paired_floor(400), 1e-15);
    EXPECT_GT(big.mde, 0.015);  // about 7.85 / 400 = 0.0196
    EXPECT_LT(big.mde, 0.025);
}

TEST(Paired, RejectsBadInput) {
    EXPECT_THROW(paired_binary({}, {}), Error);
    EXPECT_THROW(paired_binary({1, 0}, {1}), Error);
    EXPECT_THROW(paired_binary({1, 2}, {1, 0}), Error);
    EXPECT_THROW(paired_binary_counts(0, 0, 0), Error);
    EXPECT_THROW(paired_binary_counts(10, 6, 5), Error);
    EXPECT_THROW(paired_binary_counts(10, -1, 5), Error);
    EXPECT_THROW(newcombe_paired_ci(PairedTable{}), Error);
}

}  // namespace qbench::stats
