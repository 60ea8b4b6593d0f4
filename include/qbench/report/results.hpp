// Result structs: plain data, no LibTorch types (DESIGN.md rule 2). The eval/perf/model layers
// fill them; the report module alone serializes them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace qbench::report {

// One scored block of a perplexity protocol: a window (sliding, gptq, llama.cpp) or a document
// (lm-eval-rolling). The CI of a PPL ratio is computed over these blocks, never over tokens.
struct PerplexityBlock {
    double nll_sum = 0.0;       // sum of -ln p(token) over the block's scored tokens
    std::int64_t tokens = 0;    // number of scored tokens in the block
    std::int64_t words = 0;     // lm-eval-rolling only: words of the document text (0 otherwise)
    std::int64_t bytes = 0;     // lm-eval-rolling only: UTF-8 bytes of the document text

    bool operator==(const PerplexityBlock&) const = default;
};

struct PerplexityResult {
    std::string protocol;       // sliding | gptq | llama.cpp | lm-eval-rolling
    std::string data_path;
    std::string data_sha256;
    std::int64_t max_length = 0;
    std::int64_t stride = 0;    // sliding only (0 otherwise)
    std::int64_t input_tokens = 0;  // tokens in the input stream(s) before windowing
    double nll_sum = 0.0;
    std::int64_t tokens_scored = 0;
    double ppl = 0.0;           // exp(nll_sum / tokens_scored)
    std::vector<PerplexityBlock> blocks;
    // lm-eval-rolling only (absent otherwise): exp(nll/words), exp(nll/bytes), nll/bytes/ln 2.
    std::optional<double> word_perplexity;
    std::optional<double> byte_perplexity;
    std::optional<double> bits_per_byte;
    // llama.cpp only (empty / absent otherwise), as llama-perplexity prints them: the running
    // estimate exp(Σ nll / Σ tokens) after each chunk ("[1]x,[2]y,..."), and the final "± stderr"
    // ppl · sqrt((mean nll² − (mean nll)²) / (n − 1)) over the n scored tokens.
    std::vector<double> running_ppl;
    std::optional<double> ppl_stderr;
    double seconds = 0.0;       // wall time of the evaluation

    bool operator==(const PerplexityResult&) const = default;
};

// KL divergence of a variant from the baseline over one perplexity protocol's scored tokens
// (docs/ARCHITECTURE.md, "KLD vs baseline"). Per token, KL(P_base || P_variant) over the base's
// top-k tokens plus one tail bucket holding the rest of the vocabulary: a lower bound of the exact
// KLD, exact when top_k == vocab_size. Block sums per window give intervals that respect the
// correlation of tokens within a window (stats::ratio_mean).
struct KldBlock {
    std::int64_t tokens = 0;
    double kld_sum = 0.0;           // Σ per-token KLD (nats)
    std::int64_t same_top = 0;      // tokens whose argmax agrees with the baseline's
    double delta_p_sum = 0.0;       // Σ (p_variant(true token) − p_base(true token))
    double delta_p_sq_sum = 0.0;    // Σ Δp²

    bool operator==(const KldBlock&) const = default;
};

// One percentile of a per-token sample: q in [0, 1] (type 7), flagged when n < 10 / (1 − q).
struct SamplePercentile {
    double q = 0.0;
    double value = 0.0;
    bool undersampled = false;

    bool operator==(const SamplePercentile&) const = default;
};

struct KldResult {
    std::string baseline;           // the variant the distributions came from
    std::string protocol;
    std::int64_t top_k = 0;         // base tokens kept per position (+ one tail bucket)
    std::int64_t vocab_size = 0;
    std::int64_t variant_top_k = 0; // > 0: the variant listed only its top-k log-probs (a server):
                                    // a lower bound over those tokens + one bucket for the rest
    bool exact = false;             // top_k == vocab_size and variant_top_k == 0: the exact KLD
    std::int64_t tokens = 0;
    double confidence = 0.95;
    std::string ci_method = "block-t";  // t_{C−1} over windows, cluster-robust SE
    double kld_mean = 0.0;          // nats per token
    double kld_se = 0.0;
    double kld_ci_lower = 0.0;
    double kld_ci_upper = 0.0;
    std::vector<SamplePercentile> kld_percentiles;   // q = 0, .001, .01, .05, .1, .25, .5, .75, .9,
                                                    // .95, .99, .999, 1 (min .. max)
    double same_top = 0.0;          // fraction of tokens with the same argmax
    double same_top_ci_lower = 0.0;
    double same_top_ci_upper = 0.0;
    double delta_p_mean = 0.0;      // mean of p_variant(true) − p_base(true)
    double delta_p_ci_lower = 0.0;
    double delta_p_ci_upper = 0.0;
    double delta_p_rms = 0.0;       // sqrt(mean Δp²)
    std::vector<SamplePercentile> delta_p_percentiles;  // the same q
    double base_tail_mass_mean = 0.0;  // mean base probability outside the top-k (0 when exact;
                                       // variant_top_k > 0: outside the tokens both sides list)
    std::vector<KldBlock> blocks;   // one per window (document for lm-eval-rolling)
    double seconds = 0.0;           // time spent on the KLD arithmetic and the base file

    bool operator==(const KldResult&) const = default;
};

// Per-layer record of how a Linear is executed (filled by the quant layer; "dense" otherwise).
struct LayerKernel {
    std::string name;           // e.g. "model.layers.0.self_attn.q_proj"
    std::string kernel;         // e.g. "dense", "int4pack_mm", "dequant_matmul"

    bool operator==(const LayerKernel&) const = default;
};

// What a quantized model is and what it saves (method "none" for a float model).
struct QuantizationInfo {
    std::string method = "none";    // none | rtn | w8a8 | gptq | awq | compressed-tensors | fp8
    std::string format;             // checkpoint variant: gptq_v2, gemm, pack-quantized, ...
    std::string weight_type;        // "int" | "float8_e4m3fn" | "" (none)
    int bits = 16;
    std::int64_t group_size = 0;    // -1 per channel, 0 per tensor / not grouped
    std::string strategy;           // tensor | channel | group | block | ""
    bool symmetric = true;
    std::string activation = "none";  // e.g. "int8 dynamic per-token"
    std::int64_t fp16_bytes = 0;    // the same shapes held in float16
    double compression_ratio = 1.0; // fp16_bytes / weight_bytes

    bool operator==(const QuantizationInfo&) const = default;
};

struct ModelSummary {
    std::string path;
    std::string format;         // "safetensors" | "gguf"
    std::string architecture;   // config.json architectures[0]
    std::string dtype;          // compute dtype
    std::string device;
    std::int64_t num_parameters = 0;
    std::int64_t weight_bytes = 0;  // bytes really held by the weights
    std::string quantization;   // "none" or a one-line description
    std::vector<LayerKernel> kernels;
    QuantizationInfo quantization_info;
    double load_seconds = 0.0;  // wall time to read, convert and (run-time) quantize the weights
    std::string dtype_reason;   // why `dtype`: "requested", "default for cpu with avx512_bf16", ...

    bool operator==(const ModelSummary&) const = default;
};

// A latency summary (stats::summarize_latency) in milliseconds, kept next to its raw samples.
struct LatencyStats {
    std::int64_t n = 0;
    double mean_ms = 0.0;
    double std_ms = 0.0;        // sample std (n - 1); NaN for n = 1
    double min_ms = 0.0;
    double max_ms = 0.0;
    double p50_ms = 0.0;
    double p90_ms = 0.0;
    double p95_ms = 0.0;
    double p99_ms = 0.0;
    double p999_ms = 0.0;
    std::vector<std::string> undersampled;  // percentiles with n < 10 / (1 - q), e.g. "p99"

    bool operator==(const LatencyStats&) const = default;
};

// Decode at one batch size: each repetition fills the cache to `context_tokens` (untimed) and
// times `steps` one-token steps; every step is one sample.
struct DecodeResult {
    std::int64_t batch_size = 0;
    std::int64_t context_tokens = 0;   // cache length when the timed steps start
    std::int64_t steps = 0;            // timed steps per repetition
    std::int64_t warmup = 0;           // untimed steps before each repetition's timed ones
    std::int64_t repetitions = 0;
    std::vector<double> samples_ns;    // one per step, all repetitions
    std::vector<double> repetition_tokens_per_s;  // batch * steps / repetition time
    double tokens_per_s = 0.0;         // batch * all steps / all step time
    // 95% t interval of the mean of repetition_tokens_per_s, their coefficient of variation
    // (NaN for one repetition), and the fraction of steps slower than twice the median step.
    double tokens_per_s_ci_lower = 0.0;
    double tokens_per_s_ci_upper = 0.0;
    double repetition_cv = 0.0;
    double slow_step_fraction = 0.0;
    double ms_per_token = 0.0;         // mean step time (each row's time per token)
    LatencyStats step_latency;
    double bytes_per_step = 0.0;       // weights + KV cache read and written per step
    double achieved_bytes_per_s = 0.0;  // bytes_per_step * steps/s
    double bandwidth_fraction = 0.0;   // of the measured peak copy bandwidth; NaN when unknown
    bool cuda_graph = false;
    std::string note;                  // e.g. why CUDA-graph capture was not used
    double warmup_seconds = 0.0;       // the untimed warm-up steps (CUDA-graph capture included)

    bool operator==(const DecodeResult&) const = default;
};

// Prefill of `sequence_tokens` tokens (batch 1) into an empty cache; one sample per repetition.
struct PrefillResult {
    std::int64_t sequence_tokens = 0;
    std::int64_t warmup = 0;
    std::int64_t repetitions = 0;
    std::vector<double> samples_ns;
    double tokens_per_s = 0.0;          // all timed tokens / all timed prefill time
    std::vector<double> repetition_tokens_per_s;  // sequence_tokens / each sample
    double tokens_per_s_ci_lower = 0.0;  // 95% t interval of their mean
    double tokens_per_s_ci_upper = 0.0;
    double repetition_cv = 0.0;
    LatencyStats latency;
    double flop_per_token = 0.0;        // 2 * matmul parameters + attention
    double achieved_flop_per_s = 0.0;
    double warmup_seconds = 0.0;        // the untimed warm-up prefills

    bool operator==(const PrefillResult&) const = default;
};

// One request of the end-to-end scenario; times from its arrival (ms).
struct RequestRecord {
    std::int64_t prompt_tokens = 0;
    std::int64_t output_tokens = 0;
    double arrival_s = 0.0;      // scheduled arrival, from the scenario start
    double queue_ms = 0.0;       // waited for the engine after arriving
    double ttft_ms = 0.0;        // arrival -> first token on the host (queue included)
    double tpot_ms = 0.0;        // (e2e - ttft) / (output_tokens - 1); NaN for one token
    double e2e_ms = 0.0;         // arrival -> last token
    std::vector<double> itl_ms;  // gaps between consecutive tokens

    bool operator==(const RequestRecord&) const = default;
};

struct EndToEndResult {
    std::string prompts_path;
    std::string arrival;          // "sequential" | "poisson"
    double rate_per_s = 0.0;      // poisson: mean arrivals per second
    std::int64_t max_new_tokens = 0;
    std::vector<RequestRecord> requests;
    LatencyStats ttft;
    LatencyStats tpot;
    LatencyStats itl;             // all gaps of all requests pooled
    LatencyStats e2e;
    double duration_s = 0.0;
    double output_tokens_per_s = 0.0;  // all output tokens / duration

    bool operator==(const EndToEndResult&) const = default;
};

struct MemoryResult {
    std::int64_t weight_bytes = 0;
    std::int64_t kv_cache_bytes = 0;         // the largest cache a scenario allocated
    std::int64_t peak_allocated_bytes = -1;  // CUDA caching allocator; -1 on a CPU
    std::int64_t peak_reserved_bytes = -1;
    std::int64_t peak_rss_bytes = -1;        // process peak resident set; -1 when unknown

    bool operator==(const MemoryResult&) const = default;
};

// The machine a throughput section ran on; GPU fields empty / -1 without NVML.
struct EnvironmentResult {
    std::string device;
    std::string timing;                 // "cuda_events" | "steady_clock"
    std::string build_type;
    std::string cpu_model;
    std::int64_t threads = 0;
    std::string gpu_name;
    std::string driver_version;
    std::string cuda_version;
    std::int64_t sm_clock_mhz_start = -1;
    std::int64_t sm_clock_mhz_end = -1;
    std::int64_t sm_clock_max_mhz = -1;
    std::int64_t memory_clock_mhz_start = -1;
    std::int64_t temperature_c_start = -1;
    std::int64_t temperature_c_end = -1;
    double peak_copy_bytes_per_s = 0.0;  // measured once per run (a large device copy)
    // The rest of the machine over the timed scenarios (NaN where /proc cannot be read): other
    // processes' share of all CPU time, hypervisor steal, the 1-minute load average before, and
    // the mean CPU clock before and after.
    double other_cpu_fraction = 0.0;
    double cpu_steal_fraction = 0.0;
    double load_average_start = 0.0;
    double cpu_mhz_start = 0.0;
    double cpu_mhz_end = 0.0;

    bool operator==(const EnvironmentResult&) const = default;
};

struct ThroughputResult {
    std::vector<DecodeResult> decode;
    std::vector<PrefillResult> prefill;
    std::optional<EndToEndResult> end_to_end;
    MemoryResult memory;
    EnvironmentResult environment;
    std::vector<std::string> warnings;   // unreliable settings (debug build, too few samples, ...)

    bool operator==(const ThroughputResult&) const = default;
};

// $ per million output tokens at one price tier.
struct CostTier {
    std::string name;                 // e.g. "on_demand"
    double usd_per_hour = 0.0;        // per GPU
    std::int64_t gpus = 1;
    double usd_per_million_tokens = 0.0;                    // serving only
    double calibration_usd_per_million_tokens = 0.0;        // amortized
    double total_usd_per_million_tokens = 0.0;
    double quality_adjusted_usd_per_million_tokens = 0.0;   // total * quality_factor

    bool operator==(const CostTier&) const = default;
};

struct CostResult {
    std::string throughput_basis;     // e.g. "decode batch 32 at context 512"
    double tokens_per_s = 0.0;
    double quality_factor = 1.0;
    std::string quality_basis;        // what the factor compares, e.g. "ppl sliding vs baseline"
    double calibration_usd = 0.0;
    std::vector<CostTier> tiers;

    bool operator==(const CostResult&) const = default;
};

// One aggregate metric of a task: "acc", "acc_norm", "exact_match,strict-match", ...
struct TaskMetricResult {
    std::string name;           // metric, or "metric,filter" for generative tasks
    double value = 0.0;         // mean of the per-item scores
    double stderr_value = 0.0;  // sample sd / sqrt(n) (lm-eval's mean_stderr); NaN for n < 2
    double ci_lower = 0.0;      // 95 % interval: Wilson for 0/1 scores, mean ± t·se otherwise
    double ci_upper = 0.0;
    bool binary = true;         // every per-item score is 0 or 1
    std::int64_t n = 0;         // items scored

    bool operator==(const TaskMetricResult&) const = default;
};

struct SubtaskResult {
    std::string name;           // e.g. an MMLU subject
    std::int64_t n = 0;
    std::vector<TaskMetricResult> metrics;

    bool operator==(const SubtaskResult&) const = default;
};

struct TaskResult {
    std::string name;
    std::string output_type;    // multiple_choice | generate_until
    std::int64_t num_fewshot = 0;
    std::int64_t n = 0;         // items evaluated
    std::string data_path;
    std::string data_sha256;
    std::string samples_path;   // per-item records, relative to the report's directory
    std::vector<TaskMetricResult> metrics;  // group score over all items (size-weighted)
    std::vector<SubtaskResult> subtasks;    // when the task splits into subtasks
    std::string note;           // e.g. how code execution was isolated
    double seconds = 0.0;
    // Per-item scores, for paired comparisons from the report alone: item_ids[i] is
    // "<doc_id>" or "<subtask>/<doc_id>", item_scores[metric][i] its score, item_hashes[i] its
    // identity "<doc>:<prompt>:<target>" (the first 16 hex digits of each sha256; empty in
    // reports written before it existed). A paired comparison refuses items whose hashes differ.
    std::vector<std::string> item_ids;
    std::map<std::string, std::vector<double>> item_scores;
    std::vector<std::string> item_hashes;

    bool operator==(const TaskResult&) const = default;
};

// Results of a load test against a served model (serve/load.hpp; JSON in report/serving.cpp).
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

struct VariantResult {
    std::string name;
    bool baseline = false;
    ModelSummary model;
    std::vector<PerplexityResult> perplexity;
    std::optional<ThroughputResult> throughput;
    std::optional<CostResult> cost;
    std::vector<TaskResult> tasks;
    std::optional<KldResult> kld;  // against the baseline (absent for the baseline itself)
    // A served variant's load test (throughput.prompts through the server); its throughput
    // section is not measured (decode and prefill micro-benchmarks are local only).
    std::optional<ServedLoadResult> serving;
    std::string kld_unavailable;  // why a variant that should have a KLD has none (e.g. served)
    std::string status = "ok";  // "ok" | "failed"
    std::string error;          // set when status == "failed"
    int error_code = 0;         // the exit code class of the failure (2 bad input, 3 runtime)

    bool operator==(const VariantResult&) const = default;
};

// A variant against the baseline on one task metric, paired item by item.
struct MetricComparison {
    std::string variant;
    std::string task;
    std::string metric;
    std::int64_t n = 0;             // items both have
    double baseline_value = 0.0;
    double variant_value = 0.0;
    double difference = 0.0;        // variant − baseline
    double ci_lower = 0.0;          // 95 % CI of the difference (Tango for 0/1, paired t otherwise)
    double ci_upper = 0.0;
    std::string ci_method;          // "tango" | "paired-t"
    std::int64_t b = 0;             // 0/1 metrics: right -> wrong
    std::int64_t c = 0;             // wrong -> right
    double flips = 0.0;             // (b + c) / n
    double p_value = 1.0;           // McNemar mid-p (0/1) or paired t
    std::string test;               // "mcnemar-midp" | "paired-t"
    double mde = 0.0;               // minimum detectable difference at this n (80 % power)
    double p_holm = 1.0;            // Holm-adjusted across the variant's comparisons
    bool significant = false;       // p_holm <= 0.05

    bool operator==(const MetricComparison&) const = default;
};

// One quality gate evaluated for one variant.
struct GateResult {
    std::string gate;               // the gate's name
    std::string variant;
    bool passed = true;
    std::string detail;             // what was measured against what

    bool operator==(const GateResult&) const = default;
};

}  // namespace qbench::report
