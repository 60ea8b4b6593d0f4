// The flags of `qbench bench` and `qbench ppl` start from the defaults the YAML schema declares
// (config/run_config.cpp), so a flag left out means what the key left out of a config means.
#include <gtest/gtest.h>

#include <filesystem>

#include "qbench/config/run_config.hpp"
#include "qbench/eval/api.hpp"

namespace qbench {
namespace {

const std::string kSource = QBENCH_SOURCE_DIR;

config::RunConfig parse(const std::string& sections) {
    return config::parse_run_config("variants:\n  - {name: a, model: " + kSource + "/models/qbench-tiny}\n" + sections,
                                    std::filesystem::path(kSource) / "configs" / "defaults.yaml");
}

TEST(OptionDefaults, BenchFlagsStartFromTheYamlThroughputDefaults) {
    const auto c = parse("throughput: {}\n");
    const perf::ThroughputOptions yaml = eval::throughput_options(*c.throughput, c.seed);
    const perf::ThroughputOptions flags = eval::throughput_defaults();
    const perf::ThroughputOptions plain{};  // what perf's own callers get
    for (const auto* o : {&flags, &plain}) {
        EXPECT_EQ(o->batch_sizes, yaml.batch_sizes);
        EXPECT_EQ(o->context, yaml.context);
        EXPECT_EQ(o->decode_steps, yaml.decode_steps);
        EXPECT_EQ(o->prefill_lengths, yaml.prefill_lengths);
        EXPECT_EQ(o->warmup, yaml.warmup);
        EXPECT_EQ(o->repetitions, yaml.repetitions);
        EXPECT_EQ(o->ci_target_percent, yaml.ci_target_percent);
        EXPECT_EQ(o->max_repetitions, yaml.max_repetitions);
        EXPECT_EQ(o->time_budget_s, yaml.time_budget_s);
        EXPECT_EQ(o->cuda_graph, yaml.cuda_graph);
        EXPECT_EQ(o->prompts, yaml.prompts);
        EXPECT_EQ(o->arrival, yaml.arrival);
        EXPECT_EQ(o->rate_per_s, yaml.rate_per_s);
        EXPECT_EQ(o->max_new_tokens, yaml.max_new_tokens);
        EXPECT_EQ(o->requests, yaml.requests);
        EXPECT_EQ(o->seed, yaml.seed);  // bench --seed and the run's seed
    }
}

// protocol, batch size and limit are shared; the window length is not: `ppl` resolves it from
// the model (min(2048, max_position_embeddings), stride its half) where the YAML has 512.
TEST(OptionDefaults, PplFlagsShareTheYamlPerplexityDefaults) {
    const auto c = parse("perplexity: {data: " + kSource + "/datasets/tinyworld/test.txt}\n");
    const auto flags = eval::ppl_command_defaults();
    EXPECT_EQ(flags.protocol, c.perplexity->protocols.front());
    EXPECT_EQ(flags.batch_size, c.perplexity->batch_size);
    EXPECT_EQ(flags.limit, c.perplexity->limit);
    EXPECT_EQ(flags.max_length, 0);
    EXPECT_EQ(flags.stride, 0);
    EXPECT_EQ(c.perplexity->max_length, 512);
}

}  // namespace
}  // namespace qbench
