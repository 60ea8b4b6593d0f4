// Readers treat a null (non-finite or missing) number where a result belongs as a failed value:
// never as zero, never passing a gate, shown as failed.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "qbench/report/comparison.hpp"
#include "qbench/report/derived.hpp"
#include "qbench/report/gates.hpp"
#include "qbench/report/report.hpp"
#include "qbench/report/reporter.hpp"

namespace qbench::report {
namespace {

using nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

VariantResult variant(std::string name, bool baseline, double nll_per_block) {
    VariantResult v;
    v.name = std::move(name);
    v.baseline = baseline;
    PerplexityResult r;
    r.protocol = "sliding";
    r.data_sha256 = "d";
    r.max_length = 16;
    r.stride = 6;
    for (int i = 0; i < 3; ++i) r.blocks.push_back({nll_per_block + 0.1 * i, 10});
    for (const auto& b : r.blocks) {
        r.nll_sum += b.nll_sum;
        r.tokens_scored += b.tokens;
    }
    r.ppl = std::exp(r.nll_sum / static_cast<double>(r.tokens_scored));
    v.perplexity.push_back(r);
    return v;
}

std::vector<GateSpec> gates(const std::string& text) { return gate_specs_from_json(json::parse(text)); }

TEST(FailedValues, NullPplFailsTheRatioGateEvenWithoutABound) {
    auto base = variant("base", true, 10);
    auto q = variant("q", false, 11);
    q.perplexity[0].ppl = kNaN;
    for (const char* g : {R"([{"metric":"perplexity_ratio","max":1.5}])", R"([{"metric":"perplexity_ratio","min":0}])",
                          R"([{"metric":"perplexity_ratio"}])"}) {
        const auto r = evaluate_gates({base, q}, gates(g));
        ASSERT_EQ(r.size(), 1u) << g;
        EXPECT_FALSE(r[0].passed) << g;
        EXPECT_NE(r[0].detail.find("PPL ratio (sliding) failed (null"), std::string::npos) << r[0].detail;
    }
    const auto c = compare_perplexity({base, q});
    ASSERT_EQ(c.size(), 1u);
    EXPECT_TRUE(c[0].failed);
    EXPECT_TRUE(std::isnan(c[0].ratio));
    EXPECT_FALSE(c[0].significant);
    EXPECT_EQ(c[0].note, "failed: the variant's perplexity is null");
    // a null baseline fails every variant's ratio
    base.perplexity[0].ppl = kNaN;
    q.perplexity[0].ppl = 2.0;
    EXPECT_EQ(compare_perplexity({base, q})[0].note, "failed: the baseline's perplexity is null");
    EXPECT_FALSE(evaluate_gates({base, q}, gates(R"([{"metric":"perplexity_ratio","max":9}])"))[0].passed);
}

TEST(FailedValues, NullKldAndTaskScoresFailTheirGates) {
    auto base = variant("base", true, 10);
    auto q = variant("q", false, 10);
    KldResult k;
    k.baseline = "base";
    k.protocol = "sliding";
    k.kld_mean = kNaN;
    q.kld = k;
    auto r = evaluate_gates({base, q}, gates(R"([{"metric":"kld","max":0.5}])"));
    ASSERT_EQ(r.size(), 1u);
    EXPECT_FALSE(r[0].passed);
    EXPECT_NE(r[0].detail.find("mean KLD failed"), std::string::npos) << r[0].detail;

    // A task whose variant scores are all null: no paired items, the gate fails; a metric value
    // of null is a failed value.
    TaskResult t;
    t.name = "arc";
    t.data_sha256 = "x";
    t.item_ids = {"0", "1", "2"};
    t.item_scores["acc"] = {1, 0, 1};
    t.metrics.push_back({"acc", 2.0 / 3, 0, 0, 1, true, 3});
    base.tasks.push_back(t);
    t.item_scores["acc"] = {kNaN, kNaN, kNaN};
    t.metrics[0].value = kNaN;
    q.tasks.push_back(t);
    r = evaluate_gates({base, q}, gates(R"([{"metric":"acc","task":"arc","max_drop":0.5}])"));
    ASSERT_EQ(r.size(), 1u);
    EXPECT_FALSE(r[0].passed) << r[0].detail;
    const auto f = failed_values({base, q});
    ASSERT_EQ(f.size(), 2u);
    EXPECT_EQ(f[0].what, "kld_mean (sliding)");
    EXPECT_EQ(f[1].what, "task arc acc");
}

TEST(FailedValues, AFailedVariantFailsEveryGate) {
    auto base = variant("base", true, 10);
    VariantResult failed;
    failed.name = "f16";
    failed.status = "failed";
    failed.error = "perplexity (sliding): window 0: float16 overflow";
    const auto r = evaluate_gates({base, failed, variant("q", false, 10)},
                                  gates(R"([{"metric":"perplexity_ratio","max":1.5}])"));
    ASSERT_EQ(r.size(), 2u);
    EXPECT_FALSE(r[0].passed);
    EXPECT_EQ(r[0].variant, "f16");
    EXPECT_EQ(r[0].detail, "the variant failed: perplexity (sliding): window 0: float16 overflow");
    EXPECT_TRUE(r[1].passed) << r[1].detail;
    const auto f = failed_values({base, failed});
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].what, "variant");
}

TEST(FailedValues, ANullOrMissingPplReadsAsFailedAndShowsAsFailed) {
    Report rep;
    rep.variants = {variant("base", true, 10), variant("q", false, 11)};
    json j = rep;
    j["variants"][1]["perplexity"][0]["ppl"] = nullptr;
    auto back = j.get<Report>();
    EXPECT_TRUE(std::isnan(back.variants[1].perplexity[0].ppl));
    j["variants"][1]["perplexity"][0].erase("ppl");
    back = j.get<Report>();
    EXPECT_TRUE(std::isnan(back.variants[1].perplexity[0].ppl)) << "missing, not zero";
    const auto f = failed_values(back.variants);
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].variant, "q");
    EXPECT_EQ(f[0].what, "perplexity (sliding)");

    std::ostringstream md;
    MarkdownReporter r(md);
    r.report_variants(back.variants, derive(back.variants, {}));
    EXPECT_NE(md.str().find("- q: perplexity (sliding): **failed** (null)"), std::string::npos) << md.str();
    EXPECT_NE(md.str().find("| q | sliding | **failed** | 30 |"), std::string::npos) << md.str();
    EXPECT_EQ(md.str().find("nan"), std::string::npos) << md.str();
}

}  // namespace
}  // namespace qbench::report
