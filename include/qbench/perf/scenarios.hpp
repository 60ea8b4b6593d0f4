// The throughput scenarios (DESIGN.md "Throughput"): decode at batch sizes at a stated context
// length, prefill at sequence lengths, and end-to-end requests with TTFT / TPOT / ITL / E2E.
// Each warms up, repeats, keeps its raw samples and summarizes them with stats::summarize_latency.
#pragma once

#include <vector>

#include "qbench/model/decoder.hpp"
#include "qbench/lm/language_model.hpp"
#include "qbench/model/generate.hpp"
#include "qbench/perf/options.hpp"
#include "qbench/report/results.hpp"

namespace qbench::perf {

// Summary of samples in nanoseconds, in milliseconds; undersampled names the flagged percentiles.
report::LatencyStats latency_stats_ms(const std::vector<double>& samples_ns);

// count / seconds, a throughput figure of `what` ("decode batch 1 at context 512"); kRuntime when
// it is not a finite positive number (a clock that did not advance, no tokens), naming `what`.
double checked_rate(double count, double seconds, const std::string& what);

// Decode at `batch` rows: the cache is set to `context` filled slots (their contents do not
// change the speed), `warmup` untimed steps run once, then each repetition times
// `decode_steps` one-token steps from `context`, each step fed the previous argmax.
// `peak_bytes_per_s` (<= 0: unknown) gives the bandwidth fraction.
report::DecodeResult run_decode(const model::Decoder& decoder, std::int64_t batch, const ThroughputOptions& options,
                                double peak_bytes_per_s);

// Prefill of `length` random tokens (batch 1) into an empty cache, `warmup` untimed then
// `repetitions` timed; tokens/s over all timed prefills.
report::PrefillResult run_prefill(const model::Decoder& decoder, std::int64_t length, const ThroughputOptions& options);

// Requests served one at a time (batch 1, FIFO) in the order of `prompts` (cycled up to
// options.requests), each generating exactly max_new_tokens (EOS ignored, as vLLM's
// --ignore-eos). "sequential": each request arrives when the previous one ends; "poisson":
// exponential inter-arrival gaps at rate_per_s (seeded), a request arriving while the engine is
// busy waits, and its queueing counts in its TTFT and E2E. Host clock, tokens timed when they
// reach the host. One untimed warm-up request first when warmup > 0. Runs through the seam
// alone (lm::LanguageModel::generate_tokens), so any implementation can be measured.
report::EndToEndResult run_end_to_end(lm::LanguageModel& model, const std::vector<model::TokenIds>& prompts,
                                      const ThroughputOptions& options);

// Throws kBadInput naming the first option out of range (batch sizes and prefill lengths >= 1,
// context >= 0, steps and repetitions >= 1, arrival sequential|poisson, rate > 0, ...).
void validate(const ThroughputOptions& options);

// Every scenario of `options` plus memory and environment; `prompts` empty: no end-to-end.
// Adds a warning for each unreliable setting (debug build, under-sampled tail percentiles,
// fewer than 3 repetitions, a slow GPU clock at start).
// The end-to-end scenario runs on `end_to_end_model` (required when `prompts` is not empty; the
// caller's eval::LocalModel over `decoder`).
report::ThroughputResult run_throughput(const model::Decoder& decoder, const ThroughputOptions& options,
                                        const std::vector<model::TokenIds>& prompts,
                                        lm::LanguageModel* end_to_end_model = nullptr);

}  // namespace qbench::perf
