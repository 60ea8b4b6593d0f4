#include "qbench/model/gguf_model.hpp"

#include <fmt/ranges.h>

#include <array>
#include <set>

#include "qbench/io/gguf_dequant.hpp"
#include "qbench/util/error.hpp"

namespace qbench::model {

namespace {

// llama.cpp's per-block tensor names (LLM_TENSOR_NAMES) -> the HF module inside a layer.
const std::map<std::string, std::string>& block_names() {
    static const std::map<std::string, std::string> kNames{
        {"attn_q", "self_attn.q_proj"},     {"attn_k", "self_attn.k_proj"},
        {"attn_v", "self_attn.v_proj"},     {"attn_output", "self_attn.o_proj"},
        {"ffn_gate", "mlp.gate_proj"},      {"ffn_up", "mlp.up_proj"},
        {"ffn_down", "mlp.down_proj"},      {"attn_norm", "input_layernorm"},
        {"ffn_norm", "post_attention_layernorm"},
    };
    return kNames;
}

// Gemma 3's per-block names where they differ from llama's (gguf-py's tensor map for GEMMA3):
// ffn_norm is the pre-feedforward norm, the sandwich norms and the per-head q/k norms.
const std::map<std::string, std::string>& gemma3_block_names() {
    static const std::map<std::string, std::string> kNames{
        {"ffn_norm", "pre_feedforward_layernorm"},
        {"post_attention_norm", "post_attention_layernorm"},
        {"post_ffw_norm", "post_feedforward_layernorm"},
        {"attn_q_norm", "self_attn.q_norm"},
        {"attn_k_norm", "self_attn.k_norm"},
    };
    return kNames;
}

// llama_ftype names (llama.h), for the report.
std::string file_type_name(std::uint64_t t) {
    static const std::map<std::uint64_t, const char*> kNames{
        {0, "ALL_F32"},         {1, "MOSTLY_F16"},      {2, "MOSTLY_Q4_0"},     {3, "MOSTLY_Q4_1"},
        {7, "MOSTLY_Q8_0"},     {8, "MOSTLY_Q5_0"},     {9, "MOSTLY_Q5_1"},     {10, "MOSTLY_Q2_K"},
        {11, "MOSTLY_Q3_K_S"},  {12, "MOSTLY_Q3_K_M"},  {13, "MOSTLY_Q3_K_L"},  {14, "MOSTLY_Q4_K_S"},
        {15, "MOSTLY_Q4_K_M"},  {16, "MOSTLY_Q5_K_S"},  {17, "MOSTLY_Q5_K_M"},  {18, "MOSTLY_Q6_K"},
        {32, "MOSTLY_BF16"},
    };
    auto it = kNames.find(t);
    return it == kNames.end() ? fmt::format("file_type {}", t) : it->second;
}

// What llama.cpp's gemma3 loader fixes rather than reads (llama-model.cpp, LLM_ARCH_GEMMA3):
// every 6th layer global, the others sliding with gemma3.attention.sliding_window and RoPE base
// 10000 unscaled; attention scale 1/sqrt(head_dim), or 1/sqrt(hidden / heads) for the 62-layer
// 27B. transformers' GGUF loading takes the same from Gemma3TextConfig's defaults
// (sliding_window_pattern 6, rope_local_base_freq 10000, query_pre_attn_scalar 256 = head_dim
// of every Gemma 3 but the 27B). Norm weights are stored with +1 (GgufWeightSource undoes it).
void gemma3_from_gguf(const io::GgufFile& f, ModelConfig& c) {
    const std::string src = f.path().string();
    if (f.has("gemma3.attention.value_length") &&
        static_cast<std::int64_t>(f.get_uint("gemma3.attention.value_length")) != c.head_dim) {
        throw_bad_input("{}: gemma3.attention.value_length {} differs from key_length {}", src,
                        f.get_uint("gemma3.attention.value_length"), c.head_dim);
    }
    const auto window = static_cast<std::int64_t>(f.get_uint("gemma3.attention.sliding_window"));
    if (window <= 0) throw_bad_input("{}: gemma3.attention.sliding_window must be > 0", src);
    for (std::int64_t i = 0; i < c.num_layers; ++i) {
        if ((i + 1) % 6 != 0) c.layer_window[static_cast<std::size_t>(i)] = window;
    }
    c.qk_norm = true;
    c.gemma_norms = true;
    c.scale_embeddings = true;
    c.hidden_act = "gelu_pytorch_tanh";
    c.rope_local_theta = 10000.0;
    c.query_pre_attn_scalar = static_cast<double>(c.num_layers == 62 ? c.hidden_size / c.num_heads : c.head_dim);
    if (!c.rope_freq_factors.empty()) throw_bad_input("{}: rope_freqs.weight is not expected in a gemma3 file", src);
}

}  // namespace

std::string hf_name_of_gguf(const std::string& g, const std::string& arch) {
    if (g == "token_embd.weight") return "model.embed_tokens.weight";
    if (g == "output_norm.weight") return "model.norm.weight";
    if (g == "output.weight") return "lm_head.weight";
    if (g.rfind("blk.", 0) != 0) return "";
    const auto dot1 = g.find('.', 4);
    if (dot1 == std::string::npos) return "";
    const auto dot2 = g.find('.', dot1 + 1);
    if (dot2 == std::string::npos) return "";
    const auto layer = g.substr(4, dot1 - 4);
    if (layer.empty() || layer.find_first_not_of("0123456789") != std::string::npos) return "";
    const auto part = g.substr(dot1 + 1, dot2 - dot1 - 1);
    if (arch == "gemma3") {
        const auto gt = gemma3_block_names().find(part);
        if (gt != gemma3_block_names().end()) return "model.layers." + layer + "." + gt->second + g.substr(dot2);
    }
    const auto it = block_names().find(part);
    if (it == block_names().end()) return "";
    return "model.layers." + layer + "." + it->second + g.substr(dot2);
}

ModelConfig model_config_from_gguf(const io::GgufFile& f) {
    const std::string src = f.path().string();
    const auto arch = f.get_string("general.architecture");
    const bool gemma3 = arch == "gemma3";
    if (arch != "llama" && !gemma3) {
        throw_bad_input("{}: GGUF architecture '{}' is not supported (supported: llama, gemma3)", src, arch);
    }
    auto key = [&](const char* k) { return arch + "." + k; };
    auto positive = [&](const char* k) {
        const auto v = f.get_uint(key(k));
        if (v == 0 || v > (1ull << 40)) throw_bad_input("{}: metadata key '{}' = {} is out of range", src, key(k), v);
        return static_cast<std::int64_t>(v);
    };
    ModelConfig c;
    c.architecture = gemma3 ? "Gemma3ForCausalLM" : "LlamaForCausalLM";
    c.model_type = gemma3 ? "gemma3_text" : "llama";
    c.hidden_size = positive("embedding_length");
    c.num_layers = positive("block_count");
    c.intermediate_size = positive("feed_forward_length");
    c.num_heads = positive("attention.head_count");
    c.num_kv_heads = f.has(key("attention.head_count_kv")) ? positive("attention.head_count_kv") : c.num_heads;
    c.max_position_embeddings = positive("context_length");
    c.rms_norm_eps = f.get_float(key("attention.layer_norm_rms_epsilon"));
    c.rope_theta = f.get_float_or(key("rope.freq_base"), gemma3 ? 1000000.0 : 10000.0);
    if (c.num_heads % c.num_kv_heads != 0) {
        throw_bad_input("{}: head_count {} is not a multiple of head_count_kv {}", src, c.num_heads, c.num_kv_heads);
    }
    if (f.has(key("attention.key_length"))) {
        c.head_dim = positive("attention.key_length");
    } else if (f.has(key("rope.dimension_count"))) {
        c.head_dim = positive("rope.dimension_count");
    } else {
        c.head_dim = c.hidden_size / c.num_heads;
    }
    if (f.has(key("rope.dimension_count")) && positive("rope.dimension_count") != c.head_dim) {
        throw_bad_input("{}: partial RoPE (rope.dimension_count {} < head dim {}) is not supported", src,
                        positive("rope.dimension_count"), c.head_dim);
    }
    if (c.head_dim % 2 != 0) throw_bad_input("{}: the head dimension {} is odd", src, c.head_dim);

    const auto scaling = f.get_string_or(key("rope.scaling.type"), "none");
    if (scaling == "linear") {
        c.rope_scaling.type = "linear";
        c.rope_scaling.factor = f.get_float(key("rope.scaling.factor"));
    } else if (scaling != "none") {
        throw_bad_input("{}: rope.scaling.type '{}' is not supported (none, linear; llama3 comes as rope_freqs)",
                        src, scaling);
    }
    if (const auto* rf = f.find_tensor("rope_freqs.weight")) {
        if (rf->ggml_type() != io::GgmlType::kF32 || rf->numel() != c.head_dim / 2) {
            throw_bad_input("{}: tensor 'rope_freqs.weight' must be F32 with {} values", src, c.head_dim / 2);
        }
        std::vector<float> v(static_cast<std::size_t>(rf->numel()));
        io::dequantize(rf->ggml_type(), f.data(*rf), v);
        c.rope_freq_factors.assign(v.begin(), v.end());
    }

    const auto& embd = f.tensor("token_embd.weight");
    if (embd.ne.size() != 2 || embd.ne[0] != c.hidden_size) {
        throw_bad_input("{}: tensor 'token_embd.weight' has dims [{}], expected [{}, vocab]", src,
                        fmt::join(embd.ne, ", "), c.hidden_size);
    }
    c.vocab_size = embd.ne[1];
    if (f.has(key("vocab_size")) && static_cast<std::int64_t>(f.get_uint(key("vocab_size"))) != c.vocab_size) {
        throw_bad_input("{}: {} = {} but token_embd.weight has {} rows", src, key("vocab_size"),
                        f.get_uint(key("vocab_size")), c.vocab_size);
    }
    c.tie_word_embeddings = f.find_tensor("output.weight") == nullptr;
    c.attention_bias = f.find_tensor("blk.0.attn_q.bias") != nullptr;
    c.o_proj_bias = f.find_tensor("blk.0.attn_output.bias") != nullptr;
    c.mlp_bias = f.find_tensor("blk.0.ffn_up.bias") != nullptr;
    c.layer_window.assign(static_cast<std::size_t>(c.num_layers), 0);
    if (gemma3) gemma3_from_gguf(f, c);
    if (f.has("tokenizer.ggml.bos_token_id")) c.bos_token_id = f.get_int("tokenizer.ggml.bos_token_id");
    if (f.has("tokenizer.ggml.eos_token_id")) c.eos_token_id = f.get_int("tokenizer.ggml.eos_token_id");
    return c;
}

GgufWeightSource::GgufWeightSource(std::shared_ptr<const io::GgufFile> file, const ModelConfig& config)
    : file_(std::move(file)), num_heads_(config.num_heads), num_kv_heads_(config.num_kv_heads),
      arch_(config.architecture == "Gemma3ForCausalLM" ? "gemma3" : "llama") {
    for (const auto& t : file_->tensors()) {
        auto hf = hf_name_of_gguf(t.name, arch_);
        if (!hf.empty()) by_hf_[hf] = &t;
    }
}

const io::GgufTensorInfo& GgufWeightSource::info(const std::string& hf_name) const {
    auto it = by_hf_.find(hf_name);
    if (it == by_hf_.end()) {
        throw_bad_input("{}: no GGUF tensor for '{}'", file_->path().string(), hf_name);
    }
    return *it->second;
}

torch::Tensor GgufWeightSource::raw(const std::string& name, const torch::Device& device) const {
    const auto& t = info(name);
    auto bytes = file_->data(t);
    auto* ptr = const_cast<std::uint8_t*>(bytes.data());
    torch::Tensor view;
    switch (t.ggml_type()) {
        case io::GgmlType::kF32: view = torch::from_blob(ptr, t.shape(), torch::kFloat32); break;
        case io::GgmlType::kF16: view = torch::from_blob(ptr, t.shape(), torch::kFloat16); break;
        case io::GgmlType::kBF16: view = torch::from_blob(ptr, t.shape(), torch::kBFloat16); break;
        default: {
            const auto rows = t.numel() / t.row_length();
            view = torch::from_blob(ptr, {rows, static_cast<std::int64_t>(t.nbytes) / rows}, torch::kUInt8);
        }
    }
    return view.to(device, view.scalar_type(), false, /*copy=*/true);
}

torch::Tensor GgufWeightSource::unpermute_rows(const std::string& name, torch::Tensor w) const {
    // convert_hf_to_gguf.py permutes q_proj / k_proj rows (weights and biases) from HF's
    // rotate-half layout to interleaved pairs: w.reshape(n_head, 2, d/2, ...).swapaxes(1, 2).
    // The inverse is reshape(n_head, d/2, 2, ...).swapaxes(1, 2).
    const auto& t = info(name);
    if (arch_ != "llama") return w;  // only convert_hf_to_gguf.py's llama path permutes Q/K
    const bool is_q = t.name.find(".attn_q.") != std::string::npos;
    const bool is_k = t.name.find(".attn_k.") != std::string::npos;
    if (!is_q && !is_k) return w;
    const auto n_head = is_q ? num_heads_ : num_kv_heads_;
    const auto sizes = w.sizes().vec();
    const auto rows = sizes[0];
    if (rows % (2 * n_head) != 0) {
        throw_bad_input("{}: tensor '{}' has {} rows, not a multiple of 2 x {} heads", file_->path().string(),
                        t.name, rows, n_head);
    }
    std::vector<std::int64_t> split{n_head, rows / n_head / 2, 2};
    split.insert(split.end(), sizes.begin() + 1, sizes.end());
    return w.reshape(split).transpose(1, 2).contiguous().reshape(sizes);
}

torch::Tensor GgufWeightSource::load(const std::string& name, torch::ScalarType dtype, const torch::Device& device,
                                     const std::vector<std::int64_t>& shape) const {
    const auto& t = info(name);
    const auto stored = t.shape();
    if (!shape.empty() && stored != shape) {
        throw_bad_input("{}: tensor '{}' ('{}') has shape [{}], expected [{}]", file_->path().string(), t.name,
                        name, fmt::join(stored, ", "), fmt::join(shape, ", "));
    }
    if (!io::can_dequantize(t.ggml_type())) {
        throw_bad_input("{}: tensor '{}' has type {}, which qbench cannot dequantize", file_->path().string(),
                        t.name, io::ggml_type_name(t.ggml_type()));
    }
    auto w = torch::empty(stored, torch::kFloat32);
    io::dequantize(t.ggml_type(), file_->data(t), {w.data_ptr<float>(), static_cast<std::size_t>(w.numel())});
    // Only the llama converter permutes Q/K (unpermute_rows); gemma3's adds 1 to every norm weight
    // instead (transformers' Gemma2TensorProcessor subtracts it again; the decoder adds 1 back).
    if (arch_ != "llama" && t.name.size() >= 11 && t.name.compare(t.name.size() - 11, 11, "norm.weight") == 0) {
        w = w - 1.0f;
    }
    w = unpermute_rows(name, w);
    if (device.is_cpu()) return w.to(dtype);
    return w.to(device, dtype);
}

std::map<std::string, int> GgufWeightSource::type_counts() const {
    std::map<std::string, int> n;
    for (const auto& [hf, t] : by_hf_) ++n[io::ggml_type_name(t->ggml_type())];
    return n;
}

std::string describe_gguf_storage(const io::GgufFile& file, const GgufWeightSource& weights,
                                  const std::string& compute_dtype, const std::vector<report::LayerKernel>& kernels) {
    std::map<std::string, std::string> kernel_of;  // "<linear>.weight" -> kernel
    for (const auto& k : kernels) kernel_of[k.name + ".weight"] = k.kernel;
    std::map<std::string, int> low_bit;                             // "Q4_0 -> int4pack_mm_cpu" -> count
    std::map<std::string, std::vector<std::string>> dequantized;    // type -> HF names
    for (const auto& [hf, t] : weights.tensors()) {
        const auto type = io::ggml_type_name(t->ggml_type());
        const auto it = kernel_of.find(hf);
        if (it != kernel_of.end() && it->second != "dense") {
            ++low_bit[fmt::format("{} as {}", type, it->second)];
        } else {
            dequantized[type].push_back(hf);
        }
    }
    const auto ftype = file.has("general.file_type") ? file_type_name(file.get_uint("general.file_type")) : "unknown";
    std::vector<std::string> kept, deq;
    std::set<std::string> kept_types;
    for (const auto& [what, n] : low_bit) {
        kept.push_back(fmt::format("{} x{}", what, n));
        kept_types.insert(what.substr(0, what.find(' ')));
    }
    for (const auto& [type, names] : dequantized) {
        // A type kept low-bit elsewhere (e.g. Q4_0 token embeddings): name the few dequantized.
        if (kept_types.count(type) != 0 && names.size() <= 3) {
            deq.push_back(fmt::format("{} x{} ({})", type, names.size(), fmt::join(names, ", ")));
        } else {
            deq.push_back(fmt::format("{} x{}", type, names.size()));
        }
    }
    if (kept.empty()) {
        return fmt::format("gguf {}: every tensor dequantized at load to {} ({}); none kept low-bit", ftype,
                           compute_dtype, fmt::join(deq, ", "));
    }
    if (deq.empty()) return fmt::format("gguf {}: kept low-bit: {}", ftype, fmt::join(kept, ", "));
    return fmt::format("gguf {}: kept low-bit: {}; dequantized at load to {}: {}", ftype, fmt::join(kept, ", "),
                       compute_dtype, fmt::join(deq, ", "));
}

}  // namespace qbench::model
