#include "qbench/model/config.hpp"

#include <algorithm>

#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"
#include "qbench/util/strings.hpp"

namespace qbench::model {
namespace {

using nlohmann::json;

std::int64_t get_int(const json& j, const char* key, const std::string& src) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) throw_bad_input("{}: missing '{}'", src, key);
    if (!it->is_number_integer()) throw_bad_input("{}: '{}' must be an integer, got {}", src, key, it->dump());
    return it->get<std::int64_t>();
}

std::int64_t get_int_or(const json& j, const char* key, std::int64_t fallback, const std::string& src) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_number_integer()) throw_bad_input("{}: '{}' must be an integer, got {}", src, key, it->dump());
    return it->get<std::int64_t>();
}

double get_double_or(const json& j, const char* key, double fallback, const std::string& src) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_number()) throw_bad_input("{}: '{}' must be a number, got {}", src, key, it->dump());
    return it->get<double>();
}

bool get_bool_or(const json& j, const char* key, bool fallback, const std::string& src) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) throw_bad_input("{}: '{}' must be true or false, got {}", src, key, it->dump());
    return it->get<bool>();
}

std::string get_string_or(const json& j, const char* key, const std::string& fallback, const std::string& src) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_string()) throw_bad_input("{}: '{}' must be a string, got {}", src, key, it->dump());
    return it->get<std::string>();
}

std::optional<std::int64_t> get_token_id(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end()) return std::nullopt;
    if (it->is_number_integer()) return it->get<std::int64_t>();
    if (it->is_array() && !it->empty() && (*it)[0].is_number_integer()) return (*it)[0].get<std::int64_t>();
    return std::nullopt;
}

RopeScaling parse_rope_scaling(const json& rs, std::int64_t max_pos, const std::string& src) {
    RopeScaling out;
    if (rs.is_null()) return out;
    if (!rs.is_object()) throw_bad_input("{}: 'rope_scaling' must be an object", src);
    std::string type = "default";
    if (auto it = rs.find("rope_type"); it != rs.end() && it->is_string()) type = it->get<std::string>();
    else if (auto it2 = rs.find("type"); it2 != rs.end() && it2->is_string()) type = it2->get<std::string>();
    out.type = type;
    if (type == "default") return out;
    if (type == "linear") {
        out.factor = get_double_or(rs, "factor", 1.0, src);
        if (!(out.factor > 0)) throw_bad_input("{}: rope_scaling.factor must be > 0", src);
        return out;
    }
    if (type == "llama3") {
        out.factor = get_double_or(rs, "factor", 8.0, src);
        out.low_freq_factor = get_double_or(rs, "low_freq_factor", 1.0, src);
        out.high_freq_factor = get_double_or(rs, "high_freq_factor", 4.0, src);
        out.original_max_position_embeddings =
            get_int_or(rs, "original_max_position_embeddings", max_pos, src);
        if (!(out.factor > 0) || !(out.high_freq_factor > out.low_freq_factor)) {
            throw_bad_input("{}: rope_scaling (llama3) needs factor > 0 and high_freq_factor > low_freq_factor", src);
        }
        return out;
    }
    throw_bad_input("{}: rope_scaling type '{}' is not supported (supported: default, linear, llama3)", src, type);
}

}  // namespace

std::int64_t ModelConfig::num_parameters() const {
    const std::int64_t q = num_heads * head_dim, kv = num_kv_heads * head_dim;
    std::int64_t attn = hidden_size * q + 2 * hidden_size * kv + q * hidden_size;
    if (attention_bias) attn += q + 2 * kv;
    if (o_proj_bias) attn += hidden_size;
    if (qk_norm) attn += 2 * head_dim;
    std::int64_t mlp = 3 * hidden_size * intermediate_size;
    if (mlp_bias) mlp += 2 * intermediate_size + hidden_size;
    const std::int64_t per_layer = attn + mlp + (gemma_norms ? 4 : 2) * hidden_size;
    std::int64_t total = vocab_size * hidden_size + num_layers * per_layer + hidden_size;
    if (!tie_word_embeddings) total += vocab_size * hidden_size;
    return total;
}

namespace {

ModelConfig parse_fields(const json& j, const std::string& src) {
    if (!j.is_object()) throw_bad_input("{}: not a JSON object", src);
    ModelConfig c;
    const auto& supported = supported_architectures();
    auto arch = j.find("architectures");
    if (arch == j.end() || !arch->is_array() || arch->empty() || !(*arch)[0].is_string()) {
        throw_bad_input("{}: missing 'architectures' (supported: {})", src, join(supported, ", "));
    }
    c.architecture = (*arch)[0].get<std::string>();
    if (std::find(supported.begin(), supported.end(), c.architecture) == supported.end()) {
        throw_bad_input("{}: architecture '{}' is not supported (supported: {})", src, c.architecture,
                        join(supported, ", "));
    }
    c.model_type = get_string_or(j, "model_type", "", src);
    const bool gemma3 = c.architecture == "Gemma3ForCausalLM";
    if (gemma3) {
        // Gemma3TextConfig names its activation hidden_activation (default gelu_pytorch_tanh)
        // and has no hidden_act.
        auto act = j.find("hidden_activation");
        if (act != j.end() && !act->is_null() && !act->is_string()) {
            throw_bad_input("{}: 'hidden_activation' must be a string", src);
        }
        c.hidden_act = act != j.end() && act->is_string() ? act->get<std::string>() : "gelu_pytorch_tanh";
        if (c.hidden_act != "gelu_pytorch_tanh") {
            throw_bad_input("{}: hidden_activation '{}' is not supported (supported: gelu_pytorch_tanh)", src,
                            c.hidden_act);
        }
    } else {
        const std::string act = get_string_or(j, "hidden_act", "silu", src);
        if (act != "silu") throw_bad_input("{}: hidden_act '{}' is not supported (supported: silu)", src, act);
    }

    c.vocab_size = get_int(j, "vocab_size", src);
    c.hidden_size = get_int(j, "hidden_size", src);
    c.intermediate_size = get_int(j, "intermediate_size", src);
    c.num_layers = get_int(j, "num_hidden_layers", src);
    c.num_heads = get_int(j, "num_attention_heads", src);
    c.num_kv_heads = get_int_or(j, "num_key_value_heads", c.num_heads, src);
    if (c.vocab_size <= 0 || c.hidden_size <= 0 || c.intermediate_size <= 0 || c.num_layers <= 0 ||
        c.num_heads <= 0 || c.num_kv_heads <= 0) {
        throw_bad_input("{}: sizes must be positive", src);
    }
    if (c.num_heads % c.num_kv_heads != 0) {
        throw_bad_input("{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", src,
                        c.num_heads, c.num_kv_heads);
    }
    if (c.hidden_size % c.num_heads != 0 && j.find("head_dim") == j.end()) {
        throw_bad_input("{}: hidden_size {} is not divisible by num_attention_heads {} and no head_dim is given",
                        src, c.hidden_size, c.num_heads);
    }
    c.head_dim = get_int_or(j, "head_dim", gemma3 ? 256 : c.hidden_size / c.num_heads, src);
    if (c.head_dim <= 0 || c.head_dim % 2 != 0) throw_bad_input("{}: head_dim must be positive and even", src);
    c.max_position_embeddings = get_int_or(j, "max_position_embeddings", 2048, src);
    c.rms_norm_eps = get_double_or(j, "rms_norm_eps", 1e-6, src);

    // RoPE: transformers <= 4 writes rope_theta + rope_scaling; transformers 5 writes
    // rope_parameters {rope_type, rope_theta, ...}.
    c.rope_theta = get_double_or(j, "rope_theta", gemma3 ? 1000000.0 : 10000.0, src);
    if (gemma3) {
        // Gemma3TextConfig.convert_rope_params_to_dict: rope_parameters per layer type
        // {full_attention, sliding_attention}, or rope_theta + rope_scaling (full-attention layers)
        // and rope_local_base_freq (sliding layers, default RoPE).
        c.rope_local_theta = get_double_or(j, "rope_local_base_freq", 10000.0, src);
        json full = j.contains("rope_scaling") && !j["rope_scaling"].is_null() ? j["rope_scaling"] : json(nullptr);
        if (auto rp = j.find("rope_parameters"); rp != j.end() && rp->is_object()) {
            if (auto f = rp->find("full_attention"); f != rp->end() && f->is_object()) full = *f;
            if (auto s = rp->find("sliding_attention"); s != rp->end() && s->is_object()) {
                c.rope_local_theta = get_double_or(*s, "rope_theta", c.rope_local_theta, src);
                const auto local = parse_rope_scaling(*s, c.max_position_embeddings, src);
                if (local.type != "default") {
                    throw_bad_input("{}: rope_parameters.sliding_attention type '{}' is not supported (supported: default)",
                                    src, local.type);
                }
            }
        }
        if (full.is_object()) c.rope_theta = get_double_or(full, "rope_theta", c.rope_theta, src);
        c.rope_scaling = parse_rope_scaling(full, c.max_position_embeddings, src);
        if (!(c.rope_local_theta > 0) || !(c.rope_theta > 0)) throw_bad_input("{}: RoPE bases must be > 0", src);
    } else if (auto rp = j.find("rope_parameters"); rp != j.end() && rp->is_object()) {
        c.rope_theta = get_double_or(*rp, "rope_theta", c.rope_theta, src);
        c.rope_scaling = parse_rope_scaling(*rp, c.max_position_embeddings, src);
    } else if (auto rs = j.find("rope_scaling"); rs != j.end()) {
        c.rope_scaling = parse_rope_scaling(*rs, c.max_position_embeddings, src);
    }

    c.tie_word_embeddings = get_bool_or(j, "tie_word_embeddings", gemma3, src);
    // Biases as each architecture's transformers module builds them: Llama and Qwen3 follow
    // attention_bias on q/k/v/o (Llama also mlp_bias); Qwen2 always has q/k/v biases and none on
    // o_proj; Mistral has none.
    if (c.architecture == "Qwen2ForCausalLM") {
        c.attention_bias = true;
    } else if (c.architecture != "MistralForCausalLM") {
        c.attention_bias = get_bool_or(j, "attention_bias", false, src);
        c.o_proj_bias = c.attention_bias;
    }
    if (c.architecture == "LlamaForCausalLM") c.mlp_bias = get_bool_or(j, "mlp_bias", false, src);
    c.qk_norm = c.architecture == "Qwen3ForCausalLM" || gemma3;
    if (gemma3) {
        c.gemma_norms = true;
        c.scale_embeddings = true;
        c.query_pre_attn_scalar = get_double_or(j, "query_pre_attn_scalar", 256.0, src);
        c.final_logit_softcapping = get_double_or(j, "final_logit_softcapping", 0.0, src);
        if (!(c.query_pre_attn_scalar > 0) || c.final_logit_softcapping < 0) {
            throw_bad_input("{}: query_pre_attn_scalar must be > 0 and final_logit_softcapping >= 0", src);
        }
        // attn_logit_softcapping is stored by Gemma3TextConfig but Gemma3Attention never applies
        // it (unlike Gemma 2), so it is ignored here too.
        if (get_bool_or(j, "use_bidirectional_attention", false, src)) {
            throw_bad_input("{}: use_bidirectional_attention is not supported (qbench decodes causally)", src);
        }
    }

    // Sliding-window attention, per layer.
    c.layer_window.assign(static_cast<std::size_t>(c.num_layers), 0);
    std::int64_t window = gemma3 ? 4096 : 0;
    if (auto sw = j.find("sliding_window"); sw != j.end() && sw->is_number_integer()) window = sw->get<std::int64_t>();
    if (gemma3 && (j.find("layer_types") == j.end() || j["layer_types"].is_null())) {
        // Gemma3TextConfig.__post_init__: layer i slides unless (i + 1) % sliding_window_pattern == 0.
        const auto pattern = get_int_or(j, "sliding_window_pattern", 6, src);
        if (pattern <= 0) throw_bad_input("{}: sliding_window_pattern must be > 0", src);
        if (window <= 0) throw_bad_input("{}: sliding_window must be > 0", src);
        for (std::int64_t i = 0; i < c.num_layers; ++i) {
            if ((i + 1) % pattern != 0) c.layer_window[static_cast<std::size_t>(i)] = window;
        }
    } else if (auto lt = j.find("layer_types"); lt != j.end() && lt->is_array()) {
        if (static_cast<std::int64_t>(lt->size()) != c.num_layers) {
            throw_bad_input("{}: layer_types has {} entries for {} layers", src, lt->size(), c.num_layers);
        }
        for (std::size_t i = 0; i < lt->size(); ++i) {
            const std::string t = (*lt)[i].is_string() ? (*lt)[i].get<std::string>() : "";
            if (t == "sliding_attention") {
                if (window <= 0) throw_bad_input("{}: layer_types asks for sliding_attention but sliding_window is not set", src);
                c.layer_window[i] = window;
            } else if (t != "full_attention") {
                throw_bad_input("{}: layer_types[{}] '{}' is not supported (supported: full_attention, sliding_attention)",
                                src, i, t);
            }
        }
    } else if (window > 0) {
        if (c.architecture == "MistralForCausalLM") {
            std::fill(c.layer_window.begin(), c.layer_window.end(), window);
        } else if (c.architecture == "Qwen2ForCausalLM" || c.architecture == "Qwen3ForCausalLM") {
            if (get_bool_or(j, "use_sliding_window", false, src)) {
                const std::int64_t first = get_int_or(j, "max_window_layers", c.num_layers, src);
                for (std::int64_t i = first; i < c.num_layers; ++i) c.layer_window[static_cast<std::size_t>(i)] = window;
            }
        } else {
            std::fill(c.layer_window.begin(), c.layer_window.end(), window);
        }
    }

    c.bos_token_id = get_token_id(j, "bos_token_id");
    c.eos_token_id = get_token_id(j, "eos_token_id");
    if (auto d = j.find("torch_dtype"); d != j.end() && d->is_string()) c.torch_dtype = d->get<std::string>();
    else if (auto d2 = j.find("dtype"); d2 != j.end() && d2->is_string()) c.torch_dtype = d2->get<std::string>();
    if (auto q = j.find("quantization_config"); q != j.end()) c.quantization_config = *q;
    return c;
}

}  // namespace

ModelConfig parse_model_config(const json& j, const std::string& src) {
    // Every field is read through a typed accessor; this net turns any JSON type error a new field
    // might still raise into the same one-line bad-input error naming the file.
    try {
        return parse_fields(j, src);
    } catch (const json::exception& e) {
        throw_bad_input("{}: malformed config ({})", src, e.what());
    }
}

ModelConfig load_model_config(const std::filesystem::path& model_dir) {
    const auto path = model_dir / "config.json";
    if (!std::filesystem::exists(path)) throw_bad_input("{}: missing config.json", model_dir.string());
    json j;
    try {
        j = json::parse(read_file(path));
    } catch (const json::exception& e) {
        throw_bad_input("{}: not valid JSON ({})", path.string(), e.what());
    }
    return parse_model_config(j, path.string());
}

}  // namespace qbench::model
