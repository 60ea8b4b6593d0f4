#include "qbench/stats/perplexity_ci.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "qbench/util/error.hpp"

namespace qbench::stats {

namespace {
constexpr double kT2 = 4.302652729749462;  // t_{2, 0.975}
}  // namespace

TEST(PerplexityRatio, EqualBlocksGiveBatchMeansInterval) {
    // D_c = 1, 2, 3 over 10 tokens each: ln ratio 0.2, SE = sd(0.1, 0.2, 0.3)/sqrt(3).
    const std::vector<Block> a{{11, 10}, {12, 10}, {13, 10}};
    const std::vector<Block> b{{10, 10}, {10, 10}, {10, 10}};
    const PerplexityRatio r = ppl_ratio_ci(a, b, 0.95);
    EXPECT_EQ(r.blocks, 3);
    EXPECT_EQ(r.tokens, 30);
    EXPECT_NEAR(r.ppl_a, std::exp(1.2), 1e-12);
    EXPECT_NEAR(r.ppl_b, std::exp(1.0), 1e-12);
    EXPECT_NEAR(r.ln_ratio, 0.2, 1e-14);
    EXPECT_NEAR(r.ratio, std::exp(0.2), 1e-12);
    const double se = 0.1 / std::sqrt(3.0);
    EXPECT_NEAR(r.se_ln_ratio, se, 1e-14);
    EXPECT_NEAR(r.ln_ratio_ci.lower, 0.2 - kT2 * se, 1e-9);
    EXPECT_NEAR(r.ln_ratio_ci.upper, 0.2 + kT2 * se, 1e-9);
    EXPECT_NEAR(r.ratio_ci.lower, std::exp(0.2 - kT2 * se), 1e-9);
    EXPECT_EQ(r.method, "block-t");
}

TEST(PerplexityRatio, UnequalBlocksUseTheRatioEstimator) {
    // t = 10, 20, 30 and D = 1, 3, 2: ln ratio 6/60 = 0.1; residuals D − 0.1·t = 0, 1, −1;
    // SE = sqrt(3/2 · 2)/60.
    const std::vector<Block> a{{5, 10}, {9, 20}, {8, 30}};
    const std::vector<Block> b{{4, 10}, {6, 20}, {6, 30}};
    const PerplexityRatio r = ppl_ratio_ci(a, b, 0.95);
    EXPECT_NEAR(r.ln_ratio, 0.1, 1e-14);
    EXPECT_NEAR(r.se_ln_ratio, std::sqrt(3.0) / 60.0, 1e-14);
}

TEST(PerplexityRatio, IdenticalVariantsGiveRatioOne) {
    const std::vector<Block> a{{11, 10}, {7, 8}, {30, 25}};
    const PerplexityRatio r = ppl_ratio_ci(a, a);
    EXPECT_EQ(r.ratio, 1.0);
    EXPECT_EQ(r.ratio_ci.lower, 1.0);
    EXPECT_EQ(r.ratio_ci.upper, 1.0);
    const PerplexityRatio boot = ppl_ratio_bootstrap(a, a, 0.95, 200, 1);
    EXPECT_EQ(boot.ratio_ci.lower, 1.0);
    EXPECT_EQ(boot.ratio_ci.upper, 1.0);
}

TEST(PerplexityRatio, SingleBlockHasNoInterval) {
    const PerplexityRatio r = ppl_ratio_ci({{12, 10}}, {{10, 10}});
    EXPECT_NEAR(r.ln_ratio, 0.2, 1e-14);
    EXPECT_TRUE(std::isnan(r.se_ln_ratio));
    EXPECT_EQ(r.ratio_ci.lower, 0.0);
    EXPECT_TRUE(std::isinf(r.ratio_ci.upper));
}

TEST(PerplexityRatio, BootstrapOfProportionalBlocksIsExact) {
    // D_c / t_c = 0.05 in every block, so every resample gives 0.05.
    const std::vector<Block> a{{10.5, 10}, {21, 20}, {5.25, 5}};
    const std::vector<Block> b{{10, 10}, {20, 20}, {5, 5}};
    const PerplexityRatio r = ppl_ratio_bootstrap(a, b, 0.95, 500, 7);
    EXPECT_NEAR(r.ln_ratio_ci.lower, 0.05, 1e-12);
    EXPECT_NEAR(r.ln_ratio_ci.upper, 0.05, 1e-12);
    EXPECT_EQ(r.method, "block-bootstrap");
    EXPECT_EQ(r.resamples, 500);
    EXPECT_EQ(r.seed, 7u);
}

TEST(PerplexityRatio, BootstrapIsReproducibleAndAgreesWithTheAnalyticInterval) {
    // 400 blocks of 64 tokens with a deterministic spread of per-block differences.
    std::vector<Block> a;
    std::vector<Block> b;
    for (int i = 0; i < 400; ++i) {
        const double d = 0.02 * 64 + 0.5 * std::sin(0.7 * i) + 0.3 * std::cos(2.3 * i);
        b.push_back({150.0 + i % 17, 64});
        a.push_back({150.0 + i % 17 + d, 64});
    }
    const PerplexityRatio t = ppl_ratio_ci(a, b);
    const PerplexityRatio x = ppl_ratio_bootstrap(a, b, 0.95, 4000, 42);
    const PerplexityRatio y = ppl_ratio_bootstrap(a, b, 0.95, 4000, 42);
    const PerplexityRatio z = ppl_ratio_bootstrap(a, b, 0.95, 4000, 43);
    EXPECT_EQ(x.ln_ratio_ci.lower, y.ln_ratio_ci.lower);
    EXPECT_EQ(x.ln_ratio_ci.upper, y.ln_ratio_ci.upper);
    EXPECT_NE(x.ln_ratio_ci.lower, z.ln_ratio_ci.lower);
    EXPECT_DOUBLE_EQ(x.ln_ratio, t.ln_ratio);
    EXPECT_LT(x.ln_ratio_ci.lower, x.ln_ratio);
    EXPECT_GT(x.ln_ratio_ci.upper, x.ln_ratio);
    // With C = 400 both estimate the same SE; the bootstrap SE uses divisor C, not C − 1.
    EXPECT_NEAR(x.se_ln_ratio / t.se_ln_ratio, 1.0, 0.08);
    const double t_width = t.ln_ratio_ci.upper - t.ln_ratio_ci.lower;
    const double x_width = x.ln_ratio_ci.upper - x.ln_ratio_ci.lower;
    EXPECT_NEAR(x_width / t_width, 1.0, 0.1);
}

TEST(PerplexityRatio, RejectsMismatchedBlocks) {
    EXPECT_THROW(ppl_ratio_ci({}, {}), Error);
    EXPECT_THROW(ppl_ratio_ci({{1, 10}}, {{1, 10}, {2, 10}}), Error);
    EXPECT_THROW(ppl_ratio_ci({{1, 10}}, {{1, 11}}), Error);
    EXPECT_THROW(ppl_ratio_ci({{1, 0}}, {{1, 0}}), Error);
    EXPECT_THROW(ppl_ratio_ci({{NAN, 3}}, {{1, 3}}), Error);
    EXPECT_THROW(ppl_ratio_bootstrap({{1, 10}, {2, 10}}, {{1, 10}, {2, 10}}, 0.95, 1), Error);
}

}  // namespace qbench::stats
