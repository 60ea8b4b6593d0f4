#include "qbench/model/random_weights.hpp"

#include <functional>

#include "qbench/util/error.hpp"

namespace qbench::model {

RandomWeights::RandomWeights(const ModelConfig& c, std::uint64_t seed) : seed_(seed), gemma_norms_(c.gemma_norms) {
    const auto H = c.hidden_size, I = c.intermediate_size;
    const auto q_out = c.num_heads * c.head_dim, kv_out = c.num_kv_heads * c.head_dim;
    shapes_["model.embed_tokens.weight"] = {c.vocab_size, H};
    shapes_["model.norm.weight"] = {H};
    if (!c.tie_word_embeddings) shapes_["lm_head.weight"] = {c.vocab_size, H};
    for (std::int64_t i = 0; i < c.num_layers; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        auto linear = [&](const std::string& name, std::int64_t in, std::int64_t out, bool bias) {
            shapes_[p + name + ".weight"] = {out, in};
            if (bias) shapes_[p + name + ".bias"] = {out};
        };
        linear("self_attn.q_proj", H, q_out, c.attention_bias);
        linear("self_attn.k_proj", H, kv_out, c.attention_bias);
        linear("self_attn.v_proj", H, kv_out, c.attention_bias);
        linear("self_attn.o_proj", q_out, H, c.o_proj_bias);
        linear("mlp.gate_proj", H, I, c.mlp_bias);
        linear("mlp.up_proj", H, I, c.mlp_bias);
        linear("mlp.down_proj", I, H, c.mlp_bias);
        shapes_[p + "input_layernorm.weight"] = {H};
        shapes_[p + "post_attention_layernorm.weight"] = {H};
        if (c.gemma_norms) {  // Gemma 3's sandwich norms around the MLP
            shapes_[p + "pre_feedforward_layernorm.weight"] = {H};
            shapes_[p + "post_feedforward_layernorm.weight"] = {H};
        }
        if (c.qk_norm) {
            shapes_[p + "self_attn.q_norm.weight"] = {c.head_dim};
            shapes_[p + "self_attn.k_norm.weight"] = {c.head_dim};
        }
    }
}

std::vector<std::int64_t> RandomWeights::shape(const std::string& name) const {
    auto it = shapes_.find(name);
    if (it == shapes_.end()) throw_bad_input("random weights: no tensor '{}'", name);
    return it->second;
}

torch::Tensor RandomWeights::raw(const std::string& name, const torch::Device& device) const {
    return load(name, torch::kFloat32, device);
}

torch::Tensor RandomWeights::load(const std::string& name, torch::ScalarType dtype, const torch::Device& device,
                                  const std::vector<std::int64_t>& expected) const {
    const auto s = shape(name);
    if (!expected.empty() && expected != s) throw_bad_input("random weights: '{}' has an unexpected shape", name);
    auto opts = torch::TensorOptions().dtype(dtype).device(device);
    // Norms scale by 1: weight 1, or 0 where the model scales by (1 + weight) (Gemma).
    if (name.ends_with("norm.weight")) return gemma_norms_ ? torch::zeros(s, opts) : torch::ones(s, opts);
    // One generator per tensor, seeded from the run seed and the name: independent of load order.
    auto gen = at::detail::createCPUGenerator(seed_ ^ std::hash<std::string>{}(name));
    if (device.is_cpu()) return torch::randn(s, gen, opts.dtype(torch::kFloat32)).mul_(0.02).to(dtype);
    // On a GPU draw there (fast for 7B) from the device's default generator, seeded per tensor.
    torch::manual_seed(seed_ ^ std::hash<std::string>{}(name));
    return torch::randn(s, opts).mul_(0.02);
}

std::int64_t RandomWeights::stored_bytes() const {
    std::int64_t n = 0;
    for (const auto& [name, s] : shapes_) {
        std::int64_t e = 2;
        for (auto d : s) e *= d;
        n += e;
    }
    return n;
}

}  // namespace qbench::model
