// What the throughput scenarios measure (the YAML `throughput:` section and `qbench bench`).
// Plain data, no LibTorch, so the CLI can fill it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace qbench::perf {

struct ThroughputOptions {
    std::vector<std::int64_t> batch_sizes{1, 32};  // decode scenario, one run per batch size
    std::int64_t context = 512;           // cache length when the timed decode steps start
    std::int64_t decode_steps = 32;       // timed one-token steps per repetition
    std::vector<std::int64_t> prefill_lengths{512, 2048};  // prefill scenario (batch 1)
    std::int64_t warmup = 10;             // untimed iterations before timing (steps / prefills)
    std::int64_t repetitions = 5;         // timed repetitions of each scenario (at least)
    // More repetitions while the 95% interval of a scenario's tokens/s is wider than
    // +/- ci_target_percent of its mean (0: exactly `repetitions`), up to max_repetitions
    // (0: 4 x repetitions) and time_budget_s of timed time per scenario.
    double ci_target_percent = 5.0;
    std::int64_t max_repetitions = 0;
    double time_budget_s = 10.0;
    bool cuda_graph = true;               // replay the decode step as a CUDA graph on a GPU
    // End-to-end: requests from a prompt file (.jsonl, "input_ids" or "text" per line); empty
    // path: no end-to-end scenario.
    std::filesystem::path prompts;
    std::string arrival = "sequential";   // sequential | poisson
    double rate_per_s = 1.0;              // poisson: mean requests per second
    std::int64_t max_new_tokens = 128;
    std::int64_t requests = 0;            // 0: every prompt once
    std::uint64_t seed = 1234;            // random tokens and arrival times
};

}  // namespace qbench::perf
