#include "qbench/report/comparison.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace qbench::report {
namespace {

VariantResult variant(std::string name, bool baseline, std::vector<PerplexityBlock> blocks) {
    VariantResult v;
    v.name = std::move(name);
    v.baseline = baseline;
    PerplexityResult r;
    r.protocol = "gptq";
    r.data_sha256 = "d";
    r.max_length = 10;
    r.blocks = std::move(blocks);
    for (const auto& b : r.blocks) {
        r.nll_sum += b.nll_sum;
        r.tokens_scored += b.tokens;
    }
    r.ppl = std::exp(r.nll_sum / static_cast<double>(r.tokens_scored));
    v.perplexity.push_back(r);
    return v;
}

// Hand-computed: D = (1, 0.5, 1), t = 10 each: ln ratio = 2.5 / 30; residuals D - 0.8333 t =
// (1/6, -1/3, 1/6), SE = sqrt(3/2 x 1/6) / 30 = 1/60; t(0.975, 2) = 4.302653:
// ratio = e^(1/12) = 1.0869040, CI = e^(1/12 -+ 4.302653/60) = [1.0116903, 1.1677096].
TEST(ComparePerplexity, RatioIntervalOverBlocksMatchesHandComputation) {
    auto base = variant("fp16", true, {{10, 10}, {12, 10}, {11, 10}});
    auto q = variant("int4", false, {{11, 10}, {12.5, 10}, {12, 10}});
    auto c = compare_perplexity({base, q});
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].variant, "int4");
    EXPECT_NEAR(c[0].ratio, 1.086904049521229, 1e-12);
    EXPECT_NEAR(c[0].ratio_ci_lower, 1.0116902576535873, 1e-9);
    EXPECT_NEAR(c[0].ratio_ci_upper, 1.1677095869298717, 1e-9);
    EXPECT_TRUE(c[0].significant);
    EXPECT_EQ(c[0].blocks, 3);
}

TEST(ComparePerplexity, MismatchedWindowsAreNotCompared) {
    auto base = variant("fp16", true, {{10, 10}, {12, 10}});
    auto q = variant("int4", false, {{11, 10}, {12.5, 10}});
    q.perplexity[0].max_length = 20;
    EXPECT_TRUE(compare_perplexity({base, q}).empty());
    q.perplexity[0].max_length = 10;
    q.perplexity[0].blocks[0].tokens = 9;  // a different tokenization: no interval, a note
    auto c = compare_perplexity({base, q});
    ASSERT_EQ(c.size(), 1u);
    EXPECT_FALSE(c[0].note.empty());
    EXPECT_FALSE(c[0].significant);
}

TEST(ComparePerplexity, FailedOrMissingBaselineGivesNothing) {
    auto base = variant("fp16", true, {{10, 10}});
    base.status = "failed";
    EXPECT_TRUE(compare_perplexity({base, variant("q", false, {{11, 10}})}).empty());
}

}  // namespace
}  // namespace qbench::report
