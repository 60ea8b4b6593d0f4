// The validated configuration of `qbench run CONFIG.yaml`. Each struct's options are declared
// once in src/config/run_config.cpp; those declarations parse the YAML, apply command-line
// overrides, fill defaults and produce the effective-config echo. Every field below is resolved:
// defaults filled, paths absolute, the baseline chosen.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "qbench/config/option.hpp"
#include "qbench/config/quantize_spec.hpp"

namespace qbench::config {

namespace fs = std::filesystem;

// A variant served by an OpenAI-compatible server (vLLM, SGLang, llama.cpp's server, TGI).
struct ServerConfig {
    std::string url;            // base of the OpenAI routes, e.g. http://127.0.0.1:8000/v1
    std::string model;          // the server's model name ("" = the only model it lists)
    std::string api_key_env;    // environment variable holding the API key ("" = none)
    double timeout_s = 600.0;   // per request
    std::int64_t max_retries = 3;  // after 429 / 5xx / no response
    std::int64_t concurrency = 0;  // load test: most requests in flight (0: unlimited)
    std::int64_t top_logprobs = 20;  // most log-probs per position it returns (vLLM's --max-logprobs)

    static const Schema<ServerConfig>& schema();
};

struct VariantConfig {
    std::string name;                     // unique; letters, digits, '.', '_', '-'
    fs::path model;                       // HF model directory or .gguf file; exists (unless served)
    std::optional<ServerConfig> server;   // served: the server instead of a checkpoint
    fs::path tokenizer;                   // served: the model's tokenizer (exact client-side ids)
    bool server_tokenizer = false;        // served, `tokenizer: server`: the server's /tokenize
    bool baseline = false;                // exactly one variant of a run has it
    std::string dtype;                    // float32 | float16 | bfloat16 (the run's by default)
    std::optional<QuantizeSpec> quantize;  // run-time quantization, or none
    bool gguf_dequantize = false;         // .gguf: dequantize every tensor at load (no low-bit Linears)
    double calibration_gpu_hours = 0.0;   // GPU-hours spent producing this checkpoint (cost)

    bool served() const { return server.has_value(); }

    static const Schema<VariantConfig>& schema();
};

struct PerplexityConfig {
    fs::path data;                       // .txt or .jsonl; exists
    std::vector<std::string> protocols;  // each sliding | gptq | llama.cpp | lm-eval-rolling
    std::int64_t max_length = 0;         // tokens per window (n_ctx)
    std::int64_t stride = 0;             // sliding: tokens between window starts, 1..max_length
    std::int64_t batch_size = 0;         // windows per forward
    std::int64_t limit = 0;              // max windows / documents, 0 = all
    bool kld = true;                     // KL divergence of each variant from the baseline
    std::string kld_protocol;            // the protocol whose tokens KLD uses (default: the first)
    std::int64_t kld_top_k = 0;          // base tokens kept per position, 0 = eval::default_kld_top_k

    static const Schema<PerplexityConfig>& schema();
};

// The throughput scenarios (perf/options.hpp has the meaning of each field).
struct ThroughputConfig {
    std::vector<std::int64_t> batch_sizes;
    std::int64_t context = 0;
    std::int64_t decode_steps = 0;
    std::vector<std::int64_t> prefill_lengths;
    std::int64_t warmup = 0;
    std::int64_t repetitions = 0;
    double ci_target_percent = 0.0;
    std::int64_t max_repetitions = 0;
    double time_budget_s = 0.0;
    bool cuda_graph = true;
    fs::path prompts;             // empty: no end-to-end scenario
    std::string arrival;          // sequential | poisson
    double rate_per_s = 0.0;
    std::int64_t max_new_tokens = 0;
    std::int64_t requests = 0;

    static const Schema<ThroughputConfig>& schema();
};

// Serving cost per variant from its decode throughput (needs `throughput:`).
struct CostConfig {
    std::int64_t gpus = 1;                 // GPUs per serving instance
    double on_demand_usd_per_hour = 0.0;   // per GPU; a tier at 0 is left out
    double reserved_usd_per_hour = 0.0;
    double spot_usd_per_hour = 0.0;
    std::int64_t batch_size = 0;           // decode batch whose tokens/s is the basis; 0: the largest
    double calibration_usd_per_gpu_hour = 0.0;  // 0: the on-demand price
    double served_tokens = 0.0;            // tokens a checkpoint serves (calibration amortization)

    static const Schema<CostConfig>& schema();
};

// Task suites (docs/ARCHITECTURE.md, "Tasks").
struct TasksConfig {
    std::vector<std::string> names;      // built-in task names or task YAML paths
    std::vector<fs::path> task_dirs;     // searched before the built-in tasks/ directory
    fs::path data_dir;                   // replaces each task's data_root when set
    std::int64_t num_fewshot = -1;       // -1: each task's own
    std::int64_t limit = 0;              // first N items per task, 0 = all
    std::int64_t batch_size = 1;         // loglikelihood rows per forward pass
    std::int64_t max_length = 0;         // 0: the model's max_position_embeddings
    std::int64_t max_gen_toks = 0;       // 0: each task's own
    bool allow_code_execution = false;   // humaneval / mbpp run generated code only with this
    double code_timeout_s = 3.0;

    static const Schema<TasksConfig>& schema();
};

// A quality gate (docs/ARCHITECTURE.md, "Gates"), checked for every variant against the baseline.
struct GateConfig {
    std::string name;          // default: derived from the other fields
    std::string metric;        // a task metric ("acc", "exact_match,strict-match"), perplexity_ratio, kld
    std::string task;          // task metrics: the task
    std::string protocol;      // perplexity_ratio: the protocol ("" = every protocol run)
    std::optional<double> max_drop;  // task metrics: baseline − variant may not exceed this
    bool significant = false;  // max_drop fails only when the drop is significant (Holm)
    std::optional<double> max;       // the variant's value (or ratio) may not exceed this
    std::optional<double> min;       // the variant's value may not fall below this

    static const Schema<GateConfig>& schema();
};

struct RunConfig {
    std::string name;
    fs::path output_dir;
    std::string device;   // cpu | cuda | cuda:N
    std::string dtype;    // float32 | float16 | bfloat16; empty: per device and architecture
                          // (model/compute_dtype.hpp)
    std::int64_t seed = 0;
    std::int64_t threads = 0;  // 0 = the library's default
    std::vector<VariantConfig> variants;
    std::optional<PerplexityConfig> perplexity;
    std::optional<ThroughputConfig> throughput;
    std::optional<CostConfig> cost;
    std::optional<TasksConfig> tasks;
    std::vector<GateConfig> gates;

    fs::path source_path;       // the config file as given
    std::string sha256;         // of the raw file bytes
    nlohmann::json effective;   // every option with its resolved value (the report's echo)

    // The variant with baseline == true.
    const VariantConfig& baseline() const;

    static const Schema<RunConfig>& schema();
};

// Reads and validates a run configuration. `overrides` are command-line flag values (see
// config/cli_bridge.hpp), validated like the file's values. Throws a kBadInput qbench::Error
// "FILE:LINE: KEY: problem" for any bad input.
RunConfig load_run_config(const fs::path& path, const CliOverrides& overrides = {});

// The same from text: `source_path` names the file in messages, its directory anchors relative
// paths and its stem is the default run name.
RunConfig parse_run_config(std::string_view yaml_text, const fs::path& source_path,
                           const CliOverrides& overrides = {});

// Every declared option of a run configuration, nested sections included.
std::vector<OptionInfo> run_config_options();

}  // namespace qbench::config
