#include "qbench/model/decoder.hpp"

#include <cmath>
#include <numbers>

#include "qbench/model/weights.hpp"
#include "qbench/util/error.hpp"

namespace qbench::model {

namespace F = torch::nn::functional;
using torch::indexing::Slice;

torch::Tensor rope_inv_freq(const ModelConfig& c) {
    const auto dim = c.head_dim;
    auto exponents = torch::arange(0, dim, 2, torch::kInt64).to(torch::kFloat32) / static_cast<float>(dim);
    auto inv_freq = 1.0 / torch::pow(static_cast<float>(c.rope_theta), exponents);
    const auto& rs = c.rope_scaling;
    if (rs.type == "linear") {
        inv_freq = inv_freq / static_cast<float>(rs.factor);
    } else if (rs.type == "llama3") {
        const double old_len = static_cast<double>(rs.original_max_position_embeddings);
        const double low_wavelen = old_len / rs.low_freq_factor;
        const double high_wavelen = old_len / rs.high_freq_factor;
        auto wavelen = 2 * std::numbers::pi / inv_freq;
        auto scaled = torch::where(wavelen > low_wavelen, inv_freq / rs.factor, inv_freq);
        auto smooth = (old_len / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
        auto smoothed = (1 - smooth) * scaled / rs.factor + smooth * scaled;
        auto medium = (wavelen >= high_wavelen).logical_and(wavelen <= low_wavelen);
        inv_freq = torch::where(medium, smoothed, scaled);
    }
    if (!c.rope_freq_factors.empty()) {
        inv_freq = inv_freq / torch::tensor(c.rope_freq_factors, torch::kFloat64).to(torch::kFloat32);
    }
    return inv_freq.to(torch::kFloat32);
}

Decoder::Decoder(ModelConfig config, LoadOptions options)
    : config_(std::move(config)), options_(std::move(options)) {}

std::unique_ptr<Decoder> Decoder::load(const std::filesystem::path& model_dir, const LoadOptions& options) {
    const auto config = load_model_config(model_dir);
    const WeightLoader loader(model_dir);
    return load(config, loader, options);
}

std::unique_ptr<Decoder> Decoder::load(const ModelConfig& config, const WeightSource& loader,
                                       const LoadOptions& options) {
    std::unique_ptr<Decoder> d(new Decoder(config, options));
    const auto& c = d->config_;
    const auto dev = options.device;
    const auto dt = options.dtype;
    LinearFactory factory = options.linear_factory ? options.linear_factory : make_dense_linear;
    auto linear = [&](const std::string& name, std::int64_t in, std::int64_t out, bool bias) {
        return factory(LinearSpec{name, in, out, bias, dt, dev}, loader);
    };
    torch::NoGradGuard no_grad;
    d->embed_ = loader.load("model.embed_tokens.weight", dt, dev, {c.vocab_size, c.hidden_size});
    d->final_norm_ = loader.load("model.norm.weight", dt, dev, {c.hidden_size});
    const std::int64_t q_out = c.num_heads * c.head_dim, kv_out = c.num_kv_heads * c.head_dim;
    for (std::int64_t i = 0; i < c.num_layers; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        Layer L;
        L.q = linear(p + "self_attn.q_proj", c.hidden_size, q_out, c.attention_bias);
        L.k = linear(p + "self_attn.k_proj", c.hidden_size, kv_out, c.attention_bias);
        L.v = linear(p + "self_attn.v_proj", c.hidden_size, kv_out, c.attention_bias);
        L.o = linear(p + "self_attn.o_proj", q_out, c.hidden_size, c.o_proj_bias);
        L.gate = linear(p + "mlp.gate_proj", c.hidden_size, c.intermediate_size, c.mlp_bias);
        L.up = linear(p + "mlp.up_proj", c.hidden_size, c.intermediate_size, c.mlp_bias);
        L.down = linear(p + "mlp.down_proj", c.intermediate_size, c.hidden_size, c.mlp_bias);
        L.input_norm = loader.load(p + "input_layernorm.weight", dt, dev, {c.hidden_size});
        L.post_norm = loader.load(p + "post_attention_layernorm.weight", dt, dev, {c.hidden_size});
        if (c.qk_norm) {
            L.q_norm = loader.load(p + "self_attn.q_norm.weight", dt, dev, {c.head_dim});
            L.k_norm = loader.load(p + "self_attn.k_norm.weight", dt, dev, {c.head_dim});
        }
        L.window = c.layer_window[static_cast<std::size_t>(i)];
        d->layers_.push_back(std::move(L));
    }
    if (!c.tie_word_embeddings) {
        if (!loader.contains("lm_head.weight")) {
            throw_bad_input("{}: missing tensor 'lm_head.weight' (tie_word_embeddings is false)",
                            loader.describe());
        }
        d->lm_head_ = linear("lm_head", c.hidden_size, c.vocab_size, false);
    }
    d->inv_freq_ = rope_inv_freq(c).to(dev);
    return d;
}

torch::Tensor Decoder::rms_norm(const torch::Tensor& x, const torch::Tensor& weight) const {
    auto h = x.to(torch::kFloat32);
    auto var = h.pow(2).mean(-1, /*keepdim=*/true);
    h = h * torch::rsqrt(var + config_.rms_norm_eps);
    return weight * h.to(x.scalar_type());
}

namespace {

torch::Tensor rotate_half(const torch::Tensor& x) {
    const auto half = x.size(-1) / 2;
    return torch::cat({-x.index({"...", Slice(half, torch::indexing::None)}),
                       x.index({"...", Slice(torch::indexing::None, half)})}, -1);
}

}  // namespace

torch::Tensor Decoder::attention(const Layer& L, const torch::Tensor& x, const torch::Tensor& cos,
                                 const torch::Tensor& sin, KVCache* cache, std::size_t index) const {
    const auto B = x.size(0), T = x.size(1), D = config_.head_dim;
    auto q = L.q->forward(x).view({B, T, config_.num_heads, D});
    auto k = L.k->forward(x).view({B, T, config_.num_kv_heads, D});
    auto v = L.v->forward(x).view({B, T, config_.num_kv_heads, D}).transpose(1, 2);
    if (config_.qk_norm) {
        q = rms_norm(q, L.q_norm);
        k = rms_norm(k, L.k_norm);
    }
    q = q.transpose(1, 2);
    k = k.transpose(1, 2);
    q = q * cos + rotate_half(q) * sin;
    k = k * cos + rotate_half(k) * sin;

    std::int64_t start = 0;
    if (cache != nullptr) {
        start = cache->length;
        if (start + T > cache->capacity()) {
            throw_runtime("KV cache overflow: {} + {} tokens exceed capacity {}", start, T, cache->capacity());
        }
        cache->k[index].index_put_({Slice(), Slice(), Slice(start, start + T)}, k);
        cache->v[index].index_put_({Slice(), Slice(), Slice(start, start + T)}, v);
        k = cache->k[index].index({Slice(), Slice(), Slice(0, start + T)});
        v = cache->v[index].index({Slice(), Slice(), Slice(0, start + T)});
    }
    const auto S = start + T;
    const double scale = 1.0 / std::sqrt(static_cast<double>(D));
    const bool gqa = config_.num_kv_heads != config_.num_heads;
    torch::Tensor out;
    if (start == 0 && L.window == 0) {
        out = at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/T > 1, scale, gqa);
    } else {
        // Query i (position start + i) sees key j when j <= start + i and, with a window W,
        // start + i - j < W.
        auto qpos = torch::arange(start, S, torch::TensorOptions().dtype(torch::kInt64).device(x.device()))
                        .unsqueeze(1);
        auto kpos = torch::arange(0, S, torch::TensorOptions().dtype(torch::kInt64).device(x.device()))
                        .unsqueeze(0);
        auto mask = kpos <= qpos;
        if (L.window > 0) mask = mask.logical_and(kpos > qpos - L.window);
        out = at::scaled_dot_product_attention(q, k, v, mask, 0.0, false, scale, gqa);
    }
    out = out.transpose(1, 2).reshape({B, T, config_.num_heads * D});
    return L.o->forward(out);
}

torch::Tensor Decoder::forward_hidden(const torch::Tensor& ids, KVCache* cache) const {
    torch::NoGradGuard no_grad;
    if (ids.dim() != 2) throw_runtime("forward: ids must be [batch, tokens], got {} dims", ids.dim());
    auto input = ids.to(options_.device, torch::kInt64);
    const std::int64_t start = cache != nullptr ? cache->length : 0;
    const auto T = input.size(1);
    auto x = F::embedding(input, embed_);

    auto pos = torch::arange(start, start + T, torch::TensorOptions().dtype(torch::kFloat32).device(options_.device));
    auto freqs = pos.unsqueeze(1) * inv_freq_.unsqueeze(0);       // [T, D/2]
    auto emb = torch::cat({freqs, freqs}, -1);                      // [T, D]
    auto cos = emb.cos().to(options_.dtype).unsqueeze(0).unsqueeze(0);  // [1, 1, T, D]
    auto sin = emb.sin().to(options_.dtype).unsqueeze(0).unsqueeze(0);

    for (std::size_t i = 0; i < layers_.size(); ++i) {
        const auto& L = layers_[i];
        auto h = x + attention(L, rms_norm(x, L.input_norm), cos, sin, cache, i);
        auto n = rms_norm(h, L.post_norm);
        x = h + L.down->forward(F::silu(L.gate->forward(n)) * L.up->forward(n));
    }
    if (cache != nullptr) cache->length += T;
    return rms_norm(x, final_norm_);
}

torch::Tensor Decoder::logits(const torch::Tensor& hidden) const {
    torch::NoGradGuard no_grad;
    auto out = lm_head_ ? lm_head_->forward(hidden) : at::linear(hidden, embed_);
    return out.to(torch::kFloat32);
}

KVCache Decoder::make_cache(std::int64_t batch, std::int64_t capacity) const {
    KVCache cache;
    auto opts = torch::TensorOptions().dtype(options_.dtype).device(options_.device);
    for (std::size_t i = 0; i < layers_.size(); ++i) {
        cache.k.push_back(torch::zeros({batch, config_.num_kv_heads, capacity, config_.head_dim}, opts));
        cache.v.push_back(torch::zeros({batch, config_.num_kv_heads, capacity, config_.head_dim}, opts));
    }
    return cache;
}

std::int64_t Decoder::weight_bytes() const {
    auto bytes = [](const torch::Tensor& t) {
        return t.defined() ? t.numel() * static_cast<std::int64_t>(t.element_size()) : 0;
    };
    std::int64_t n = bytes(embed_) + bytes(final_norm_);
    if (lm_head_) n += lm_head_->weight_bytes();
    for (const auto& L : layers_) {
        for (const auto* lin : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down}) n += (*lin)->weight_bytes();
        n += bytes(L.input_norm) + bytes(L.post_norm) + bytes(L.q_norm) + bytes(L.k_norm);
    }
    return n;
}

std::vector<std::pair<std::string, const Linear*>> Decoder::linears() const {
    std::vector<std::pair<std::string, const Linear*>> out;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
        const auto& L = layers_[i];
        const std::string p = "model.layers." + std::to_string(i) + ".";
        out.emplace_back(p + "self_attn.q_proj", L.q.get());
        out.emplace_back(p + "self_attn.k_proj", L.k.get());
        out.emplace_back(p + "self_attn.v_proj", L.v.get());
        out.emplace_back(p + "self_attn.o_proj", L.o.get());
        out.emplace_back(p + "mlp.gate_proj", L.gate.get());
        out.emplace_back(p + "mlp.up_proj", L.up.get());
        out.emplace_back(p + "mlp.down_proj", L.down.get());
    }
    if (lm_head_) out.emplace_back("lm_head", lm_head_.get());
    return out;
}

std::vector<report::LayerKernel> Decoder::kernels() const {
    std::vector<report::LayerKernel> out;
    for (const auto& [name, lin] : linears()) out.push_back({name, lin->kernel()});
    return out;
}

}  // namespace qbench::model
