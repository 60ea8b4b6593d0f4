// A Llama-family decoder (Llama, Mistral, Qwen2, Qwen3, Gemma 3) on LibTorch ops, matching the
// transformers modules op for op: RMSNorm in float32 then cast, RoPE tables in float32 cast to
// the compute dtype, SDPA attention (GQA, optional sliding window), SwiGLU MLP. Gemma 3 adds
// (1 + weight) norms, sandwich norms, scaled embeddings, a GELU-tanh gated MLP, local RoPE on
// its sliding layers and optional final logit softcapping (ModelConfig's Gemma fields).
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "qbench/model/config.hpp"
#include "qbench/model/linear.hpp"
#include "qbench/model/weights.hpp"
#include "qbench/report/results.hpp"

namespace qbench::model {

struct LoadOptions {
    torch::Device device = torch::kCPU;
    torch::ScalarType dtype = torch::kFloat32;  // compute dtype
    LinearFactory linear_factory;               // empty: dense layers from the checkpoint
};

// Per-layer key/value tensors [batch, kv_heads, capacity, head_dim], preallocated.
//
// Slots 0 .. length-1 are filled, the same number in every row. A batch of prompts of different
// lengths is left-padded: row b's first pad[b] slots hold padding that no real token attends to,
// and its token in slot s has position s - pad[b] (transformers' position ids for a left-padded
// attention mask).
//
// Static mode (for CUDA graphs): a one-token forward attends over all `capacity` slots under a
// mask, writes at the device-side `slot` counter and advances it on the device, so one captured
// step can be replayed; the host-side `length` is then kept by the caller (model/generate.hpp).
// `pad` must then stay the same tensor (update it in place).
struct KVCache {
    std::vector<torch::Tensor> k;
    std::vector<torch::Tensor> v;
    std::int64_t length = 0;  // slots filled so far (same for every row)
    torch::Tensor pad;        // [batch] int64 on the device; undefined = no padding
    bool static_shapes = false;
    torch::Tensor slot;       // static mode: [1] int64 on the device, = length
    std::int64_t capacity() const { return k.empty() ? 0 : k[0].size(2); }
    std::int64_t batch() const { return k.empty() ? 0 : k[0].size(0); }
    // Empties the cache for reuse (keeps the buffers); `pad` as for a new batch.
    void reset(torch::Tensor new_pad = {});
};

class Decoder {
public:
    // Loads config.json + safetensors from an HF model directory.
    static std::unique_ptr<Decoder> load(const std::filesystem::path& model_dir, const LoadOptions& options);
    // Builds the decoder from a config and any source of HF-named tensors (e.g. a GGUF file
    // mapped to HF names).
    static std::unique_ptr<Decoder> load(const ModelConfig& config, const WeightSource& weights,
                                         const LoadOptions& options);

    const ModelConfig& config() const { return config_; }
    torch::Device device() const { return options_.device; }
    torch::ScalarType dtype() const { return options_.dtype; }

    // ids [B, T] (int64) -> final hidden states [B, T, hidden] in the compute dtype.
    // Without a cache, positions are 0..T-1 and attention is causal within the T tokens (rows
    // may be right-padded: padding never affects earlier positions). With a cache, the tokens
    // fill slots cache->length .. cache->length + T - 1 and attend to the cached prefix (minus
    // each row's left padding, see KVCache); the cache is advanced by T.
    torch::Tensor forward_hidden(const torch::Tensor& ids, KVCache* cache = nullptr) const;
    // hidden [..., hidden] -> logits [..., vocab] in float32 (lm_head in the compute dtype, then
    // upcast, as transformers does before its loss).
    torch::Tensor logits(const torch::Tensor& hidden) const;
    // hidden [..., hidden] -> logits [..., vocab] in the compute dtype (enough for an argmax:
    // the float32 upcast is exact and keeps the order).
    torch::Tensor logits_compute_dtype(const torch::Tensor& hidden) const;
    // ids [B, T] -> logits [B, T, vocab] float32.
    torch::Tensor forward(const torch::Tensor& ids) const { return logits(forward_hidden(ids)); }

    // Where a forward of `ids` [1, T] (no cache) first yields a non-finite value: re-runs it with a
    // finiteness check after the embedding, each layer's attention and MLP blocks (the residual
    // stream after them), the final norm and the LM head. For diagnosing a non-finite logit only
    // (one forward plus a check per block).
    struct NonFiniteSite {
        bool found = false;
        std::int64_t layer = -1;     // -1: embedding; else the layer (final norm / lm_head: num_layers)
        std::string stage;           // "embedding" | "attention" | "mlp" | "final norm" | "lm_head"
        double max_abs_before = 0;   // largest |value| of the stage before (the last finite one)
    };
    NonFiniteSite locate_nonfinite(const torch::Tensor& ids) const;

    // A zeroed cache of `capacity` slots per row; `static_shapes` for CUDA-graph decode.
    KVCache make_cache(std::int64_t batch, std::int64_t capacity, bool static_shapes = false) const;

    std::int64_t weight_bytes() const;
    std::vector<report::LayerKernel> kernels() const;
    // Every Linear by checkpoint name (for quantization tests and diagnostics).
    std::vector<std::pair<std::string, const Linear*>> linears() const;

private:
    struct Layer {
        std::unique_ptr<Linear> q, k, v, o, gate, up, down;
        // Gemma norms hold (1 + weight) in float32.
        torch::Tensor input_norm, post_norm, q_norm, k_norm;
        torch::Tensor pre_ff_norm, post_ff_norm;  // Gemma 3 only
        std::int64_t window = 0;
        bool local_rope = false;  // Gemma 3 sliding layer: the rope_local_theta tables
    };

    Decoder(ModelConfig config, LoadOptions options);
    // Sees the residual stream after each block: (layer, stage, x); see locate_nonfinite.
    using Probe = std::function<void(std::int64_t, const char*, const torch::Tensor&)>;
    torch::Tensor forward_impl(const torch::Tensor& ids, KVCache* cache, const Probe* probe) const;
    torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight) const;
    struct Step;  // per-forward positions, slots and masks (decoder.cpp)
    torch::Tensor attention(const Layer& layer, const torch::Tensor& x, const Step& step, KVCache* cache,
                            std::size_t index) const;

    ModelConfig config_;
    LoadOptions options_;
    torch::Tensor embed_;
    torch::Tensor final_norm_;
    std::unique_ptr<Linear> lm_head_;  // null when tied to the embedding
    std::vector<Layer> layers_;
    torch::Tensor inv_freq_;           // [head_dim / 2] float32
    torch::Tensor inv_freq_local_;     // Gemma 3 sliding layers; undefined otherwise
    torch::Tensor embed_scale_;        // Gemma 3: sqrt(hidden) as a 0-dim compute-dtype tensor
};

// The RoPE inverse frequencies transformers computes for this config (float32).
torch::Tensor rope_inv_freq(const ModelConfig& config);

}  // namespace qbench::model
