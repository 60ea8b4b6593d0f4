// Load tests of a served model: streamed /v1/completions requests at an arrival profile, every
// SSE chunk timestamped on arrival, many requests in flight at once on one curl multi loop (one
// thread, so the timestamps are not delayed by other requests' work). Metrics in both
// definitions in use (vLLM's `vllm bench serve` and GuideLLM's), goodput under an SLO, the
// highest rate meeting it, a steady-state check. Torch-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "qbench/report/serving.hpp"
#include "qbench/serve/client.hpp"

namespace qbench::serve {

// One prompt: text, or token ids (sent as a list of ints, so the server does not re-tokenize).
struct LoadPrompt {
    std::string text;
    std::vector<std::int64_t> ids;
};

// What one SSE event of a streamed completion says (its data, after the SSE framing).
struct CompletionEvent {
    bool done = false;                 // data: [DONE]
    bool finished = false;             // a choice with a finish_reason
    std::int64_t text_choices = 0;     // choices that carried text (completions' text or chat's delta)
    std::int64_t usage_prompt = -1;    // the usage chunk's counts (-1: none in this event)
    std::int64_t usage_completion = -1;
    std::string error;                 // not JSON, an error event, or a malformed choice
};
CompletionEvent parse_completion_event(std::string_view data);

// A .jsonl file, one object per line with "prompt" or "text" (text) or "input_ids" (token ids). Throws a
// one-line error naming the file and line for anything else.
std::vector<LoadPrompt> load_prompts(const std::filesystem::path& path);

struct LoadOptions {
    std::string arrival = "sequential";  // sequential | poisson | gamma | constant
    double rate_per_s = 0.0;             // poisson / gamma / constant; +inf: every request at t = 0
    double burstiness = 1.0;             // gamma shape: < 1 burstier than poisson, 1 = poisson
    std::int64_t concurrency = 0;        // most requests in flight (0: unlimited; sequential: 1)
    std::int64_t requests = 0;           // 0: each prompt once; more cycle through the prompts
    std::int64_t max_new_tokens = 128;
    bool ignore_eos = false;             // ask for exactly max_new_tokens (vLLM, SGLang)
    double temperature = 0.0;
    std::uint64_t seed = 0;              // arrivals (and the request seed)
    std::optional<report::Slo> slo;
    bool keep_requests = true;           // per-request records in the result
};

// Throws a one-line error for an option out of range.
void validate(const LoadOptions& options);

// The arrival time of each request in seconds from the start (deterministic in the seed).
std::vector<double> arrival_times(const LoadOptions& options, std::int64_t n);

// One load run. Failed requests are recorded and counted, never folded into the latencies.
report::ServedLoadResult run_load(const Client& client, const std::vector<LoadPrompt>& prompts,
                                  const LoadOptions& options);

// The run's metrics from its requests (what run_load ends with; exposed for exact tests).
// `duration_s` is the run's wall time, first send to last completion.
report::ServedLoadResult summarize_load(std::vector<report::ServedRequest> requests, const LoadOptions& options,
                                        double duration_s);

// Several runs: one per rate of `rates` (a sweep; empty = options.rate_per_s alone), and with
// `find_max_rate`, a search for the highest rate whose run meets options.slo (doubling or
// halving from the first rate until the outcome changes, then `search_steps` bisections).
struct BenchServerOptions {
    LoadOptions load;
    std::vector<double> rates;
    bool find_max_rate = false;
    std::int64_t search_steps = 3;
};

report::ServedBenchResult bench_server(const Client& client, const std::vector<LoadPrompt>& prompts,
                                       const BenchServerOptions& options);

}  // namespace qbench::serve
