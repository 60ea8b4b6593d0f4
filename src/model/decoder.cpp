#include "qbench/model/decoder.hpp"

#include <cmath>
#include <map>
#include <optional>
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

namespace {

// A dense projection that is a row slice of a weight shared with its neighbours: float32 q, k, v
// (and gate, up) are loaded as one concatenated matrix, so the decoder runs them as one matmul
// through group(); each part still answers for its own slice (linears(), kernels(),
// weight_bytes(), a forward of its own), so nothing outside the decoder sees the fusion.
class FusedPart final : public Linear {
public:
    FusedPart(std::shared_ptr<const DenseLinear> group, const torch::Tensor& bias, std::int64_t row,
              std::int64_t rows, bool leads)
        : group_(std::move(group)), weight_(group_->weight().narrow(0, row, rows)), leads_(leads) {
        if (bias.defined()) bias_ = bias.narrow(0, row, rows);
    }
    torch::Tensor forward(const torch::Tensor& x) const override { return at::linear(x, weight_, bias_); }
    std::int64_t weight_bytes() const override {
        std::int64_t n = weight_.numel() * static_cast<std::int64_t>(weight_.element_size());
        if (bias_.defined()) n += bias_.numel() * static_cast<std::int64_t>(bias_.element_size());
        return n;
    }
    std::string kernel() const override { return "dense"; }
    torch::Tensor dequantized_weight() const override { return weight_.to(torch::kFloat32); }
    // The first part of a group runs the whole group; null for the others.
    const Linear* group() const { return leads_ ? group_.get() : nullptr; }

private:
    std::shared_ptr<const DenseLinear> group_;
    torch::Tensor weight_, bias_;
    bool leads_;
};

// Loads the layers `names` (same input, no quantization) as FusedParts of one [sum out, in]
// weight; the biases likewise when `bias`.
std::vector<std::unique_ptr<Linear>> load_fused(const WeightSource& loader, const std::vector<std::string>& names,
                                                const std::vector<std::int64_t>& outs, std::int64_t in, bool bias,
                                                torch::ScalarType dt, torch::Device dev) {
    std::vector<torch::Tensor> ws, bs;
    for (std::size_t i = 0; i < names.size(); ++i) {
        ws.push_back(loader.load(names[i] + ".weight", dt, dev, {outs[i], in}));
        if (bias) bs.push_back(loader.load(names[i] + ".bias", dt, dev, {outs[i]}));
    }
    std::optional<torch::Tensor> b;
    if (bias) b = torch::cat(bs, 0);
    auto group = std::make_shared<const DenseLinear>(torch::cat(ws, 0), b);
    std::vector<std::unique_ptr<Linear>> parts;
    std::int64_t row = 0;
    for (std::size_t i = 0; i < names.size(); ++i) {
        parts.push_back(std::make_unique<FusedPart>(group, b ? *b : torch::Tensor(), row, outs[i], i == 0));
        row += outs[i];
    }
    return parts;
}

// The fused group that `first` leads, or null when it is an ordinary layer.
const Linear* fused_group(const std::unique_ptr<Linear>& first) {
    const auto* part = dynamic_cast<const FusedPart*>(first.get());
    return part != nullptr ? part->group() : nullptr;
}

}  // namespace

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
    // Dense checkpoints: q/k/v and gate/up as one matmul each (see FusedPart). On the CPU the
    // wider matmul gives the same bits as the separate ones in every dtype (checked for float32,
    // bfloat16, float16 at M = 1..511); on a GPU only float32 is fused, since cuBLAS may pick
    // another reduction for another width and half-precision logits are compared with
    // transformers' bit for bit.
    const bool fuse = !options.linear_factory && (dt == torch::kFloat32 || dev.is_cpu());
    torch::NoGradGuard no_grad;
    d->embed_ = loader.load("model.embed_tokens.weight", dt, dev, {c.vocab_size, c.hidden_size});
    // Gemma3RMSNorm keeps its weight in the model dtype and scales by (1.0 + weight.float()).
    auto norm = [&](const std::string& name, std::int64_t n) {
        auto w = loader.load(name, dt, dev, {n});
        return c.gemma_norms ? w.to(torch::kFloat32) + 1.0 : w;
    };
    d->final_norm_ = norm("model.norm.weight", c.hidden_size);
    const std::int64_t q_out = c.num_heads * c.head_dim, kv_out = c.num_kv_heads * c.head_dim;
    for (std::int64_t i = 0; i < c.num_layers; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        Layer L;
        if (fuse) {
            auto qkv = load_fused(loader, {p + "self_attn.q_proj", p + "self_attn.k_proj", p + "self_attn.v_proj"},
                                  {q_out, kv_out, kv_out}, c.hidden_size, c.attention_bias, dt, dev);
            L.q = std::move(qkv[0]);
            L.k = std::move(qkv[1]);
            L.v = std::move(qkv[2]);
        } else {
            L.q = linear(p + "self_attn.q_proj", c.hidden_size, q_out, c.attention_bias);
            L.k = linear(p + "self_attn.k_proj", c.hidden_size, kv_out, c.attention_bias);
            L.v = linear(p + "self_attn.v_proj", c.hidden_size, kv_out, c.attention_bias);
        }
        L.o = linear(p + "self_attn.o_proj", q_out, c.hidden_size, c.o_proj_bias);
        if (fuse) {
            auto gate_up = load_fused(loader, {p + "mlp.gate_proj", p + "mlp.up_proj"},
                                      {c.intermediate_size, c.intermediate_size}, c.hidden_size, c.mlp_bias, dt, dev);
            L.gate = std::move(gate_up[0]);
            L.up = std::move(gate_up[1]);
        } else {
            L.gate = linear(p + "mlp.gate_proj", c.hidden_size, c.intermediate_size, c.mlp_bias);
            L.up = linear(p + "mlp.up_proj", c.hidden_size, c.intermediate_size, c.mlp_bias);
        }
        L.down = linear(p + "mlp.down_proj", c.intermediate_size, c.hidden_size, c.mlp_bias);
        L.input_norm = norm(p + "input_layernorm.weight", c.hidden_size);
        L.post_norm = norm(p + "post_attention_layernorm.weight", c.hidden_size);
        if (c.qk_norm) {
            L.q_norm = norm(p + "self_attn.q_norm.weight", c.head_dim);
            L.k_norm = norm(p + "self_attn.k_norm.weight", c.head_dim);
        }
        if (c.gemma_norms) {
            L.pre_ff_norm = norm(p + "pre_feedforward_layernorm.weight", c.hidden_size);
            L.post_ff_norm = norm(p + "post_feedforward_layernorm.weight", c.hidden_size);
        }
        L.window = c.layer_window[static_cast<std::size_t>(i)];
        L.local_rope = c.rope_local_theta > 0 && L.window > 0;
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
    if (c.rope_local_theta > 0) {
        // Gemma 3's sliding layers: default RoPE with base rope_local_base_freq.
        ModelConfig local = c;
        local.rope_theta = c.rope_local_theta;
        local.rope_scaling = RopeScaling{};
        local.rope_freq_factors.clear();
        d->inv_freq_local_ = rope_inv_freq(local).to(dev);
    }
    if (c.scale_embeddings) {
        // Gemma3TextScaledWordEmbedding: torch.tensor(hidden_size ** 0.5) (float32), cast to the
        // weight dtype, times the embedding rows.
        d->embed_scale_ = torch::scalar_tensor(std::pow(static_cast<double>(c.hidden_size), 0.5), torch::kFloat32)
                              .to(dev, dt);
    }
    return d;
}

torch::Tensor Decoder::rms_norm(const torch::Tensor& x, const torch::Tensor& weight) const {
    if (x.scalar_type() == torch::kFloat32) {  // the same ops without the no-op casts
        auto var = x.square().mean(-1, /*keepdim=*/true).add_(config_.rms_norm_eps).rsqrt_();
        return weight * (x * var);
    }
    auto h = x.to(torch::kFloat32);
    auto var = h.pow(2).mean(-1, /*keepdim=*/true);
    h = h * torch::rsqrt(var + config_.rms_norm_eps);
    // Gemma: (x * (1 + w)) in float32, then cast; Llama: w * x.to(dtype).
    if (config_.gemma_norms) return (h * weight).to(x.scalar_type());
    return weight * h.to(x.scalar_type());
}

namespace {

// x * cos + rotate_half(x) * sin, with rotate_half(x) = cat(-x2, x1) written as
// roll(x, D/2) = cat(x2, x1) times `sin_signed` = cat(-sin1, sin2): (-a) * b == a * (-b) exactly,
// so this equals transformers' formula bit for bit in every dtype, in 4 ops instead of 8.
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin_signed) {
    return (x * cos).add_(x.roll(x.size(-1) / 2, -1).mul_(sin_signed));
}

}  // namespace

// What every layer of one forward shares: rotary tables, the slots being written and the
// attention masks (one per distinct window size; absent when SDPA needs none).
struct Decoder::Step {
    torch::Tensor cos, sin;                  // [P, T, 1, D], P = B when padded, else 1; sin
                                             // with its first half negated (see apply_rope)
    torch::Tensor cos_local, sin_local;      // the same for Gemma 3's sliding layers (rope_local_theta)
    std::int64_t start = 0;                  // eager: first slot written
    std::int64_t keys = 0;                   // S: key slots attended (start + T, or capacity)
    bool fixed = false;                      // static-shape step (see KVCache)
    torch::Tensor qslot;                     // [T] int64 slots of the queries
    bool causal = false;                     // SDPA's is_causal where no mask is needed
    std::map<std::int64_t, torch::Tensor> masks;  // window (0 = none) -> [P, 1, T, S] bool
};

torch::Tensor Decoder::attention(const Layer& L, const torch::Tensor& x, const Step& step, KVCache* cache,
                                 std::size_t index) const {
    const auto B = x.size(0), T = x.size(1), D = config_.head_dim;
    const auto H = config_.num_heads, KV = config_.num_kv_heads;
    torch::Tensor q, k, v;
    if (const auto* group = fused_group(L.q)) {  // one matmul, then column slices (views)
        auto qkv = group->forward(x);
        q = qkv.narrow(-1, 0, H * D).view({B, T, H, D});
        k = qkv.narrow(-1, H * D, KV * D).view({B, T, KV, D});
        v = qkv.narrow(-1, (H + KV) * D, KV * D).view({B, T, KV, D});
    } else {
        q = L.q->forward(x).view({B, T, H, D});
        k = L.k->forward(x).view({B, T, KV, D});
        v = L.v->forward(x).view({B, T, KV, D});
    }
    if (config_.qk_norm) {
        q = rms_norm(q, L.q_norm);
        k = rms_norm(k, L.k_norm);
    }
    // RoPE on [B, T, heads, D] (tables [P, T, 1, D]), then heads first for SDPA (views).
    const auto& cos = L.local_rope ? step.cos_local : step.cos;
    const auto& sin = L.local_rope ? step.sin_local : step.sin;
    q = apply_rope(q, cos, sin).transpose(1, 2);
    k = apply_rope(k, cos, sin).transpose(1, 2);
    v = v.transpose(1, 2);

    if (cache != nullptr) {
        auto& ck = cache->k[index];
        auto& cv = cache->v[index];
        if (step.fixed) {
            ck.index_copy_(2, step.qslot, k);
            cv.index_copy_(2, step.qslot, v);
            k = ck;
            v = cv;
        } else {  // write the new slots in place, attend over a view of the filled ones
            const auto end = step.start + T;
            ck.narrow(2, step.start, T).copy_(k);
            cv.narrow(2, step.start, T).copy_(v);
            k = ck.narrow(2, 0, end);
            v = cv.narrow(2, 0, end);
        }
    }
    // Gemma 3: query_pre_attn_scalar ** -0.5 (Python's pow); otherwise head_dim ** -0.5.
    const double scale = config_.query_pre_attn_scalar > 0 ? std::pow(config_.query_pre_attn_scalar, -0.5)
                                                           : 1.0 / std::sqrt(static_cast<double>(D));
    const bool gqa = config_.num_kv_heads != config_.num_heads;
    auto found = step.masks.find(L.window);
    std::optional<torch::Tensor> mask;
    if (found != step.masks.end()) mask = found->second;
    auto out = at::scaled_dot_product_attention(q, k, v, mask, 0.0, step.causal && !mask, scale, gqa);
    out = out.transpose(1, 2).reshape({B, T, config_.num_heads * D});
    return L.o->forward(out);
}

torch::Tensor Decoder::forward_hidden(const torch::Tensor& ids, KVCache* cache) const {
    return forward_impl(ids, cache, nullptr);
}

Decoder::NonFiniteSite Decoder::locate_nonfinite(const torch::Tensor& ids) const {
    NonFiniteSite site;
    double last_max = 0.0;
    const Probe probe = [&](std::int64_t layer, const char* stage, const torch::Tensor& x) {
        if (site.found) return;
        const auto a = x.abs().to(torch::kFloat32);
        if (torch::isfinite(a).all().item<bool>()) {
            last_max = a.max().item<double>();
            return;
        }
        site = {true, layer, stage, last_max};
    };
    auto hidden = forward_impl(ids, nullptr, &probe);
    probe(config_.num_layers, "final norm", hidden);
    probe(config_.num_layers, "lm_head", logits_compute_dtype(hidden));
    return site;
}

torch::Tensor Decoder::forward_impl(const torch::Tensor& ids, KVCache* cache, const Probe* probe) const {
    torch::NoGradGuard no_grad;
    if (ids.dim() != 2) throw_runtime("forward: ids must be [batch, tokens], got {} dims", ids.dim());
    auto input = ids.to(options_.device, torch::kInt64);
    const auto T = input.size(1);
    const bool padded = cache != nullptr && cache->pad.defined();
    // Static mode shapes the one-token steps (the ones a CUDA graph captures); a prefill runs
    // eagerly over the filled slots and then sets the device-side slot counter.
    const bool fixed = cache != nullptr && cache->static_shapes && T == 1;
    const auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(options_.device);

    Step step;
    step.fixed = fixed;
    step.start = cache != nullptr ? cache->length : 0;
    if (cache != nullptr && step.start + T > cache->capacity()) {
        throw_runtime("KV cache overflow: {} + {} tokens exceed capacity {}", step.start, T, cache->capacity());
    }
    step.qslot = fixed ? cache->slot + torch::arange(T, i64) : torch::arange(step.start, step.start + T, i64);
    step.keys = fixed ? cache->capacity() : step.start + T;

    // Rotary tables from each row's positions: slot - left padding (padding slots clamp to 0).
    auto pos = padded ? (step.qslot.unsqueeze(0) - cache->pad.unsqueeze(1)).clamp_min(0) : step.qslot.unsqueeze(0);
    auto freqs = pos.to(torch::kFloat32).unsqueeze(-1) * inv_freq_;  // [P, T, D/2]
    auto emb = torch::cat({freqs, freqs}, -1);                       // [P, T, D]
    step.cos = emb.cos().to(options_.dtype).unsqueeze(2);            // [P, T, 1, D]
    step.sin = emb.sin().to(options_.dtype).unsqueeze(2);
    step.sin.narrow(-1, 0, config_.head_dim / 2).neg_();
    if (inv_freq_local_.defined()) {
        auto lf = pos.to(torch::kFloat32).unsqueeze(-1) * inv_freq_local_;
        auto le = torch::cat({lf, lf}, -1);
        step.cos_local = le.cos().to(options_.dtype).unsqueeze(2);
        step.sin_local = le.sin().to(options_.dtype).unsqueeze(2);
        step.sin_local.narrow(-1, 0, config_.head_dim / 2).neg_();
    }

    // Masks: query slot i sees key slot j when j <= i, i - j < W (a window W) and j is not
    // padding; a padding query sees itself only, so no softmax row is empty (no NaN).
    for (const auto& L : layers_) {
        const auto w = L.window;
        if (step.masks.count(w) != 0) continue;
        if (!padded && !fixed && w == 0 && (step.start == 0 || T == 1)) {
            step.causal = T > 1;  // plain causal attention, or one query that sees every key
            continue;
        }
        auto kslot = torch::arange(step.keys, i64).unsqueeze(0);  // [1, S]
        auto qslot = step.qslot.unsqueeze(1);                     // [T, 1]
        auto m = kslot <= qslot;                                  // [T, S]
        if (w > 0) m = m.logical_and(kslot > qslot - w);
        if (padded) {
            auto real = (kslot >= cache->pad.unsqueeze(1)).unsqueeze(1);                      // [B, 1, S]
            m = m.unsqueeze(0).logical_and(real.logical_or((kslot == qslot).unsqueeze(0)));  // [B, T, S]
        } else {
            m = m.unsqueeze(0);
        }
        step.masks.emplace(w, m.unsqueeze(1));
    }

    auto x = F::embedding(input, embed_);
    if (embed_scale_.defined()) x = x * embed_scale_;
    if (probe != nullptr) (*probe)(-1, "embedding", x);
    if (config_.gemma_norms) {
        // Gemma 3: sandwich norms around attention and the GELU-tanh gated MLP.
        for (std::size_t i = 0; i < layers_.size(); ++i) {
            const auto& L = layers_[i];
            auto h = x + rms_norm(attention(L, rms_norm(x, L.input_norm), step, cache, i), L.post_norm);
            if (probe != nullptr) (*probe)(static_cast<std::int64_t>(i), "attention", h);
            auto n = rms_norm(h, L.pre_ff_norm);
            auto m = L.down->forward(at::gelu(L.gate->forward(n), "tanh") * L.up->forward(n));
            x = h + rms_norm(m, L.post_ff_norm);
            if (probe != nullptr) (*probe)(static_cast<std::int64_t>(i), "mlp", x);
        }
    } else {
        const auto I = config_.intermediate_size;
        for (std::size_t i = 0; i < layers_.size(); ++i) {
            const auto& L = layers_[i];
            // Residual adds in place on the fresh projection outputs (a + b == b + a exactly).
            auto h = attention(L, rms_norm(x, L.input_norm), step, cache, i).add_(x);
            if (probe != nullptr) (*probe)(static_cast<std::int64_t>(i), "attention", h);
            auto n = rms_norm(h, L.post_norm);
            torch::Tensor gate, up;
            if (const auto* group = fused_group(L.gate)) {
                auto gu = group->forward(n);
                gate = gu.narrow(-1, 0, I);
                up = gu.narrow(-1, I, I);
            } else {
                gate = L.gate->forward(n);
                up = L.up->forward(n);
            }
            x = L.down->forward(at::silu_(gate) * up).add_(h);
            if (probe != nullptr) (*probe)(static_cast<std::int64_t>(i), "mlp", x);
        }
    }
    if (cache != nullptr) {
        cache->length += T;
        if (fixed) {
            cache->slot.add_(T);
        } else if (cache->slot.defined()) {
            cache->slot.fill_(cache->length);
        }
    }
    return rms_norm(x, final_norm_);
}

torch::Tensor Decoder::logits_compute_dtype(const torch::Tensor& hidden) const {
    torch::NoGradGuard no_grad;
    auto out = lm_head_ ? lm_head_->forward(hidden) : at::linear(hidden, embed_);
    if (config_.final_logit_softcapping > 0) {
        const double cap = config_.final_logit_softcapping;
        out = torch::tanh(out / cap) * cap;
    }
    return out;
}

torch::Tensor Decoder::logits(const torch::Tensor& hidden) const {
    return logits_compute_dtype(hidden).to(torch::kFloat32);
}

KVCache Decoder::make_cache(std::int64_t batch, std::int64_t capacity, bool static_shapes) const {
    KVCache cache;
    auto opts = torch::TensorOptions().dtype(options_.dtype).device(options_.device);
    for (std::size_t i = 0; i < layers_.size(); ++i) {
        cache.k.push_back(torch::zeros({batch, config_.num_kv_heads, capacity, config_.head_dim}, opts));
        cache.v.push_back(torch::zeros({batch, config_.num_kv_heads, capacity, config_.head_dim}, opts));
    }
    cache.static_shapes = static_shapes;
    if (static_shapes) cache.slot = torch::zeros({1}, opts.dtype(torch::kInt64));
    return cache;
}

void KVCache::reset(torch::Tensor new_pad) {
    length = 0;
    pad = std::move(new_pad);
    if (slot.defined()) slot.zero_();
}

std::int64_t Decoder::weight_bytes() const {
    auto bytes = [](const torch::Tensor& t) {
        return t.defined() ? t.numel() * static_cast<std::int64_t>(t.element_size()) : 0;
    };
    std::int64_t n = bytes(embed_) + bytes(final_norm_);
    if (lm_head_) n += lm_head_->weight_bytes();
    for (const auto& L : layers_) {
        for (const auto* lin : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down}) n += (*lin)->weight_bytes();
        n += bytes(L.input_norm) + bytes(L.post_norm) + bytes(L.q_norm) + bytes(L.k_norm) + bytes(L.pre_ff_norm) +
             bytes(L.post_ff_norm);
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
