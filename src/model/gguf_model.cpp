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

}  // namespace

std::string hf_name_of_gguf(const std::string& g) {
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
    const auto it = block_names().find(g.substr(dot1 + 1, dot2 - dot1 - 1));
    if (it == block_names().end()) return "";
    return "model.layers." + layer + "." + it->second + g.substr(dot2);
}

ModelConfig model_config_from_gguf(const io::GgufFile& f) {
    const std::string src = f.path().string();
    const auto arch = f.get_string("general.architecture");
    if (arch != "llama") {
        throw_bad_input("{}: GGUF architecture '{}' is not supported (supported: llama)", src, arch);
    }
    auto key = [&](const char* k) { return arch + "." + k; };
    auto positive = [&](const char* k) {
        const auto v = f.get_uint(key(k));
        if (v == 0 || v > (1ull << 40)) throw_bad_input("{}: metadata key '{}' = {} is out of range", src, key(k), v);
        return static_cast<std::int64_t>(v);
    };
    ModelConfig c;
    c.architecture = "LlamaForCausalLM";
    c.model_type = "llama";
    c.hidden_size = positive("embedding_length");
    c.num_layers = positive("block_count");
    c.intermediate_size = positive("feed_forward_length");
    c.num_heads = positive("attention.head_count");
    c.num_kv_heads = f.has(key("attention.head_count_kv")) ? positive("attention.head_count_kv") : c.num_heads;
    c.max_position_embeddings = positive("context_length");
    c.rms_norm_eps = f.get_float(key("attention.layer_norm_rms_epsilon"));
    c.rope_theta = f.get_float_or(key("rope.freq_base"), 10000.0);
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
    if (f.has("tokenizer.ggml.bos_token_id")) c.bos_token_id = f.get_int("tokenizer.ggml.bos_token_id");
    if (f.has("tokenizer.ggml.eos_token_id")) c.eos_token_id = f.get_int("tokenizer.ggml.eos_token_id");
    return c;
}

GgufWeightSource::GgufWeightSource(std::shared_ptr<const io::GgufFile> file, const ModelConfig& config)
    : file_(std::move(file)), num_heads_(config.num_heads), num_kv_heads_(config.num_kv_heads) {
    for (const auto& t : file_->tensors()) {
        auto hf = hf_name_of_gguf(t.name);
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
