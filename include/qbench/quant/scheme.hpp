// QuantScheme: how a model's Linear layers are quantized, read from a checkpoint's
// `quantization_config` (config.json, or quantize_config.json / quant_config.json beside it) or
// from a run-time `quantize:` spec, and the LinearFactory that builds the layers. Never guessed
// from a file name. Unsupported methods and options are kBadInput errors naming the key.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "qbench/config/quantize_spec.hpp"
#include "qbench/model/linear.hpp"
#include "qbench/quant/kernels.hpp"
#include "qbench/report/results.hpp"

namespace qbench::model {
struct ModelConfig;
}

namespace qbench::quant {

// The scheme of one Linear.
struct LayerScheme {
    std::string type = "int";            // int | float (FP8 e4m3)
    int bits = 4;
    std::int64_t group_size = -1;        // -1: per channel; 0: per tensor
    bool symmetric = true;
    std::string strategy = "channel";    // tensor | channel | group | block
    std::vector<std::int64_t> block;     // {bh, bw} for block strategy
    ActQuant act = ActQuant::kNone;
    bool desc_act = false;               // GPTQ act-order (informational; g_idx is what counts)
    bool operator==(const LayerScheme&) const = default;
};

struct QuantScheme {
    std::string method = "none";  // none | rtn | w8a8 | gptq | awq | compressed-tensors | fp8
    std::string format;           // gptq | gptq_v2 | gemm | gemv | pack-quantized | int-quantized |
                                  // float-quantized | naive-quantized | fp8-tensor | fp8-block | ""
    LayerScheme layer;            // the scheme of the quantized layers (the first config group)
    // Layers left in float: names, name suffixes or "re:REGEX" (modules_to_not_convert, ignore,
    // ignored_layers).
    std::vector<std::string> ignore;
    // compressed-tensors config_groups: targets ("Linear", names, "re:REGEX") -> scheme.
    std::vector<std::pair<std::vector<std::string>, LayerScheme>> groups;
    // GPTQModel `dynamic`: "+:REGEX" / "REGEX" overrides (bits, group_size, sym, desc_act),
    // "-:REGEX" skips.
    std::vector<std::pair<std::string, nlohmann::json>> dynamic;
    bool quantize_lm_head = false;  // run-time specs: quantize lm_head too (default: keep float)

    // One line for the report: "gptq_v2 int4 group 128 asym, desc_act", "rtn int8 per-channel sym".
    std::string describe() const;
    // The scheme of `module`, or nullopt when it stays in float.
    std::optional<LayerScheme> for_module(const std::string& module) const;
};

// Parses a checkpoint's quantization_config; `source` names the file in errors.
QuantScheme scheme_from_config(const nlohmann::json& qc, const std::string& source);
// The checkpoint's scheme: config.json's quantization_config, else quantize_config.json or
// quant_config.json in `dir`; nullopt for a float checkpoint.
std::optional<QuantScheme> checkpoint_scheme(const std::filesystem::path& dir, const model::ModelConfig& config);
// Validates a run-time spec: rtn (bits, group_size, sym, lm_head), fp8 (granularity, activations,
// lm_head), w8a8 (lm_head).
QuantScheme scheme_from_spec(const config::QuantizeSpec& spec);

// The factory that builds every Linear of a model under `scheme`: checkpoint formats read their
// tensors; run-time methods quantize the float weight; ignored layers stay dense.
model::LinearFactory make_linear_factory(const QuantScheme& scheme, KernelChoice choice = KernelChoice::kAuto);

// The report's quantization block (bytes and ratio left for the caller).
report::QuantizationInfo quantization_info(const QuantScheme& scheme);

}  // namespace qbench::quant
