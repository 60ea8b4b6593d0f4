// `qbench bench` and the throughput / cost sections of `qbench run`, end to end on a tiny
// fixture model with tiny settings (the numbers are meaningless; the contract is what is tested).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "run_qbench.hpp"
#include "serve/fake_server.hpp"

namespace qbench::testing_cli {
namespace {

namespace fs = std::filesystem;

const std::string kModel = std::string(QBENCH_SOURCE_DIR) + "/tests/fixtures/models/llama_gqa_llama3/f32";

TEST(BenchCli, JsonHasDecodePrefillMemoryAndEnvironment) {
    const RunResult r = run_qbench({"bench", kModel, "--batch-sizes", "1,2", "--context", "8", "--steps", "3",
                                    "--prefill", "16", "--warmup", "1", "--repetitions", "2", "--ci-target", "0",
                                    "--dtype", "float32", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    const auto& t = j.at("throughput");
    ASSERT_EQ(t.at("decode").size(), 2u);
    EXPECT_EQ(t["decode"][1]["batch_size"], 2);
    EXPECT_EQ(t["decode"][1]["samples_ns"].size(), 6u);
    EXPECT_GT(t["decode"][0]["tokens_per_s"].get<double>(), 0.0);
    EXPECT_EQ(t["prefill"][0]["sequence_tokens"], 16);
    EXPECT_EQ(t["environment"]["timing"], "steady_clock");
    EXPECT_GT(t["memory"]["weight_bytes"].get<std::int64_t>(), 0);
    EXPECT_EQ(j["model"]["architecture"], "LlamaForCausalLM");
}

TEST(BenchCli, RandomWeightsNeedOnlyConfigJson) {
    const fs::path dir = fs::path(::testing::TempDir()) / "qbench_bench_random";
    fs::create_directories(dir);
    fs::copy_file(fs::path(kModel) / "config.json", dir / "config.json", fs::copy_options::overwrite_existing);
    const RunResult r = run_qbench({"bench", dir.string(), "--random-weights", "--batch-sizes", "1", "--context",
                                    "4", "--steps", "2", "--prefill", "8", "--warmup", "0", "--repetitions", "1",
                                    "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["model"]["format"], "random");
    const RunResult bad = run_qbench({"bench", dir.string()});
    EXPECT_EQ(bad.exit_code, 2) << bad.err;
    fs::remove_all(dir);
}

TEST(BenchCli, OutOfRangeSettingsAreOneLineErrorsBeforeTheModelLoads) {
    // A model path that does not exist: the settings must be rejected first (exit 2, one line).
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"--batch-sizes", "1,0"}, "every decode batch size must be at least 1, got 0"},
        {{"--prefill", "0"}, "every prefill length must be at least 1, got 0"},
        {{"--steps", "0"}, "decode steps must be at least 1"},
        {{"--repetitions", "0"}, "repetitions must be at least 1"},
        {{"--context", "-1"}, "context must be at least 0"},
        {{"--arrival", "bursty"}, "arrival 'bursty' is not one of sequential, poisson"},
        {{"--rate", "-1"}, "the poisson rate must be a finite number of requests per second above 0, got -1"},
        {{"--max-new-tokens", "0"}, "max new tokens must be at least 1"},
    };
    for (const auto& [args, message] : cases) {
        std::vector<std::string> argv = {"bench", "/nonexistent/model"};
        argv.insert(argv.end(), args.begin(), args.end());
        const RunResult r = run_qbench(argv);
        EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.err;
        EXPECT_NE(r.err.find("qbench: error: throughput: " + message), std::string::npos) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
    const RunResult threads = run_qbench({"bench", kModel, "--threads", "-3"});
    EXPECT_EQ(threads.exit_code, 2);
    EXPECT_NE(threads.err.find("threads must be at least 0"), std::string::npos) << threads.err;
}

TEST(BenchCli, ScenariosBeyondTheModelsPositionsAreTimedWithAWarning) {
    const RunResult r = run_qbench({"bench", kModel, "--batch-sizes", "1", "--context", "600", "--steps", "1",
                                    "--prefill", "4", "--warmup", "0", "--repetitions", "1", "--dtype", "float32",
                                    "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    const auto& w = j["throughput"]["warnings"];
    EXPECT_TRUE(std::any_of(w.begin(), w.end(), [](const auto& x) {
        return x.template get<std::string>().find("beyond the model's max_position_embeddings") != std::string::npos;
    })) << w.dump();
}

TEST(RunCli, ThroughputAndCostSectionsReachTheReport) {
    const fs::path dir = fs::path(::testing::TempDir()) / "qbench_run_throughput";
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::ofstream(dir / "run.yaml") << "name: perf\ndtype: float32\nvariants:\n"
                                    << "  - {name: f32, model: " << kModel << "}\n"
                                    << "  - {name: bf16, model: " << kModel
                                    << ", dtype: bfloat16, calibration_gpu_hours: 2}\n"
                                    << "perplexity: {data: " << QBENCH_SOURCE_DIR
                                    << "/tests/fixtures/models/data.jsonl, max_length: 16}\n"
                                    << "throughput: {batch_sizes: [1, 2], context: 8, decode_steps: 3, "
                                       "prefill_lengths: [16], warmup: 1, repetitions: 2}\n"
                                    << "cost: {on_demand_usd_per_hour: 3.5, spot_usd_per_hour: 1.2, "
                                       "served_tokens: 1e6}\n";
    const RunResult r = run_qbench({"-q", "run", (dir / "run.yaml").string(), "--out", (dir / "out").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::ifstream in(dir / "out" / "report.json");
    const auto j = nlohmann::json::parse(in);
    const auto& bf16 = j["variants"][1];
    EXPECT_EQ(bf16["throughput"]["decode"].size(), 2u);
    const auto& cost = bf16["cost"];
    EXPECT_EQ(cost["throughput_basis"], "decode batch 2 at context 8");
    ASSERT_EQ(cost["tiers"].size(), 2u);
    EXPECT_EQ(cost["tiers"][1]["name"], "spot");
    // calibration: 2 GPU-hours x 3.5 $ over 1e6 tokens = 7 $ per million
    EXPECT_NEAR(cost["tiers"][0]["calibration_usd_per_million_tokens"].get<double>(), 7.0, 1e-9);
    const double ppl_ratio = bf16["perplexity"][0]["ppl"].get<double>() / j["variants"][0]["perplexity"][0]["ppl"].get<double>();
    EXPECT_NEAR(cost["quality_factor"].get<double>(), ppl_ratio, 1e-12);
    EXPECT_DOUBLE_EQ(j["variants"][0]["cost"]["quality_factor"].get<double>(), 1.0);
    EXPECT_EQ(j["context"]["config"]["throughput"]["batch_sizes"], nlohmann::json::array({1, 2}));
    std::ifstream md_in(dir / "out" / "report.md");
    const std::string md((std::istreambuf_iterator<char>(md_in)), {});
    EXPECT_NE(md.find("## Throughput"), std::string::npos);
    EXPECT_NE(md.find("## Cost"), std::string::npos);
    EXPECT_NE(md.find("## Plots"), std::string::npos);
    fs::remove_all(dir);
}

TEST(RunCli, WithoutPerplexityTheCostsQualityFactorComesFromTheFirstTask) {
    const fs::path dir = fs::path(::testing::TempDir()) / "qbench_run_cost_tasks";
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string tiny = std::string(QBENCH_SOURCE_DIR) + "/models/qbench-tiny";
    std::ofstream(dir / "run.yaml") << "name: cost-tasks\ndtype: float32\nvariants:\n"
                                    << "  - {name: base, model: " << tiny << ", baseline: true}\n"
                                    << "  - {name: int2, model: " << tiny
                                    << ", quantize: 'rtn:bits=2,group_size=32,sym=false'}\n"
                                    << "tasks: {names: [tinyworld_mc], limit: 40}\n"
                                    << "throughput: {batch_sizes: [1], context: 8, decode_steps: 2, "
                                       "prefill_lengths: [8], warmup: 0, repetitions: 1}\n"
                                    << "cost: {on_demand_usd_per_hour: 1.0}\n";
    const RunResult r = run_qbench({"-q", "run", (dir / "run.yaml").string(), "--out", (dir / "out").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::ifstream in(dir / "out" / "report.json");
    const auto j = nlohmann::json::parse(in);
    const double base = j["variants"][0]["tasks"][0]["metrics"][0]["value"].get<double>();
    const double int2 = j["variants"][1]["tasks"][0]["metrics"][0]["value"].get<double>();
    ASSERT_GT(int2, 0.0);
    const auto& cost = j["variants"][1]["cost"];
    EXPECT_NEAR(cost["quality_factor"].get<double>(), base / int2, 1e-12);
    EXPECT_NE(cost["quality_basis"].get<std::string>().find("tinyworld_mc"), std::string::npos) << cost.dump();
    const auto& tier = cost["tiers"][0];
    EXPECT_NEAR(tier["quality_adjusted_usd_per_million_tokens"].get<double>(),
                tier["total_usd_per_million_tokens"].get<double>() * base / int2, 1e-9);
    fs::remove_all(dir);
}


// `bench --server --usd-per-hour`: $ per million output tokens of each run, and at the highest
// rate meeting the SLO (the instance's price over that run's output tokens/s).
TEST(BenchCli, ServedCostAtTheHighestRateMeetingTheSlo) {
    testing_serve::FakeServer server({"--ttft-ms", "5", "--itl-ms", "1"});
    const auto r = run_qbench({"-q", "bench", "--server", server.url(), "--prompts",
                               std::string(QBENCH_SOURCE_DIR) + "/datasets/tinyworld/prompts.jsonl", "--arrival",
                               "constant", "--rate", "20", "--requests", "4", "--max-new-tokens", "3",
                               "--slo-ttft-p99-ms", "5000", "--find-max-rate", "--usd-per-hour", "2", "--gpus", "3",
                               "--no-requests", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    const double best = j.at("server").at("max_rate_meeting_slo").get<double>();
    const auto& cost = j.at("cost");
    EXPECT_EQ(cost.at("gpus"), 3);
    int marked = 0;
    for (const auto& c : cost.at("runs")) {
        const double tps = c.at("output_tokens_per_s").get<double>();
        EXPECT_NEAR(c.at("usd_per_million_tokens").get<double>(), 2.0 * 3 / (tps * 3600.0) * 1e6, 1e-9);
        if (c.at("at_slo_rate").get<bool>()) {
            ++marked;
            EXPECT_DOUBLE_EQ(c.at("rate_per_s").get<double>(), best);
            EXPECT_DOUBLE_EQ(cost.at("usd_per_million_tokens_at_slo_rate").get<double>(),
                             c.at("usd_per_million_tokens").get<double>());
        }
    }
    EXPECT_EQ(marked, 1);
    // Without a price there is no cost block.
    const auto plain = run_qbench({"-q", "bench", "--server", server.url(), "--prompts",
                                   std::string(QBENCH_SOURCE_DIR) + "/datasets/tinyworld/prompts.jsonl", "--requests",
                                   "2", "--max-new-tokens", "2", "--no-requests", "--json"});
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    EXPECT_FALSE(nlohmann::json::parse(plain.out).contains("cost"));
}

}  // namespace
}  // namespace qbench::testing_cli
