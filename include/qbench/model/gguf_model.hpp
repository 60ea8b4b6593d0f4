// GGUF checkpoints as a ModelConfig (from the llama.* metadata) and a WeightSource that serves
// the GGUF tensors under their HF names, dequantized and with llama.cpp's Q/K row permutation
// undone. Mapping and rules: docs/ARCHITECTURE.md, "GGUF".
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "qbench/io/gguf.hpp"
#include "qbench/model/config.hpp"
#include "qbench/model/weights.hpp"
#include "qbench/report/results.hpp"

namespace qbench::model {

// The hyperparameters of a GGUF file whose general.architecture is "llama" or "gemma3". Throws a kBadInput
// Error naming the file and the key for a missing or inconsistent value, or another
// architecture.
ModelConfig model_config_from_gguf(const io::GgufFile& file);

// The HF name of a GGUF tensor ("blk.3.attn_q.weight" -> "model.layers.3.self_attn.q_proj.weight"),
// or "" for a tensor the decoder does not take (e.g. rope_freqs.weight). `arch` is the file's
// general.architecture ("llama" or "gemma3": its ffn_norm is pre_feedforward_layernorm).
std::string hf_name_of_gguf(const std::string& gguf_name, const std::string& arch = "llama");

class GgufWeightSource final : public WeightSource {
public:
    // `config` gives the head counts that undo the Q/K permutation.
    GgufWeightSource(std::shared_ptr<const io::GgufFile> file, const ModelConfig& config);

    bool contains(const std::string& name) const override { return by_hf_.count(name) != 0; }
    std::vector<std::int64_t> shape(const std::string& name) const override { return info(name).shape(); }
    // Float types as stored (F32 / F16 / BF16); block types as uint8 [rows, bytes per row], in
    // the file's row order (Q/K still permuted).
    torch::Tensor raw(const std::string& name, const torch::Device& device) const override;
    // Dequantized (bit-exact float32 first), Q/K rows un-permuted (llama) or norm weights less
    // the +1 the converter stored (gemma3), then `dtype` on `device`.
    // (Q8_0 / Q4_0 Linear weights can instead stay low-bit: quant/gguf.hpp reads raw().)
    torch::Tensor load(const std::string& name, torch::ScalarType dtype, const torch::Device& device,
                       const std::vector<std::int64_t>& shape = {}) const override;
    std::string describe() const override { return file_->path().string(); }
    std::int64_t stored_bytes() const override { return static_cast<std::int64_t>(file_->total_tensor_bytes()); }

    const io::GgufTensorInfo& info(const std::string& hf_name) const;
    // Undoes llama.cpp's Q/K row permutation on any tensor whose first dimension is the rows of
    // `hf_name` (the weight, its bias, or per-row codes / scales of a low-bit form); other
    // tensors are returned unchanged.
    torch::Tensor unpermute_rows(const std::string& hf_name, torch::Tensor rows_first) const;
    // The tensors the decoder takes, by HF name.
    const std::map<std::string, const io::GgufTensorInfo*>& tensors() const { return by_hf_; }
    // Tensor count per stored ggml type name, over the tensors the decoder takes.
    std::map<std::string, int> type_counts() const;

private:
    std::shared_ptr<const io::GgufFile> file_;
    std::int64_t num_heads_ = 0;
    std::int64_t num_kv_heads_ = 0;
    std::string arch_;  // "llama" (Q/K permuted) or "gemma3" (norm weights stored + 1)
    std::map<std::string, const io::GgufTensorInfo*> by_hf_;
};

// One line for the report: the file type and how each stored type is held at run time, from the
// decoder's per-Linear kernels (a Linear whose kernel is not "dense" kept its weight low-bit),
// e.g. "gguf MOSTLY_Q4_0: kept low-bit: Q4_0 as int4pack_mm_cpu x168; dequantized at load to
// bfloat16: F32 x61, Q4_0 x1 (model.embed_tokens.weight)", or "gguf MOSTLY_Q4_1: every tensor
// dequantized at load to float16 (F32 x61, Q4_1 x168, Q8_0 x1); none kept low-bit".
std::string describe_gguf_storage(const io::GgufFile& file, const GgufWeightSource& weights,
                                  const std::string& compute_dtype, const std::vector<report::LayerKernel>& kernels);

}  // namespace qbench::model
