// ModelConfig: the hyperparameters of a Llama-family decoder, read from config.json as plain
// fields (no tensors). Supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM,
// Qwen3ForCausalLM, Gemma3ForCausalLM (model_type gemma3_text). Anything else is a kBadInput Error
// listing what is supported.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace qbench::model {

// RoPE frequency scaling (config.json `rope_scaling` or transformers 5 `rope_parameters`).
struct RopeScaling {
    std::string type = "default";  // default | linear | llama3
    double factor = 1.0;
    double low_freq_factor = 1.0;   // llama3
    double high_freq_factor = 4.0;  // llama3
    std::int64_t original_max_position_embeddings = 8192;  // llama3
};

struct ModelConfig {
    std::string architecture;  // e.g. "LlamaForCausalLM"
    std::string model_type;    // e.g. "llama"
    std::int64_t vocab_size = 0;
    std::int64_t hidden_size = 0;
    std::int64_t intermediate_size = 0;
    std::int64_t num_layers = 0;
    std::int64_t num_heads = 0;
    std::int64_t num_kv_heads = 0;
    std::int64_t head_dim = 0;
    std::int64_t max_position_embeddings = 0;
    double rms_norm_eps = 1e-6;
    double rope_theta = 10000.0;
    RopeScaling rope_scaling;
    // Per-frequency divisors of the RoPE inverse frequencies (GGUF `rope_freqs.weight`, which
    // llama.cpp's converter writes instead of llama3 scaling); empty when absent.
    std::vector<double> rope_freq_factors;
    bool tie_word_embeddings = false;
    bool attention_bias = false;      // q/k/v (and o for Llama's attention_bias) projections
    bool o_proj_bias = false;
    bool mlp_bias = false;
    bool qk_norm = false;             // Qwen3, Gemma 3: RMSNorm on q and k per head, before RoPE
    // Gemma 3 (all false / zero for the Llama family):
    bool gemma_norms = false;         // RMSNorm scales by (1 + weight) in float32, then casts;
                                      // sandwich norms (post-attention on the attention output,
                                      // pre/post-feedforward around the MLP)
    bool scale_embeddings = false;    // embeddings x sqrt(hidden_size), the factor in the model dtype
    std::string hidden_act = "silu";  // silu | gelu_pytorch_tanh (the gated MLP's activation)
    double query_pre_attn_scalar = 0; // > 0: attention scale query_pre_attn_scalar^-0.5, else head_dim^-0.5
    double final_logit_softcapping = 0;  // > 0: logits = cap * tanh(logits / cap)
    // > 0: sliding-window layers use default RoPE with this base (Gemma 3 rope_local_base_freq);
    // rope_theta / rope_scaling then apply to the full-attention layers only.
    double rope_local_theta = 0;
    // Per layer: 0 = full causal attention, otherwise the sliding-window size (a query at i sees
    // keys j with i - window < j <= i).
    std::vector<std::int64_t> layer_window;
    std::optional<std::int64_t> bos_token_id;
    std::optional<std::int64_t> eos_token_id;
    std::string torch_dtype;          // the checkpoint's declared dtype ("float16", ...) or ""
    nlohmann::json quantization_config;  // null when absent

    std::int64_t num_parameters() const;
};

inline const std::vector<std::string>& supported_architectures() {
    static const std::vector<std::string> kArch{"LlamaForCausalLM", "MistralForCausalLM",
                                                "Qwen2ForCausalLM", "Qwen3ForCausalLM",
                                                "Gemma3ForCausalLM"};
    return kArch;
}

// Parses a config.json document; `source` names the file in error messages.
ModelConfig parse_model_config(const nlohmann::json& j, const std::string& source);
ModelConfig load_model_config(const std::filesystem::path& model_dir);

}  // namespace qbench::model
