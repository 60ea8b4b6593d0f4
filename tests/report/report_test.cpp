#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "qbench/report/report.hpp"
#include "qbench/report/reporter.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"

namespace qbench::report {
namespace {

using nlohmann::json;

PerplexityResult ppl_result(std::string protocol, double ppl, std::int64_t tokens) {
    PerplexityResult r;
    r.protocol = std::move(protocol);
    r.data_path = "/data/test.txt";
    r.data_sha256 = "ab12";
    r.max_length = 512;
    r.stride = r.protocol == "sliding" ? 256 : 0;
    r.input_tokens = 2048;
    r.nll_sum = std::log(ppl) * static_cast<double>(tokens);
    r.tokens_scored = tokens;
    r.ppl = ppl;
    r.blocks = {{r.nll_sum / 2, tokens / 2}, {r.nll_sum / 2, tokens - tokens / 2}};
    r.seconds = 1.25;
    return r;
}

LatencyStats latency(double base_ms) {
    return {4, base_ms, 0.5, base_ms - 1, base_ms + 1, base_ms, base_ms + 0.5, base_ms + 0.7, base_ms + 0.9,
            base_ms + 1, {"p99", "p99.9"}};
}

ThroughputResult throughput_result() {
    ThroughputResult t;
    DecodeResult d;
    d.batch_size = 32;
    d.context_tokens = 512;
    d.steps = 2;
    d.warmup = 10;
    d.repetitions = 2;
    d.samples_ns = {8.0e6, 8.5e6, 8.2e6, 8.1e6};
    d.repetition_tokens_per_s = {3878.8, 3926.4};
    d.tokens_per_s = 3902.4;
    d.ms_per_token = 8.2;
    d.step_latency = latency(8.2);
    d.bytes_per_step = 1.4e10;
    d.achieved_bytes_per_s = 1.7e12;
    d.bandwidth_fraction = 0.81;
    d.cuda_graph = true;
    d.warmup_seconds = 0.25;
    d.tokens_per_s_ci_lower = 3600.0;
    d.tokens_per_s_ci_upper = 4200.0;
    d.repetition_cv = 0.0086;
    d.slow_step_fraction = 0.25;
    t.decode = {d};
    PrefillResult p;
    p.sequence_tokens = 512;
    p.warmup = 10;
    p.repetitions = 3;
    p.samples_ns = {5e7, 5.1e7, 4.9e7};
    p.tokens_per_s = 10240.0;
    p.latency = latency(50.0);
    p.flop_per_token = 1.4e10;
    p.achieved_flop_per_s = 1.4e14;
    p.warmup_seconds = 0.5;
    p.repetition_tokens_per_s = {10240.0, 10039.2, 10449.0};
    p.tokens_per_s_ci_lower = 9731.0;
    p.tokens_per_s_ci_upper = 10754.0;
    p.repetition_cv = 0.02;
    t.prefill = {p};
    EndToEndResult e;
    e.prompts_path = "/data/prompts.jsonl";
    e.arrival = "poisson";
    e.rate_per_s = 2.0;
    e.max_new_tokens = 64;
    e.requests = {{12, 3, 0.25, 0.5, 20.0, 5.0, 30.0, {5.0, 5.0}}};
    e.ttft = latency(20.0);
    e.tpot = latency(5.0);
    e.itl = latency(5.0);
    e.e2e = latency(30.0);
    e.duration_s = 0.28;
    e.output_tokens_per_s = 10.7;
    t.end_to_end = e;
    t.memory = {2000, 4096, 3000, 4000, 123456};
    t.environment.device = "cuda";
    t.environment.timing = "cuda_events";
    t.environment.gpu_name = "NVIDIA H100";
    t.environment.sm_clock_mhz_start = 1980;
    t.environment.peak_copy_bytes_per_s = 2.1e12;
    t.environment.other_cpu_fraction = 0.35;
    t.environment.cpu_steal_fraction = 0.01;
    t.environment.load_average_start = 3.5;
    t.environment.cpu_mhz_start = 2450.0;
    t.environment.cpu_mhz_end = 2380.5;
    t.warnings = {"debug build"};
    return t;
}

CostResult cost_result() {
    CostResult c;
    c.throughput_basis = "decode batch 32 at context 512";
    c.tokens_per_s = 3902.4;
    c.quality_factor = 1.15;
    c.quality_basis = "ppl sliding vs baseline";
    c.calibration_usd = 14.0;
    c.tiers = {{"on_demand", 3.5, 1, 0.249, 0.014, 0.263, 0.302}};
    return c;
}

Report sample_report() {
    Report rep;
    RunContext& c = rep.context;
    c.qbench_version = "0.1.0";
    c.git_commit = "abc123";
    c.build_type = "Release";
    c.compiler = "GCC 12.2.0";
    c.libtorch_version = "2.13.0";
    c.cpu_model = "Test CPU";
    c.threads = 8;
    c.seed = 1234;
    c.device = "cpu";
    c.config = json{{"name", "demo"}, {"seed", 1234}};
    c.config_sha256 = "ff00";
    c.start_time = "2026-11-27T12:00:00.000Z";
    c.end_time = "2026-11-27T12:05:00.500Z";

    VariantResult base;
    base.name = "fp16";
    base.baseline = true;
    base.model = {"/models/tiny", "safetensors", "LlamaForCausalLM", "float16", "cpu",
                  1000, 2000, "none", {{"model.layers.0.mlp.up_proj", "dense"}}};
    base.perplexity = {ppl_result("sliding", 20.0, 1000), ppl_result("gptq", 16.0, 1022)};

    VariantResult q = base;
    q.name = "rtn-int4";
    q.baseline = false;
    q.model.weight_bytes = 600;
    q.model.quantization = "rtn:bits=4,group_size=32";
    q.model.quantization_info = {"rtn", "", "int", 4, 32, "group", false, "none", 2000, 3.33};
    q.perplexity = {ppl_result("sliding", 23.0, 1000)};
    PerplexityResult rolling = ppl_result("lm-eval-rolling", 30.0, 900);
    rolling.blocks = {{40.0, 400, 70, 350}, {50.0, 500, 80, 450}};
    rolling.word_perplexity = 100.5;
    rolling.byte_perplexity = 2.25;
    rolling.bits_per_byte = 1.17;
    q.perplexity.push_back(rolling);
    q.throughput = throughput_result();
    q.cost = cost_result();

    VariantResult failed;
    failed.name = "broken";
    failed.status = "failed";
    failed.error = "out of memory";
    rep.variants = {base, q, failed};
    return rep;
}

TEST(ReportJson, KeysCarryUnitsAndSchemaVersion) {
    const json j = sample_report();
    EXPECT_EQ(j["schema_version"], 1);
    const json& c = j["context"];
    for (const char* key : {"qbench_version", "git_commit", "build_type", "compiler",
                            "libtorch_version", "cuda_version", "gpu_name", "cpu_model", "threads",
                            "seed", "device", "config", "config_sha256", "start_time", "end_time"})
        EXPECT_TRUE(c.contains(key)) << key;
    EXPECT_EQ(c["config"]["name"], "demo");
    const json& m = j["variants"][0]["model"];
    EXPECT_EQ(m["weight_bytes"], 2000);
    EXPECT_EQ(m["num_parameters"], 1000);
    EXPECT_EQ(m["kernels"][0]["kernel"], "dense");
    const json& p = j["variants"][0]["perplexity"][0];
    EXPECT_EQ(p["protocol"], "sliding");
    EXPECT_EQ(p["max_length_tokens"], 512);
    EXPECT_EQ(p["stride_tokens"], 256);
    EXPECT_EQ(p["input_tokens"], 2048);
    EXPECT_EQ(p["tokens_scored"], 1000);
    EXPECT_DOUBLE_EQ(p["ppl"].get<double>(), 20.0);
    EXPECT_DOUBLE_EQ(p["seconds"].get<double>(), 1.25);
    EXPECT_FALSE(p.contains("word_perplexity"));
    ASSERT_EQ(p["blocks"].size(), 2u);
    EXPECT_EQ(p["blocks"][0].size(), 2u);  // nll_sum, tokens
    EXPECT_EQ(p["blocks"][0]["tokens"], 500);
    const json& r = j["variants"][1]["perplexity"][1];
    EXPECT_EQ(r["blocks"][1],
              json({{"nll_sum", 50.0}, {"tokens", 500}, {"words", 80}, {"bytes", 450}}));
    EXPECT_DOUBLE_EQ(r["word_perplexity"].get<double>(), 100.5);
    EXPECT_DOUBLE_EQ(r["bits_per_byte"].get<double>(), 1.17);
    EXPECT_EQ(j["variants"][2]["status"], "failed");
    EXPECT_EQ(j["variants"][2]["error"], "out of memory");
}

TEST(ReportJson, ThroughputAndCostKeysCarryUnits) {
    const json j = sample_report();
    EXPECT_FALSE(j["variants"][0].contains("throughput"));
    const json& t = j["variants"][1]["throughput"];
    const json& d = t["decode"][0];
    EXPECT_EQ(d["samples_ns"].size(), 4u);
    EXPECT_DOUBLE_EQ(d["tokens_per_s"].get<double>(), 3902.4);
    EXPECT_DOUBLE_EQ(d["step_latency"]["p50_ms"].get<double>(), 8.2);
    EXPECT_EQ(d["step_latency"]["undersampled"], json({"p99", "p99.9"}));
    EXPECT_DOUBLE_EQ(t["prefill"][0]["achieved_flop_per_s"].get<double>(), 1.4e14);
    EXPECT_DOUBLE_EQ(t["end_to_end"]["requests"][0]["ttft_ms"].get<double>(), 20.0);
    EXPECT_EQ(t["memory"]["peak_rss_bytes"], 123456);
    EXPECT_DOUBLE_EQ(t["environment"]["peak_copy_bytes_per_s"].get<double>(), 2.1e12);
    const json& c = j["variants"][1]["cost"];
    EXPECT_DOUBLE_EQ(c["tiers"][0]["usd_per_million_tokens"].get<double>(), 0.249);
    EXPECT_DOUBLE_EQ(c["tiers"][0]["quality_adjusted_usd_per_million_tokens"].get<double>(), 0.302);
}

TEST(ReportJson, RoundTripsThroughTextExactly) {
    const Report rep = sample_report();
    const Report back = json::parse(json(rep).dump()).get<Report>();
    EXPECT_EQ(back, rep);
}

TEST(ReportJson, ReportsWithoutLoadAndWarmupTimesStillRead) {
    Report rep = sample_report();
    rep.variants[1].model.load_seconds = 2.5;
    json j = rep;
    EXPECT_DOUBLE_EQ(j["variants"][1]["model"]["load_seconds"].get<double>(), 2.5);
    EXPECT_DOUBLE_EQ(j["variants"][1]["throughput"]["decode"][0]["warmup_seconds"].get<double>(), 0.25);
    EXPECT_DOUBLE_EQ(j["variants"][1]["throughput"]["prefill"][0]["warmup_seconds"].get<double>(), 0.5);
    for (auto& v : j["variants"]) {  // as an earlier qbench wrote them
        v["model"].erase("load_seconds");
        if (!v.contains("throughput") || v["throughput"].is_null()) continue;
        for (auto& d : v["throughput"]["decode"]) d.erase("warmup_seconds");
        for (auto& p : v["throughput"]["prefill"]) p.erase("warmup_seconds");
    }
    const Report back = j.get<Report>();
    EXPECT_EQ(back.variants[1].model.load_seconds, 0.0);
    EXPECT_EQ(back.variants[1].throughput->decode[0].warmup_seconds, 0.0);
}

TEST(ReportJson, NonFiniteNumbersBecomeNullAndReadBackAsNaN) {
    PerplexityResult r = ppl_result("sliding", 2.0, 10);
    r.ppl = std::numeric_limits<double>::infinity();
    const json j = r;
    EXPECT_TRUE(j["ppl"].is_null());
    EXPECT_TRUE(std::isnan(j.get<PerplexityResult>().ppl));
}

TEST(ReportJson, ReadReportRejectsNewerSchemaAndMissingKeysNamingTheFile) {
    const fs::path dir = fs::temp_directory_path() / "qbench_report_read_test";
    fs::remove_all(dir);
    json j = sample_report();
    j["schema_version"] = 2;
    write_file_atomic(dir / "new.json", j.dump());
    try {
        read_report(dir / "new.json");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kBadInput);
        EXPECT_NE(std::string(e.what()).find("new.json: schema_version 2"), std::string::npos)
            << e.what();
    }
    j["schema_version"] = 1;
    j["variants"][0].erase("model");
    write_file_atomic(dir / "bad.json", j.dump());
    try {
        read_report(dir / "bad.json");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kBadInput);
        EXPECT_NE(std::string(e.what()).find("bad.json: not a qbench report"), std::string::npos);
    }
    fs::remove_all(dir);
}

TEST(WriteReport, WritesBothFilesAtomicallyAndIdempotently) {
    const fs::path dir = fs::temp_directory_path() / "qbench_write_report_test";
    fs::remove_all(dir);
    Report rep = sample_report();
    write_report(rep, dir / "out");
    write_report(rep, dir / "out");
    rep.variants.pop_back();
    write_report(rep, dir / "out");
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir / "out")) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    EXPECT_TRUE(std::binary_search(names.begin(), names.end(), "report.json"));
    EXPECT_TRUE(std::binary_search(names.begin(), names.end(), "report.md"));
    for (const auto& n : names) EXPECT_EQ(n.find(".tmp"), std::string::npos) << n;  // no leftovers
    EXPECT_EQ(read_report(dir / "out" / "report.json"), rep);
    fs::remove_all(dir);
}

bool gnuplot_available() { return std::system("gnuplot --version >/dev/null 2>&1") == 0; }

std::string read_text(const fs::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(Plots, ParetoAndLatencyCdfAreDrawnAndEmbedded) {
    if (!gnuplot_available()) GTEST_SKIP() << "gnuplot is not installed";
    const fs::path dir = fs::temp_directory_path() / "qbench_plots_test";
    fs::remove_all(dir);
    write_report(sample_report(), dir);
    for (const char* f : {"pareto_speed.svg", "pareto_speed.png", "pareto_cost.svg", "pareto_cost.png",
                          "latency_cdf.svg", "latency_cdf.png", "request_latency_cdf.svg", "request_latency_cdf.png"}) {
        EXPECT_TRUE(fs::exists(dir / f)) << f;
    }
    EXPECT_NE(read_text(dir / "pareto_speed.svg").find("<svg"), std::string::npos);
    const std::string md = read_text(dir / "report.md");
    EXPECT_NE(md.find("![Quality vs decode speed (Pareto frontier)](pareto_speed.svg)"), std::string::npos);
    EXPECT_NE(md.find("## Throughput"), std::string::npos);
    EXPECT_NE(md.find("## Cost"), std::string::npos);
    fs::remove_all(dir);
}

TEST(Plots, WithoutGnuplotTheReportSaysTheyWereSkipped) {
    const fs::path dir = fs::temp_directory_path() / "qbench_plots_skip_test";
    fs::remove_all(dir);
    setenv("QBENCH_GNUPLOT", "/nonexistent/gnuplot", 1);
    write_report(sample_report(), dir);
    unsetenv("QBENCH_GNUPLOT");
    const std::string md = read_text(dir / "report.md");
    EXPECT_NE(md.find("plots skipped"), std::string::npos);
    EXPECT_FALSE(fs::exists(dir / "pareto_speed.svg"));
    EXPECT_TRUE(fs::exists(dir / "plots.gp"));
    fs::remove_all(dir);
}

// The blocks of a gnuplot data file (blank-line separated), each a list of (x, y) rows.
std::vector<std::vector<std::pair<double, double>>> data_blocks(const fs::path& p) {
    std::vector<std::vector<std::pair<double, double>>> blocks(1);
    std::ifstream in(p);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) {
            if (!blocks.back().empty()) blocks.emplace_back();
            continue;
        }
        if (line[0] == '#') continue;
        std::istringstream row(line);
        double x = 0, y = 0;
        row >> x >> y;
        blocks.back().emplace_back(x, y);
    }
    if (blocks.back().empty()) blocks.pop_back();
    return blocks;
}

TEST(Plots, LatencyCdfsAreEmpiricalCdfsFromZeroToOne) {
    const fs::path dir = fs::temp_directory_path() / "qbench_plots_cdf_test";
    fs::remove_all(dir);
    setenv("QBENCH_GNUPLOT", "/nonexistent/gnuplot", 1);  // the data files do not need gnuplot
    write_report(sample_report(), dir);
    unsetenv("QBENCH_GNUPLOT");
    // Decode: samples 8.0, 8.5, 8.2, 8.1 ms -> (8.0, 0), (8.0, .25), (8.1, .5), (8.2, .75), (8.5, 1).
    const auto decode = data_blocks(dir / "latency_cdf.dat");
    ASSERT_EQ(decode.size(), 1u);
    const std::vector<std::pair<double, double>> want = {{8.0, 0.0}, {8.0, 0.25}, {8.1, 0.5}, {8.2, 0.75}, {8.5, 1.0}};
    ASSERT_EQ(decode[0].size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        EXPECT_NEAR(decode[0][i].first, want[i].first, 1e-9) << i;
        EXPECT_NEAR(decode[0][i].second, want[i].second, 1e-12) << i;
    }
    // End-to-end: one request -> a TTFT block and an E2E block, each (x, 0), (x, 1).
    const auto requests = data_blocks(dir / "request_latency_cdf.dat");
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[0], (std::vector<std::pair<double, double>>{{20.0, 0.0}, {20.0, 1.0}}));
    EXPECT_EQ(requests[1], (std::vector<std::pair<double, double>>{{30.0, 0.0}, {30.0, 1.0}}));
    fs::remove_all(dir);
}

// A variant with only a task score and one decode measurement.
VariantResult task_variant(std::string name, double accuracy, double tokens_per_s) {
    VariantResult v;
    v.name = std::move(name);
    TaskResult t;
    t.name = "mmlu";
    t.output_type = "multiple_choice";
    t.n = 100;
    TaskMetricResult m;
    m.name = "acc";
    m.value = accuracy;
    m.n = 100;
    t.metrics = {m};
    v.tasks = {t};
    ThroughputResult th;
    DecodeResult d;
    d.batch_size = 1;
    d.samples_ns = {1e6};
    d.tokens_per_s = tokens_per_s;
    th.decode = {d};
    v.throughput = th;
    return v;
}

TEST(Plots, WithoutPerplexityTheQualityAxisIsTheFirstTaskScoreHigherIsBetter) {
    const fs::path dir = fs::temp_directory_path() / "qbench_plots_task_axis_test";
    fs::remove_all(dir);
    Report rep = sample_report();
    rep.variants = {task_variant("base_\"q\"", 0.80, 100.0), task_variant("fast", 0.70, 200.0),
                    task_variant("dominated", 0.60, 150.0)};
    rep.variants[0].baseline = true;
    setenv("QBENCH_GNUPLOT", "/nonexistent/gnuplot", 1);
    write_report(rep, dir);
    unsetenv("QBENCH_GNUPLOT");
    // Frontier, fastest first: fast (200, 70 %), then base (100, 80 %); dominated is beaten by fast.
    EXPECT_EQ(read_text(dir / "pareto_speed_frontier.dat"), "200 70 \"fast\"\n100 80 \"base_\\\"q\\\"\"\n");
    const std::string gp = read_text(dir / "plots.gp");
    EXPECT_NE(gp.find("mmlu acc % (higher is better)"), std::string::npos);
    EXPECT_NE(gp.find("noenhanced"), std::string::npos);  // "_" in names is not a subscript
    fs::remove_all(dir);
    if (!gnuplot_available()) GTEST_SKIP() << "gnuplot is not installed";
    write_report(rep, dir);  // the escaped name must not break the script
    EXPECT_TRUE(fs::exists(dir / "pareto_speed.svg")) << read_text(dir / "plots.log");
    EXPECT_TRUE(fs::exists(dir / "latency_cdf.png"));
    fs::remove_all(dir);
}

TEST(MarkdownReporter, TablesHavePplTokensAndTheRatioToTheBaselineWithItsInterval) {
    std::ostringstream out;
    MarkdownReporter md(out);
    render(sample_report(), md);
    const std::string text = out.str();
    EXPECT_NE(text.find("# qbench report: demo"), std::string::npos) << text;
    EXPECT_NE(text.find("seed 1234"), std::string::npos);
    EXPECT_NE(text.find("| rtn-int4 | sliding | 23.0000 | 1000 |"), std::string::npos) << text;
    EXPECT_NE(text.find("| fp16 | gptq | 16.0000 | 1022 |"), std::string::npos);
    // 23 / 20 = 1.15 on sliding; both blocks carry the same per-token NLL, so the interval is a
    // point. No baseline result for lm-eval-rolling: no comparison row.
    EXPECT_NE(text.find("| rtn-int4 | sliding | 20.0000 | 23.0000 | 1.1500 | [1.1500, 1.1500] | yes |"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("| rtn-int4 | lm-eval-rolling | 30"), text.find("| rtn-int4 | lm-eval-rolling | 30.0000 | 900 |"));
    EXPECT_NE(text.find("| broken |  |  | 0.0 | 0.00 | failed: out of memory |"), std::string::npos);
    EXPECT_NE(text.find("| fp16 (baseline) | none | float16 | 0.0 | 0.00 | ok |"), std::string::npos);
}

TEST(JsonReporter, WritesTheDocumentAtFinalize) {
    std::ostringstream out;
    JsonReporter reporter(out);
    const Report rep = sample_report();
    reporter.report_context(rep.context);
    reporter.report_variants(rep.variants, derive(rep.variants, {}));
    EXPECT_TRUE(out.str().empty());
    reporter.finalize();
    const auto j = json::parse(out.str());
    EXPECT_EQ(j.get<Report>(), rep);
    ASSERT_EQ(j["comparisons"]["perplexity"].size(), 1u);
    EXPECT_DOUBLE_EQ(j["comparisons"]["perplexity"][0]["ratio"].get<double>(), 23.0 / 20.0);
}

}  // namespace
}  // namespace qbench::report
