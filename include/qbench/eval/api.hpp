// The entry points the command line calls, free of LibTorch types so src/cli compiles without
// LibTorch headers (DESIGN.md rule 1).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "qbench/config/quantize_spec.hpp"
#include "qbench/config/run_config.hpp"
#include "qbench/eval/perplexity.hpp"
#include "qbench/eval/perplexity_input.hpp"
#include "qbench/perf/options.hpp"
#include "qbench/report/report.hpp"
#include "qbench/serve/client.hpp"

namespace qbench::eval {

struct ModelRequest {
    std::filesystem::path path;                     // HF model directory or .gguf file
    std::string device = "cpu";
    std::string dtype;                              // empty: the device's and architecture's
                                                    // default (model/compute_dtype.hpp)
    std::optional<config::QuantizeSpec> quantize;   // run-time quantization
    int threads = 0;                                // 0: LibTorch's default
    bool random_weights = false;                    // config.json only: N(0, 0.02) weights (speed only)
    std::uint64_t seed = 1234;                      // of the random weights
    bool gguf_dequantize = false;                   // .gguf: dequantize every tensor at load
                                                    // (default: Q8_0 / Q4_0 Linears stay low-bit)
};

// `qbench ppl`'s window options: max_length and stride at 0 stand for the model's defaults,
// resolved by apply_window_defaults once the model is loaded.
PerplexityOptions ppl_command_defaults();
// The throughput scenarios of a YAML `throughput:` section (seed: the run's).
perf::ThroughputOptions throughput_options(const config::ThroughputConfig& section, std::int64_t seed);
// `qbench bench`'s defaults: those the schema declares for an empty `throughput:` section
// (config/run_config.cpp), so the flags and the YAML start from one declaration.
perf::ThroughputOptions throughput_defaults();
// max_length 0 -> min(2048, max_position_embeddings); stride 0 -> max(1, max_length / 2).
void apply_window_defaults(PerplexityOptions& options, std::int64_t max_position_embeddings);

// Loads the model and scores `data` with one protocol, after apply_window_defaults. The
// special-token options (chunk BOS, prefix) come from the model.
report::PerplexityResult run_perplexity(const ModelRequest& request, const std::filesystem::path& data,
                                        PerplexityOptions options);

// `qbench ppl --kld-base FILE` / `--kld FILE` (llama.cpp's two-phase KL-divergence mode, on
// qbench's base file format, eval/kld.hpp): the first run keeps the model's top-k distributions
// over the protocol's scored tokens in `write_base`; a later run over the same data and options
// scores another model against `compare`. `top_k` 0: eval::default_kld_top_k.
// `base_format` "llama.cpp" writes llama-perplexity's --kl-divergence-base layout instead
// (eval/llamacpp_kld.hpp: full vocabulary, 2 bytes per entry; llama.cpp protocol only); a
// `compare` file in that layout (its "_logits_" magic) is read as such, whoever wrote it.
struct KldFiles {
    std::filesystem::path write_base;
    std::filesystem::path compare;
    std::int64_t top_k = 0;
    std::string base_format = "qbench";
};
struct PerplexityRun {
    report::ModelSummary model;            // the compute dtype that ran and why, among others
    report::PerplexityResult perplexity;
    std::optional<report::KldResult> kld;  // with `compare`
};
// Throws kBadInput when `compare` does not hold these windows or tokens.
PerplexityRun run_perplexity(const ModelRequest& request, const std::filesystem::path& data,
                             PerplexityOptions options, const KldFiles& kld);

// `qbench ppl --server URL --tokenizer T`: the same protocols and windows as a local run, each
// window scored by the server (eval/served_model.hpp) with the local tokenizer's ids.
struct ServedPerplexityRequest {
    serve::ServerSpec server;
    std::filesystem::path tokenizer;  // HF model dir, tokenizer.json or tokenizer.model
};
PerplexityRun run_perplexity(const ServedPerplexityRequest& request, const std::filesystem::path& data,
                             PerplexityOptions options);

// `qbench bench`: loads the model and runs the throughput scenarios of `options` (end-to-end
// when options.prompts is set).
struct BenchResult {
    report::ModelSummary model;
    report::ThroughputResult throughput;
};
BenchResult run_bench(const ModelRequest& request, const perf::ThroughputOptions& options);

// The prompts of an end-to-end scenario: .jsonl with "input_ids" (or "text" with a tokenizer).
std::vector<std::vector<std::int64_t>> load_prompts(const std::filesystem::path& path, const Encoder& encode);

// What `qbench inspect` shows: read from config.json and the checkpoint's tensor headers,
// without loading weights.
struct ModelInfo {
    report::ModelSummary summary;   // dtype = the stored dtype; device empty
    nlohmann::json config;          // architecture hyperparameters as parsed
    nlohmann::json quantization;    // quantization_config, or null
    std::int64_t tensors = 0;
};
ModelInfo inspect_model(const std::filesystem::path& path);

// LibTorch version, CUDA version, GPU name and threads, for a run's context block.
void fill_runtime_context(report::RunContext& context, const std::string& device);

}  // namespace qbench::eval
