// On a CUDA device: the CUDA-graph decode step gives the eager step's tokens, CUDA events time
// it, and the caching allocator's peaks are read. Skipped without a GPU.
#include <gtest/gtest.h>

#include "qbench/model/generate.hpp"
#include "qbench/perf/memory.hpp"
#include "qbench/perf/scenarios.hpp"
#include "qbench/perf/timer.hpp"
#include "support/fixtures.hpp"

namespace qbench::perf {
namespace {

using qbench::testing::model_fixture;

bool have_cuda() { return torch::cuda::is_available(); }

TEST(CudaGenerate, GraphReplayGivesTheEagerTokens) {
    if (!have_cuda()) GTEST_SKIP() << "no CUDA device";
    for (const char* name : qbench::testing::kModelFixtures) {
        auto model = model::Decoder::load(model_fixture(name) / "f32", {torch::kCUDA, torch::kFloat32, {}});
        const std::vector<model::TokenIds> prompts{{1, 7, 9, 12, 40}, {1, 3}, {1, 50, 51}};
        model::GenerateOptions o;
        o.max_new_tokens = 12;
        model::Generator graphed(*model, 3, 32, /*cuda_graph=*/true);
        model::Generator eager(*model, 3, 32, /*cuda_graph=*/false);
        const auto a = graphed.generate(prompts, o);
        const auto b = eager.generate(prompts, o);
        EXPECT_TRUE(a.cuda_graph) << name << ": " << a.note;
        for (std::size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(a.rows[i].tokens, b.rows[i].tokens) << name;
        // A second batch through the same captured graph.
        const auto c = graphed.generate({prompts[1]}, o);
        EXPECT_EQ(c.rows[0].tokens, b.rows[1].tokens) << name;
    }
}

TEST(CudaThroughput, DecodeIsTimedWithEventsAndMemoryPeaksAreRead) {
    if (!have_cuda()) GTEST_SKIP() << "no CUDA device";
    auto model = model::Decoder::load(model_fixture("llama_gqa_llama3") / "f32", {torch::kCUDA, torch::kFloat32, {}});
    ThroughputOptions o;
    o.batch_sizes = {1, 8};
    o.context = 32;
    o.decode_steps = 8;
    o.prefill_lengths = {64};
    o.warmup = 2;
    o.repetitions = 3;
    o.ci_target_percent = 0.0;
    const auto t = run_throughput(*model, o, {});
    EXPECT_EQ(t.environment.timing, "cuda_events");
    EXPECT_GT(t.environment.peak_copy_bytes_per_s, 1e10);
    EXPECT_TRUE(t.decode[0].cuda_graph) << t.decode[0].note;
    EXPECT_EQ(t.decode[0].samples_ns.size(), 24u);
    EXPECT_GT(t.memory.peak_allocated_bytes, 0);
    EXPECT_GE(t.memory.peak_reserved_bytes, t.memory.peak_allocated_bytes);
}

}  // namespace
}  // namespace qbench::perf
