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
    double seconds = 0.0;       // wall time of the evaluation

    bool operator==(const PerplexityResult&) const = default;
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

    bool operator==(const ModelSummary&) const = default;
};

struct VariantResult {
    std::string name;
    bool baseline = false;
    ModelSummary model;
    std::vector<PerplexityResult> perplexity;
    std::string status = "ok";  // "ok" | "failed"
    std::string error;          // set when status == "failed"
    int error_code = 0;         // the exit code class of the failure (2 bad input, 3 runtime)

    bool operator==(const VariantResult&) const = default;
};

}  // namespace qbench::report
