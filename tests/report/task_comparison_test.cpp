// Paired task comparisons, Holm across tasks, quality gates, JUnit/Markdown outputs and the JSON
// round trip of task results — all from report data alone.
#include "qbench/report/task_comparison.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "qbench/report/gates.hpp"
#include "qbench/report/report.hpp"
#include "qbench/report/reporter.hpp"
#include "qbench/stats/paired.hpp"
#include "qbench/util/error.hpp"

namespace qbench::report {
namespace {

using nlohmann::json;

TaskResult task(const std::string& name, const std::string& metric, const std::vector<double>& scores) {
    TaskResult t;
    t.name = name;
    t.output_type = "multiple_choice";
    t.n = static_cast<std::int64_t>(scores.size());
    t.data_sha256 = "d" + name;
    double sum = 0;
    for (std::size_t i = 0; i < scores.size(); ++i) {
        t.item_ids.push_back(std::to_string(i));
        sum += scores[i];
    }
    t.item_scores[metric] = scores;
    TaskMetricResult m;
    m.name = metric;
    m.n = t.n;
    m.value = sum / static_cast<double>(scores.size());
    t.metrics.push_back(m);
    return t;
}

std::vector<double> ones_then_zeros(int ones, int zeros) {
    std::vector<double> v(static_cast<std::size_t>(ones), 1.0);
    v.insert(v.end(), static_cast<std::size_t>(zeros), 0.0);
    return v;
}

std::vector<VariantResult> two_variants() {
    VariantResult base, q;
    base.name = "fp16";
    base.baseline = true;
    q.name = "int4";
    // Task a: 100 items, baseline right on the first 80; the variant loses 20 of them and gains
    // none (b = 20, c = 0): a large, significant drop.
    base.tasks.push_back(task("a", "acc", ones_then_zeros(80, 20)));
    std::vector<double> qa = ones_then_zeros(60, 40);
    q.tasks.push_back(task("a", "acc", qa));
    // Task b: identical scores except one flip each way (b = c = 1).
    std::vector<double> bb = ones_then_zeros(50, 50), qb = bb;
    qb[0] = 0;
    qb[99] = 1;
    base.tasks.push_back(task("b", "acc", bb));
    q.tasks.push_back(task("b", "acc", qb));
    return {base, q};
}

TEST(TaskComparison, PairsItemsAndUsesThePairedStatistics) {
    const auto cmp = compare_tasks(two_variants());
    ASSERT_EQ(cmp.size(), 2u);
    const auto& a = cmp[0];
    EXPECT_EQ(a.variant, "int4");
    EXPECT_EQ(a.task, "a");
    EXPECT_EQ(a.n, 100);
    EXPECT_EQ(a.b, 20);
    EXPECT_EQ(a.c, 0);
    EXPECT_NEAR(a.difference, -0.2, 1e-12);
    EXPECT_NEAR(a.flips, 0.2, 1e-12);
    EXPECT_EQ(a.test, "mcnemar-midp");
    const auto ref = stats::paired_binary_counts(100, 20, 0);
    EXPECT_DOUBLE_EQ(a.p_value, ref.mcnemar.mid_p);
    EXPECT_DOUBLE_EQ(a.ci_lower, ref.ci.lower);
    EXPECT_DOUBLE_EQ(a.ci_upper, ref.ci.upper);
    EXPECT_DOUBLE_EQ(a.mde, ref.mde);
    // Holm over the two tasks: the smaller p doubles.
    EXPECT_DOUBLE_EQ(a.p_holm, std::min(1.0, 2 * a.p_value));
    EXPECT_TRUE(a.significant);
    EXPECT_EQ(cmp[1].b, 1);
    EXPECT_EQ(cmp[1].c, 1);
    EXPECT_FALSE(cmp[1].significant);
    EXPECT_DOUBLE_EQ(cmp[1].p_holm, 1.0);
}

TEST(TaskComparison, NonBinaryScoresUseThePairedT) {
    auto vs = two_variants();
    vs[0].tasks = {task("c", "pass@2", {0.5, 1.0, 0.0, 0.5})};
    vs[1].tasks = {task("c", "pass@2", {0.0, 1.0, 0.0, 0.5})};
    const auto cmp = compare_tasks(vs);
    ASSERT_EQ(cmp.size(), 1u);
    EXPECT_EQ(cmp[0].test, "paired-t");
    EXPECT_NEAR(cmp[0].difference, -0.125, 1e-12);
}

std::vector<GateSpec> gates_json(const std::string& text) { return gate_specs_from_json(json::parse(text)); }

TEST(Gates, DropWithSignificanceFailsAndTheRestPass) {
    const auto vs = two_variants();
    const auto results = evaluate_gates(
        vs, gates_json(R"([{"name":"a drop","metric":"acc","task":"a","max_drop":0.02,"significant":true},
                           {"name":"b drop","metric":"acc","task":"b","max_drop":0.02,"significant":true},
                           {"name":"b floor","metric":"acc","task":"b","min":0.4}])"));
    ASSERT_EQ(results.size(), 3u);
    EXPECT_FALSE(results[0].passed);
    EXPECT_NE(results[0].detail.find("drop 20.00 points > 2.00 and significant"), std::string::npos)
        << results[0].detail;
    EXPECT_TRUE(results[1].passed);
    EXPECT_TRUE(results[2].passed);
}

TEST(Gates, MissingMetricsFailPlainly) {
    const auto results = evaluate_gates(two_variants(), gates_json(R"([{"name":"kld","metric":"kld","max":0.05},
        {"name":"ppl","metric":"perplexity_ratio","max":1.02}, {"name":"x","metric":"acc","task":"zzz","min":0.1}])"));
    ASSERT_EQ(results.size(), 3u);
    for (const auto& r : results) EXPECT_FALSE(r.passed) << r.gate;
    EXPECT_NE(results[0].detail.find("no KLD"), std::string::npos);
}

// Items are paired by id; an id that names another document, prompt or target in the variant
// (another data file version, another few-shot draw) is refused, naming the item and the part.
TEST(TaskComparison, RefusesPairsWhoseItemHashesDiffer) {
    auto vs = two_variants();
    auto hashes = [](const TaskResult& t) {
        std::vector<std::string> h;
        for (const auto& id : t.item_ids) h.push_back("d" + id + ":p" + id + ":t" + id);
        return h;
    };
    for (auto& v : vs)
        for (auto& t : v.tasks) t.item_hashes = hashes(t);
    EXPECT_FALSE(compare_tasks(vs).empty());  // the same items: compared
    vs[1].tasks[0].item_hashes[7] = "d7:pX:t7";
    try {
        compare_tasks(vs);
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kBadInput);
        EXPECT_EQ(std::string(e.what()),
                  "task a item 7: the prompt differs between 'fp16' and 'int4' (d7:p7:t7 vs d7:pX:t7); a paired "
                  "comparison needs the same items");
    }
    // Reports from before item hashes (none recorded) still compare.
    for (auto& t : vs[1].tasks) t.item_hashes.clear();
    EXPECT_FALSE(compare_tasks(vs).empty());
}

TEST(Gates, JunitAndCiSummaryListFailures) {
    const auto vs = two_variants();
    const auto results = evaluate_gates(vs, gates_json(R"([{"name":"a <drop> & more","metric":"acc","task":"a","max_drop":0.02}])"));
    const auto xml = junit_xml(results);
    EXPECT_NE(xml.find("<testsuite name=\"qbench gates\" tests=\"1\" failures=\"1\""), std::string::npos) << xml;
    EXPECT_NE(xml.find("name=\"a &lt;drop&gt; &amp; more\""), std::string::npos);
    EXPECT_NE(xml.find("<failure message="), std::string::npos);
    const auto md = ci_summary_markdown(results, compare_tasks(vs));
    EXPECT_NE(md.find("**FAILED**: 1 of 1"), std::string::npos) << md;
    EXPECT_NE(md.find("| int4 | a | acc | 80.00 | 60.00 | -20.00 |"), std::string::npos) << md;
}

TEST(TaskResults, RoundTripThroughJsonAndRenderInMarkdown) {
    Report rep;
    rep.context.config = json{{"name", "t"}, {"gates", json::parse(R"([{"name":"g","metric":"acc","task":"a","max_drop":0.5}])")}};
    rep.variants = two_variants();
    rep.variants[0].tasks[0].subtasks.push_back({"sub", 3, rep.variants[0].tasks[0].metrics});
    rep.variants[0].tasks[0].note = "n";
    const json j = rep;
    EXPECT_EQ(j.get<Report>(), rep);

    std::ostringstream md;
    MarkdownReporter r(md);
    render(rep, r);
    EXPECT_NE(md.str().find("## Tasks"), std::string::npos);
    EXPECT_NE(md.str().find("| int4 | a | acc | 80.00 | 60.00 | -20.00 |"), std::string::npos) << md.str();
    EXPECT_NE(md.str().find("## Quality gates"), std::string::npos);
}

TEST(TaskResults, ItemScoresComeFromTheSamplesLogWhenTheReportLacksThem) {
    const auto dir = std::filesystem::temp_directory_path() / ("qbench-cmp-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir / "samples");
    std::ofstream(dir / "samples" / "a.jsonl") << R"({"doc_id":0,"scores":{"acc":1}}
{"doc_id":1,"subtask":"s","scores":{"acc":0}}
)";
    TaskResult t = task("a", "acc", {1, 0});
    t.item_ids.clear();
    t.item_scores.clear();
    t.samples_path = "samples/a.jsonl";
    ASSERT_TRUE(load_item_scores(t, dir));
    EXPECT_EQ(t.item_ids, (std::vector<std::string>{"0", "s/1"}));
    EXPECT_EQ(t.item_scores.at("acc"), (std::vector<double>{1, 0}));
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace qbench::report
