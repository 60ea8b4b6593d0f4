// Throughput scenarios on a tiny fixture model: shapes of the results, raw samples, warnings,
// and the bandwidth / FLOP bookkeeping.
#include "qbench/eval/local_model.hpp"
#include "qbench/perf/scenarios.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "qbench/model/random_weights.hpp"
#include "qbench/perf/bandwidth.hpp"
#include "qbench/perf/memory.hpp"
#include "qbench/perf/timer.hpp"
#include "qbench/util/error.hpp"
#include "support/fixtures.hpp"

namespace qbench::perf {
namespace {

using qbench::testing::model_fixture;

std::unique_ptr<model::Decoder> tiny() {
    return model::Decoder::load(model_fixture("llama_gqa_llama3") / "f32", {torch::kCPU, torch::kFloat32, {}});
}

ThroughputOptions small_options() {
    ThroughputOptions o;
    o.batch_sizes = {1, 4};
    o.context = 16;
    o.decode_steps = 5;
    o.prefill_lengths = {8, 32};
    o.warmup = 2;
    o.repetitions = 3;
    o.ci_target_percent = 0.0;  // exactly `repetitions`
    return o;
}

TEST(Timer, LapsAreTheGapsBetweenMarks) {
    LapTimer t(torch::kCPU);
    t.mark();
    t.mark();
    t.mark();
    const auto laps = t.laps_ns();
    ASSERT_EQ(laps.size(), 2u);
    for (double x : laps) EXPECT_GE(x, 0.0);
    EXPECT_TRUE(t.laps_ns().empty());
    EXPECT_EQ(timing_method(torch::kCPU), "steady_clock");
}

TEST(Scenarios, ANonFiniteOrZeroThroughputIsAnErrorNamingTheScenario) {
    EXPECT_DOUBLE_EQ(perf::checked_rate(10, 0.5, "decode batch 1 at context 8"), 20.0);
    for (const auto& [count, seconds] : {std::pair{10.0, 0.0}, {0.0, 0.0}, {0.0, 1.0}, {10.0, NAN}}) {
        try {
            perf::checked_rate(count, seconds, "decode batch 1 at context 8");
            FAIL() << count << " / " << seconds;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::kRuntime);
            EXPECT_EQ(std::string(e.what()).rfind("decode batch 1 at context 8: the throughput is ", 0), 0u) << e.what();
        }
    }
}

TEST(Scenarios, LatencyStatsAreInMillisecondsAndFlagTails) {
    const auto s = latency_stats_ms({1e6, 2e6, 3e6, 4e6, 5e6});
    EXPECT_EQ(s.n, 5);
    EXPECT_DOUBLE_EQ(s.mean_ms, 3.0);
    EXPECT_DOUBLE_EQ(s.p50_ms, 3.0);
    EXPECT_DOUBLE_EQ(s.max_ms, 5.0);
    EXPECT_EQ(s.undersampled, (std::vector<std::string>{"p50", "p90", "p95", "p99", "p99.9"}));  // n < 10 / (1 - q)
}

TEST(Scenarios, DecodeKeepsOneSamplePerStepAndCountsBytes) {
    auto model = tiny();
    const auto o = small_options();
    const auto r = run_decode(*model, 4, o, 1e10);
    EXPECT_EQ(r.batch_size, 4);
    EXPECT_EQ(r.context_tokens, 16);
    EXPECT_EQ(r.samples_ns.size(), 15u);
    EXPECT_EQ(r.repetition_tokens_per_s.size(), 3u);
    EXPECT_GT(r.tokens_per_s, 0.0);
    EXPECT_NEAR(r.tokens_per_s, 4.0 * 1e3 / r.ms_per_token, 1e-6 * r.tokens_per_s);
    EXPECT_EQ(r.step_latency.n, 15);
    EXPECT_FALSE(r.cuda_graph);
    // weights (tied embedding: read in full as the LM head) + K and V at context 16 + 5/2 + 2
    const auto& c = model->config();
    const double kv = 2.0 * c.num_layers * c.num_kv_heads * c.head_dim * 4.0 * 4 * (16 + 2 + 2);
    EXPECT_DOUBLE_EQ(r.bytes_per_step, static_cast<double>(model->weight_bytes()) + kv);
    EXPECT_NEAR(r.bandwidth_fraction, r.achieved_bytes_per_s / 1e10, 1e-12);
    EXPECT_TRUE(std::isnan(run_decode(*model, 1, o, 0.0).bandwidth_fraction));
}

TEST(Scenarios, PrefillTimesEachRepetition) {
    auto model = tiny();
    const auto r = run_prefill(*model, 32, small_options());
    EXPECT_EQ(r.samples_ns.size(), 3u);
    EXPECT_GT(r.tokens_per_s, 0.0);
    const auto& c = model->config();
    const double linear = c.num_layers * (2.0 * 32 * 32 + 2.0 * 32 * 16 + 3.0 * 32 * 48);
    EXPECT_DOUBLE_EQ(r.flop_per_token, 2 * linear + 4.0 * 2 * 4 * 8 * 33 / 2);
    EXPECT_DOUBLE_EQ(r.achieved_flop_per_s, r.flop_per_token * r.tokens_per_s);
}

TEST(Scenarios, EndToEndRecordsTtftTpotItlPerRequest) {
    auto model = tiny();
    auto o = small_options();
    o.max_new_tokens = 6;
    o.requests = 4;
    o.arrival = "poisson";
    o.rate_per_s = 200.0;
    qbench::eval::LocalModel local(*model, nullptr);
    const auto r = run_end_to_end(local, {{1, 5, 7, 9}, {1, 20}}, o);
    ASSERT_EQ(r.requests.size(), 4u);
    for (const auto& q : r.requests) {
        EXPECT_EQ(q.output_tokens, 6);
        EXPECT_EQ(q.itl_ms.size(), 5u);
        EXPECT_LE(q.ttft_ms, q.e2e_ms);
        EXPECT_NEAR(q.tpot_ms, (q.e2e_ms - q.ttft_ms) / 5.0, 1e-9);
        EXPECT_GE(q.queue_ms, 0.0);
    }
    EXPECT_LT(r.requests[0].arrival_s, r.requests[3].arrival_s);
    EXPECT_EQ(r.requests[1].prompt_tokens, 2);
    EXPECT_EQ(r.itl.n, 20);
    EXPECT_GT(r.output_tokens_per_s, 0.0);
    o.arrival = "burst";
    EXPECT_THROW(run_end_to_end(local, {{1, 2}}, o), Error);
}

TEST(Scenarios, ThroughputRunsEveryScenarioWithMemoryAndWarnings) {
    auto model = tiny();
    auto o = small_options();
    o.repetitions = 2;
    const auto t = run_throughput(*model, o, {});
    EXPECT_EQ(t.decode.size(), 2u);
    EXPECT_EQ(t.prefill.size(), 2u);
    EXPECT_FALSE(t.end_to_end.has_value());
    EXPECT_EQ(t.memory.weight_bytes, model->weight_bytes());
    EXPECT_GT(t.memory.kv_cache_bytes, 0);
    EXPECT_EQ(t.memory.peak_allocated_bytes, -1);
    EXPECT_GT(t.memory.peak_rss_bytes, 0);
    EXPECT_GT(t.environment.peak_copy_bytes_per_s, 0.0);
    EXPECT_EQ(t.environment.timing, "steady_clock");
    bool reps = false, tail = false;
    for (const auto& w : t.warnings) {
        reps = reps || w.find("repetitions") != std::string::npos;
        tail = tail || w.find("unreliable tail") != std::string::npos;
    }
    EXPECT_TRUE(reps);
    EXPECT_TRUE(tail);
}

// Linux: peak RSS after reset_peak_memory covers only what runs afterwards.
TEST(Memory, PeakRssCoversOnlyWhatRunsAfterTheReset) {
    const torch::Device cpu(torch::kCPU);
    if (!reset_peak_memory(cpu)) GTEST_SKIP() << "/proc/self/clear_refs cannot be written here";
    constexpr std::int64_t kMiB = 1 << 20;
    std::int64_t with_buffer = 0;
    {
        auto big = torch::ones({64 * kMiB}, torch::kFloat32);  // 256 MiB, every page touched
        with_buffer = memory_peaks(cpu).rss_bytes;
    }
    ASSERT_TRUE(reset_peak_memory(cpu));
    const std::int64_t after = memory_peaks(cpu).rss_bytes;
    EXPECT_GT(with_buffer, 256 * kMiB);
    EXPECT_LT(after, with_buffer - 200 * kMiB) << "the freed 256 MiB buffer still counts in the peak";
}

TEST(Scenarios, PeakRssLeavesOutTheBandwidthProbesBuffers) {
    if (!reset_peak_memory(torch::Device(torch::kCPU))) GTEST_SKIP() << "/proc/self/clear_refs cannot be written";
    auto model = tiny();
    auto o = small_options();
    o.batch_sizes = {1};
    o.prefill_lengths = {8};
    const auto t = run_throughput(*model, o, {});
    // The probe copies 256 MiB on the CPU (a 256 MiB source and destination live at once, 512 MiB)
    // before the reset. This model and its caches take well under 1 MiB and the test process
    // (LibTorch loaded) about 100-150 MiB, so a peak under 400 MiB can only leave the probe out.
    EXPECT_LT(t.memory.peak_rss_bytes, std::int64_t{400} << 20);
    EXPECT_GT(t.memory.peak_rss_bytes, 0);
}

TEST(RandomWeights, BuildADecoderFromAConfigAlone) {
    const auto config = model::load_model_config(model_fixture("qwen2_bias_swa") / "f32");
    model::RandomWeights weights(config, 3);
    auto a = model::Decoder::load(config, weights, {torch::kCPU, torch::kFloat32, {}});
    auto b = model::Decoder::load(config, model::RandomWeights(config, 3), {torch::kCPU, torch::kFloat32, {}});
    auto ids = torch::tensor({1, 5, 9, 4}, torch::kInt64).view({1, 4});
    EXPECT_TRUE(a->forward(ids).equal(b->forward(ids)));
    EXPECT_EQ(a->config().num_parameters() * 4, a->weight_bytes());
    EXPECT_THROW(weights.shape("model.nothing"), Error);
}

// Every supported architecture (one fixture each) loads from its config alone, with exactly the
// parameters the config declares, and runs a finite forward.
TEST(RandomWeights, EveryArchitectureLoadsFromItsConfigAlone) {
    for (const char* fixture : {"llama_gqa_llama3", "llama_linear_bias", "mistral_swa", "qwen2_bias_swa",
                                "qwen3_qknorm", "gemma3_swa"}) {
        SCOPED_TRACE(fixture);
        const auto config = model::load_model_config(model_fixture(fixture) / "f32");
        auto m = model::Decoder::load(config, model::RandomWeights(config, 5), {torch::kCPU, torch::kFloat32, {}});
        EXPECT_EQ(m->config().num_parameters() * 4, m->weight_bytes());
        const auto logits = m->forward(torch::tensor({1, 5, 9, 4}, torch::kInt64).view({1, 4}));
        EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
    }
}

}  // namespace
}  // namespace qbench::perf
