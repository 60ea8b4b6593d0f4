// KLD results in reports: JSON round trip, the Markdown tables, comparisons.kld and the `kld`
// gate (pass, fail, missing, measured against another baseline) — from report data alone.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "qbench/report/gates.hpp"
#include "qbench/report/report.hpp"
#include "qbench/report/reporter.hpp"

namespace qbench::report {
namespace {

using nlohmann::json;

KldResult sample_kld() {
    KldResult k;
    k.baseline = "fp16";
    k.protocol = "sliding";
    k.top_k = 128;
    k.vocab_size = 32000;
    k.exact = false;
    k.tokens = 5;
    k.kld_mean = 0.0123;
    k.kld_se = 0.001;
    k.kld_ci_lower = 0.01;
    k.kld_ci_upper = 0.0146;
    for (double q : {0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0}) k.kld_percentiles.push_back({q, q / 10, q > 0.8});
    k.same_top = 0.9;
    k.same_top_ci_lower = 0.85;
    k.same_top_ci_upper = 0.95;
    k.delta_p_mean = -0.002;
    k.delta_p_ci_lower = -0.004;
    k.delta_p_ci_upper = std::numeric_limits<double>::quiet_NaN();
    k.delta_p_rms = 0.03;
    k.delta_p_percentiles = {{0.0, -0.2, false}, {0.5, 0.0, false}, {1.0, 0.1, true}};
    k.base_tail_mass_mean = 0.01;
    k.blocks = {{3, 0.04, 3, 0.0, 0.001}, {2, 0.0215, 1, -0.01, 0.002}};
    k.seconds = 0.5;
    return k;
}

std::vector<VariantResult> variants() {
    VariantResult base, q;
    base.name = "fp16";
    base.baseline = true;
    q.name = "int4";
    q.kld = sample_kld();
    return {base, q};
}

TEST(KldReport, JsonRoundTripKeepsEveryField) {
    Report r;
    r.variants = variants();
    const json j = r;
    EXPECT_EQ(j["variants"][1]["kld"]["top_k"], 128);
    EXPECT_TRUE(j["variants"][1]["kld"]["delta_p_ci"][1].is_null());
    EXPECT_FALSE(j["variants"][0].contains("kld"));
    Report back = j.get<Report>();
    ASSERT_TRUE(back.variants[1].kld.has_value());
    EXPECT_TRUE(std::isnan(back.variants[1].kld->delta_p_ci_upper));
    back.variants[1].kld->delta_p_ci_upper = r.variants[1].kld->delta_p_ci_upper = 0;  // NaN != NaN
    EXPECT_EQ(back, r);
    json bad = j;
    bad["variants"][1]["kld"]["kld_ci"] = json::array({1});
    EXPECT_ANY_THROW(bad.get<Report>());
}

TEST(KldReport, MarkdownAndJsonShowTheComparison) {
    Report r;
    r.variants = variants();
    r.variants[1].perplexity.push_back({});  // the Markdown perplexity section needs a result
    r.variants[1].perplexity[0].protocol = "sliding";
    std::ostringstream md;
    MarkdownReporter m(md);
    render(r, m);
    EXPECT_NE(md.str().find("### KL divergence against the baseline"), std::string::npos) << md.str();
    EXPECT_NE(md.str().find("| int4 | sliding | 5 | 128 / 32000 | 0.012300 | [0.010000, 0.014600] |"), std::string::npos)
        << md.str();
    EXPECT_NE(md.str().find("| 90.00 | [85.00, 95.00] |"), std::string::npos) << md.str();
    EXPECT_NE(md.str().find("| int4 | -0.200 |"), std::string::npos) << md.str();  // mean Δp in points
    const auto c = kld_comparisons_json(r.variants);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0]["variant"], "int4");
    EXPECT_DOUBLE_EQ(c[0]["kld_mean"].get<double>(), 0.0123);
}

TEST(KldReport, GatePassesFailsAndExplains) {
    auto gates = gate_specs_from_json(json::parse(R"([{"name":"loose","metric":"kld","max":0.05},
        {"name":"tight","metric":"kld","max":0.01}, {"name":"proto","metric":"kld","protocol":"gptq","max":1}])"));
    auto vs = variants();
    auto res = evaluate_gates(vs, gates);
    ASSERT_EQ(res.size(), 3u);
    EXPECT_TRUE(res[0].passed) << res[0].detail;
    EXPECT_NE(res[0].detail.find("mean KLD 0.0123"), std::string::npos) << res[0].detail;
    EXPECT_FALSE(res[1].passed);
    EXPECT_NE(res[1].detail.find("mean KLD 0.0123 > max 0.01"), std::string::npos) << res[1].detail;
    EXPECT_FALSE(res[2].passed);
    EXPECT_NE(res[2].detail.find("protocol 'sliding'"), std::string::npos) << res[2].detail;
    // `qbench compare --baseline int4-other`: the stored KLD was against fp16
    vs[0].baseline = false;
    VariantResult other;
    other.name = "other";
    other.baseline = true;
    vs.push_back(other);
    res = evaluate_gates(vs, gates);
    ASSERT_EQ(res.size(), 6u);  // fp16 and int4 for each gate
    EXPECT_EQ(res[0].variant, "fp16");
    EXPECT_NE(res[0].detail.find("no KLD result"), std::string::npos) << res[0].detail;
    EXPECT_EQ(res[1].variant, "int4");
    EXPECT_FALSE(res[1].passed);
    EXPECT_NE(res[1].detail.find("measured against 'fp16', not against the baseline 'other'"), std::string::npos)
        << res[1].detail;
}

}  // namespace
}  // namespace qbench::report
