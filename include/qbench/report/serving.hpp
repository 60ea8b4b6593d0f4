// Results of a load test against a served model (serve/load.hpp): plain data, serialized by the
// report module (report/serving.cpp) like every other result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qbench/report/results.hpp"

namespace qbench::report {

// One request of a load run, as the client saw it. Times are milliseconds; `sent_s` and
// `arrival_s` are seconds from the run's start.
struct ServedRequest {
    std::int64_t index = 0;          // position in the run (prompt index modulo the prompt count)
    bool ok = false;
    std::string error;               // why it failed (empty when ok)
    std::int64_t status = 0;         // HTTP status of the last attempt (0: no response)
    std::int64_t attempts = 0;       // 1 + retries
    double arrival_s = 0.0;          // scheduled arrival
    double sent_s = 0.0;             // the last attempt was sent (>= arrival: waited for a slot or a retry)
    std::int64_t prompt_tokens = 0;  // from the server's usage (else the client's count)
    std::int64_t output_tokens = 0;  // from the server's usage (else content chunks)
    std::int64_t chunks = 0;         // SSE chunks that carried text
    double ttft_ms = 0.0;            // sent -> first chunk with text (vLLM's definition)
    double e2e_ms = 0.0;             // sent -> last chunk
    double tpot_ms = 0.0;            // (e2e - ttft) / (output_tokens - 1); NaN for one token
    std::vector<double> itl_ms;      // gaps between consecutive text chunks

    bool operator==(const ServedRequest&) const = default;
};

// A latency objective and whether a run met it.
struct Slo {
    double ttft_p99_ms = 0.0;  // 0: no bound
    double tpot_p99_ms = 0.0;
    double e2e_p99_ms = 0.0;

    bool operator==(const Slo&) const = default;
};

// One load run at one arrival profile.
struct ServedLoadResult {
    std::string arrival;              // sequential | poisson | gamma | constant
    double rate_per_s = 0.0;          // target arrivals per second (0: sequential / as fast as slots free)
    double burstiness = 1.0;          // gamma shape (1: poisson)
    std::int64_t concurrency = 0;     // most requests in flight (0: unlimited)
    std::int64_t max_new_tokens = 0;
    std::int64_t requests_sent = 0;
    std::int64_t requests_ok = 0;
    std::int64_t requests_failed = 0;
    std::int64_t retries = 0;         // extra attempts after 429 / 5xx / connection errors
    std::vector<std::string> failure_reasons;  // distinct reasons, "N x reason"
    double duration_s = 0.0;          // first send -> last completion
    double achieved_rate_per_s = 0.0; // arrivals actually sent per second
    double request_throughput_per_s = 0.0;  // completed requests / duration
    double output_tokens_per_s = 0.0;
    double total_tokens_per_s = 0.0;  // prompt + output
    // vLLM's `vllm bench serve` definitions: TTFT at the first chunk with text, TPOT = (E2E -
    // TTFT) / (n - 1) per request, ITL = every later inter-chunk gap pooled over requests.
    LatencyStats ttft;
    LatencyStats tpot;
    LatencyStats itl;
    LatencyStats e2e;
    // GuideLLM's per-request means: ITL as (last - first chunk) / (n - 1), TPOT including the
    // first token, E2E / n; summarized over requests.
    LatencyStats itl_per_request_mean;
    LatencyStats tpot_including_first;
    std::optional<Slo> slo;
    bool slo_met = false;             // every bound of the SLO holds at P99
    double goodput_per_s = 0.0;       // requests meeting every bound individually, per second
    bool steady_state = true;         // the arrival rate was reached and the client queue did not grow
    std::vector<std::string> warnings;
    std::vector<ServedRequest> requests;

    bool operator==(const ServedLoadResult&) const = default;
};

// A served model's load test: one or several runs (a sweep over rates, or the search for the
// highest rate that meets the SLO).
struct ServedBenchResult {
    std::string url;                  // base URL (no credentials)
    std::string model;                // the server's model name
    std::int64_t max_model_len = 0;   // from the model listing, when the server says (0: unknown)
    std::string prompts_path;
    std::vector<ServedLoadResult> runs;
    std::optional<double> max_rate_meeting_slo;  // highest rate found to meet the SLO
    std::vector<std::string> search_log;         // "rate r: met / not met (p99 TTFT ..)"

    bool operator==(const ServedBenchResult&) const = default;
};

void to_json(nlohmann::json& j, const ServedRequest& r);
void from_json(const nlohmann::json& j, ServedRequest& r);
void to_json(nlohmann::json& j, const Slo& s);
void from_json(const nlohmann::json& j, Slo& s);
void to_json(nlohmann::json& j, const ServedLoadResult& r);
void from_json(const nlohmann::json& j, ServedLoadResult& r);
void to_json(nlohmann::json& j, const ServedBenchResult& r);
void from_json(const nlohmann::json& j, ServedBenchResult& r);

}  // namespace qbench::report
