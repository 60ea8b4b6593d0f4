#include "qbench/quant/scheme.hpp"

#include "qbench/config/runtime_quantization.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <regex>

#include "qbench/model/config.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/strings.hpp"

namespace qbench::quant {
namespace {

using nlohmann::json;

std::string to_lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// Reads config values with the error context "SOURCE: quantization_config.KEY: ...".
struct Reader {
    const json& j;
    std::string source;
    std::string prefix = "quantization_config";

    std::string key(const std::string& k) const { return prefix + "." + k; }
    [[noreturn]] void fail(const std::string& k, const std::string& problem) const {
        throw_bad_input("{}: {}: {}", source, key(k), problem);
    }
    bool has(const std::string& k) const { return j.contains(k) && !j.at(k).is_null(); }
    // The first present key of `names`, or "".
    std::string first(std::initializer_list<const char*> names) const {
        for (const char* n : names) {
            if (has(n)) return n;
        }
        return "";
    }
    std::int64_t integer(const std::string& k, std::int64_t fallback) const {
        if (!has(k)) return fallback;
        const auto& v = j.at(k);
        if (!v.is_number_integer()) fail(k, fmt::format("expected an integer, got {}", v.dump()));
        return v.get<std::int64_t>();
    }
    bool boolean(const std::string& k, bool fallback) const {
        if (!has(k)) return fallback;
        const auto& v = j.at(k);
        if (!v.is_boolean()) fail(k, fmt::format("expected true or false, got {}", v.dump()));
        return v.get<bool>();
    }
    std::string string(const std::string& k, const std::string& fallback) const {
        if (!has(k)) return fallback;
        const auto& v = j.at(k);
        if (!v.is_string()) fail(k, fmt::format("expected a string, got {}", v.dump()));
        return to_lower(v.get<std::string>());
    }
    std::vector<std::string> strings(const std::string& k) const {
        std::vector<std::string> out;
        if (!has(k)) return out;
        const auto& v = j.at(k);
        if (!v.is_array()) fail(k, "expected a list of module names");
        for (const auto& e : v) {
            if (!e.is_string()) fail(k, fmt::format("expected module names, got {}", e.dump()));
            out.push_back(e.get<std::string>());
        }
        return out;
    }
};

void set_group(LayerScheme& s, std::int64_t group_size, const Reader& r, const std::string& key) {
    if (group_size != -1 && group_size <= 0) {
        r.fail(key, fmt::format("must be -1 (per channel) or a positive integer, got {}", group_size));
    }
    s.group_size = group_size;
    s.strategy = group_size == -1 ? "channel" : "group";
}

QuantScheme parse_gptq(const Reader& r) {
    QuantScheme q;
    q.method = "gptq";
    const std::string bits_key = r.has("bits") ? "bits" : "w_bit";
    q.layer.bits = static_cast<int>(r.integer(bits_key, 4));
    if (q.layer.bits != 2 && q.layer.bits != 3 && q.layer.bits != 4 && q.layer.bits != 8) {
        r.fail(bits_key, fmt::format("GPTQ bits must be 2, 3, 4 or 8, got {}", q.layer.bits));
    }
    const std::string gs_key = r.has("group_size") ? "group_size" : "q_group_size";
    set_group(q.layer, r.integer(gs_key, 128), r, gs_key);
    q.layer.symmetric = r.boolean("sym", true);
    q.layer.desc_act = r.boolean("desc_act", false);
    const std::string fmt_key = r.has("checkpoint_format") ? "checkpoint_format" : "format";
    q.format = r.string(fmt_key, "gptq");
    if (q.format != "gptq" && q.format != "gptq_v2") {
        r.fail(fmt_key, fmt::format("'{}' is not supported (supported: gptq, gptq_v2)", q.format));
    }
    if (const auto pack = r.string("pack_dtype", "int32"); pack != "int32") {
        r.fail("pack_dtype", fmt::format("'{}' is not supported (supported: int32)", pack));
    }
    q.ignore = r.strings("modules_to_not_convert");
    if (r.has("dynamic")) {
        const auto& d = r.j.at("dynamic");
        if (!d.is_object()) r.fail("dynamic", "expected an object of module patterns");
        for (const auto& [pattern, override_] : d.items()) {
            if (!override_.is_object()) r.fail("dynamic." + pattern, "expected an object of overrides");
            for (const auto& [k, v] : override_.items()) {
                if (k != "bits" && k != "group_size" && k != "sym" && k != "desc_act") {
                    r.fail("dynamic." + pattern + "." + k, "this per-module override is not supported "
                                                           "(supported: bits, group_size, sym, desc_act)");
                }
            }
            q.dynamic.emplace_back(pattern, override_);
        }
    }
    return q;
}

QuantScheme parse_awq(const Reader& r) {
    QuantScheme q;
    q.method = "awq";
    const std::string bits_key = r.has("bits") ? "bits" : "w_bit";
    q.layer.bits = static_cast<int>(r.integer(bits_key, 4));
    if (q.layer.bits != 4) r.fail(bits_key, fmt::format("AWQ bits must be 4, got {}", q.layer.bits));
    const std::string gs_key = r.has("group_size") ? "group_size" : "q_group_size";
    set_group(q.layer, r.integer(gs_key, 128), r, gs_key);
    if (q.layer.group_size <= 0) r.fail(gs_key, "AWQ needs a positive group size");
    if (!r.boolean("zero_point", true)) r.fail("zero_point", "false is not supported (AutoAWQ packs zero points)");
    q.layer.symmetric = false;
    q.format = r.string("version", "gemm");
    if (q.format != "gemm" && q.format != "gemv") {
        r.fail("version", fmt::format("'{}' is not supported (supported: gemm, gemv)", q.format));
    }
    q.ignore = r.strings("modules_to_not_convert");
    return q;
}

LayerScheme parse_ct_weights(const Reader& r, const std::string& format) {
    LayerScheme s;
    s.type = r.string("type", "int");
    s.bits = static_cast<int>(r.integer("num_bits", 8));
    s.symmetric = r.boolean("symmetric", true);
    s.strategy = r.string("strategy", "tensor");
    if (r.has("dynamic") && !(r.j.at("dynamic").is_boolean() && !r.j.at("dynamic").get<bool>())) {
        r.fail("dynamic", "dynamic weight quantization is not supported");
    }
    if (s.type == "float") {
        if (s.bits != 8) r.fail("num_bits", fmt::format("float weights must be 8 bits (e4m3), got {}", s.bits));
        if (!s.symmetric) r.fail("symmetric", "asymmetric FP8 weights are not supported");
    } else if (s.type == "int") {
        if (s.bits < 1 || s.bits > 8) r.fail("num_bits", fmt::format("must be 1 to 8, got {}", s.bits));
        if (format == "pack-quantized" && s.bits != 2 && s.bits != 4 && s.bits != 8) {
            r.fail("num_bits", fmt::format("pack-quantized {} bits is not supported (2, 4 or 8: the packing of "
                                           "other widths changed between compressed-tensors versions)",
                                           s.bits));
        }
    } else {
        r.fail("type", fmt::format("'{}' is not supported (int, float)", s.type));
    }
    if (s.strategy == "tensor") {
        s.group_size = 0;
    } else if (s.strategy == "channel") {
        s.group_size = -1;
    } else if (s.strategy == "group") {
        s.group_size = r.integer("group_size", 0);
        if (s.group_size <= 0) r.fail("group_size", "the group strategy needs a positive group_size");
    } else if (s.strategy == "block") {
        if (!r.has("block_structure") || !r.j.at("block_structure").is_array() ||
            r.j.at("block_structure").size() != 2) {
            r.fail("block_structure", "the block strategy needs [rows, columns]");
        }
        s.block = r.j.at("block_structure").get<std::vector<std::int64_t>>();
        if (s.type != "float") r.fail("strategy", "block scales are supported for float weights only");
    } else {
        r.fail("strategy", fmt::format("'{}' is not supported for weights (tensor, channel, group, block)", s.strategy));
    }
    if (s.type == "int" && s.strategy == "tensor") {
        r.fail("strategy", "per-tensor integer weights are not supported (channel, group)");
    }
    return s;
}

ActQuant parse_ct_activations(const Reader& r) {
    const auto type = r.string("type", "int");
    const auto bits = r.integer("num_bits", 8);
    const auto strategy = r.string("strategy", "tensor");
    const bool dynamic = r.has("dynamic") && r.j.at("dynamic") == json(true);
    if (bits != 8) r.fail("num_bits", fmt::format("activations must be 8 bits, got {}", bits));
    if (!r.boolean("symmetric", true)) r.fail("symmetric", "asymmetric activations are not supported");
    if (type == "int") {
        if (dynamic && strategy == "token") return ActQuant::kInt8Token;
        r.fail("strategy", "int8 activations are supported as dynamic per-token only");
    }
    if (type == "float") {
        if (!dynamic && strategy == "tensor") return ActQuant::kFp8Static;
        if (dynamic && strategy == "token") return ActQuant::kFp8Token;
        if (dynamic && strategy == "tensor") return ActQuant::kFp8Tensor;
        if (dynamic && strategy == "group" && r.integer("group_size", 0) == 128) return ActQuant::kFp8Group128;
        r.fail("strategy", fmt::format("FP8 activations '{}'{} are not supported", strategy,
                                       dynamic ? " (dynamic)" : " (static)"));
    }
    r.fail("type", fmt::format("'{}' is not supported (int, float)", type));
}

QuantScheme parse_compressed_tensors(const Reader& r) {
    QuantScheme q;
    q.method = "compressed-tensors";
    q.format = r.string("format", "");
    const std::vector<std::string> formats{"pack-quantized", "int-quantized", "float-quantized", "naive-quantized"};
    if (std::find(formats.begin(), formats.end(), q.format) == formats.end()) {
        r.fail("format", fmt::format("'{}' is not supported (pack-quantized, int-quantized, float-quantized, "
                                     "naive-quantized)", q.format));
    }
    if (const auto status = r.string("quantization_status", "compressed"); status != "compressed") {
        r.fail("quantization_status", fmt::format("'{}' is not supported (compressed)", status));
    }
    // The producer writes an empty object for "no sparsity".
    if (r.has("sparsity_config") && !r.j.at("sparsity_config").empty()) {
        r.fail("sparsity_config", "sparse checkpoints are not supported");
    }
    if (r.has("kv_cache_scheme")) r.fail("kv_cache_scheme", "a quantized KV cache is not supported");
    q.ignore = r.strings("ignore");
    if (!r.has("config_groups") || !r.j.at("config_groups").is_object() || r.j.at("config_groups").empty()) {
        r.fail("config_groups", "expected at least one group");
    }
    for (const auto& [name, g] : r.j.at("config_groups").items()) {
        const Reader gr{g, r.source, r.key("config_groups." + name)};
        std::string format = q.format;
        if (gr.has("format")) format = gr.string("format", q.format);
        if (format != q.format) gr.fail("format", "per-group formats that differ from the top level are not supported");
        if (!gr.has("weights")) gr.fail("weights", "a group without weights is not supported");
        const Reader wr{g.at("weights"), r.source, gr.key("weights")};
        LayerScheme s = parse_ct_weights(wr, q.format);
        if (gr.has("output_activations")) gr.fail("output_activations", "output quantization is not supported");
        if (gr.has("input_activations")) {
            s.act = parse_ct_activations(Reader{g.at("input_activations"), r.source, gr.key("input_activations")});
        }
        if (q.format == "pack-quantized" && s.type != "int") gr.fail("weights.type", "pack-quantized needs int weights");
        if (q.format == "float-quantized" && s.type != "float") gr.fail("weights.type", "float-quantized needs float weights");
        if (q.format == "int-quantized" && (s.type != "int" || s.bits != 8)) {
            gr.fail("weights.num_bits", "int-quantized needs 8-bit int weights");
        }
        if (s.type == "int" && s.act != ActQuant::kNone && s.act != ActQuant::kInt8Token) {
            gr.fail("input_activations", "int weights with FP8 activations are not supported");
        }
        if (s.type == "float" && s.act == ActQuant::kInt8Token) {
            gr.fail("input_activations", "FP8 weights with int8 activations are not supported");
        }
        std::vector<std::string> targets;
        const Reader targets_reader{g, r.source, gr.prefix};
        targets = targets_reader.strings("targets");
        if (targets.empty()) gr.fail("targets", "expected at least one target");
        q.groups.emplace_back(targets, s);
    }
    q.layer = q.groups.front().second;
    return q;
}

QuantScheme parse_fp8(const Reader& r) {
    QuantScheme q;
    q.method = "fp8";
    q.layer.type = "float";
    q.layer.bits = 8;
    if (const auto f = r.string("fmt", "e4m3"); f != "e4m3") r.fail("fmt", fmt::format("'{}' is not supported (e4m3)", f));
    const auto act = r.string("activation_scheme", "dynamic");
    if (act != "dynamic" && act != "static") r.fail("activation_scheme", fmt::format("'{}' is not supported (dynamic, static)", act));
    if (r.has("weight_block_size")) {
        const auto& b = r.j.at("weight_block_size");
        if (!b.is_array() || b.size() != 2) r.fail("weight_block_size", "expected [rows, columns]");
        q.layer.block = b.get<std::vector<std::int64_t>>();
        q.layer.strategy = "block";
        q.format = "fp8-block";
        if (act != "dynamic") r.fail("activation_scheme", "block-wise FP8 needs dynamic activations");
        if (q.layer.block[1] != 128) r.fail("weight_block_size", "activation groups of 128 columns are supported only");
        q.layer.act = ActQuant::kFp8Group128;
    } else {
        q.layer.strategy = "tensor";
        q.layer.group_size = 0;
        q.format = "fp8-tensor";
        q.layer.act = act == "static" ? ActQuant::kFp8Static : ActQuant::kFp8Tensor;
    }
    if (r.has("kv_cache_scheme")) r.fail("kv_cache_scheme", "a quantized KV cache is not supported");
    q.ignore = r.strings("modules_to_not_convert");
    for (auto& s : r.strings("ignored_layers")) q.ignore.push_back(s);
    return q;
}

bool matches(const std::string& pattern, const std::string& module, bool substring) {
    if (pattern.starts_with("re:")) return std::regex_match(module, std::regex(pattern.substr(3)));
    if (substring) return module.find(pattern) != std::string::npos;
    return module == pattern || module.ends_with("." + pattern);
}

std::string group_text(const LayerScheme& s) {
    if (s.strategy == "tensor") return "per-tensor";
    if (s.strategy == "block") return fmt::format("block {}x{}", s.block.at(0), s.block.at(1));
    if (s.group_size > 0) return fmt::format("group {}", s.group_size);
    return "per-channel";
}

}  // namespace

std::string QuantScheme::describe() const {
    if (method == "none") return "none";
    const auto& s = layer;
    std::string out;
    if (s.type == "float") {
        out = fmt::format("{} fp8 e4m3 {}", method, group_text(s));
    } else {
        out = fmt::format("{} int{} {} {}", method, s.bits, group_text(s), s.symmetric ? "sym" : "asym");
    }
    if (!format.empty()) out += fmt::format(" ({})", format);
    if (s.desc_act) out += ", desc_act";
    if (s.act != ActQuant::kNone) out += ", activations " + act_quant_name(s.act);
    if (groups.size() > 1) out += fmt::format(", {} config groups", groups.size());
    if (!dynamic.empty()) out += fmt::format(", {} per-module overrides", dynamic.size());
    if (!ignore.empty()) out += fmt::format(", {} ignore patterns", ignore.size());
    return out;
}

std::optional<LayerScheme> QuantScheme::for_module(const std::string& module) const {
    if (method == "none") return std::nullopt;
    const bool runtime = method == "rtn" || method == "w8a8" || (method == "fp8" && format.empty());
    if (runtime && module == "lm_head" && !quantize_lm_head) return std::nullopt;
    const bool substring = method != "compressed-tensors";  // HF modules_to_not_convert semantics
    for (const auto& p : ignore) {
        if (matches(p, module, substring)) return std::nullopt;
    }
    if (method == "compressed-tensors") {
        for (const auto& [targets, s] : groups) {
            for (const auto& t : targets) {
                if (t == "Linear" || matches(t, module, false)) return s;
            }
        }
        return std::nullopt;
    }
    LayerScheme s = layer;
    for (const auto& [pattern, o] : dynamic) {
        const bool skip = pattern.starts_with("-:");
        const std::string re = pattern.starts_with("-:") || pattern.starts_with("+:") ? pattern.substr(2) : pattern;
        if (!std::regex_match(module, std::regex(re))) continue;
        if (skip) return std::nullopt;
        if (o.contains("bits")) s.bits = o.at("bits").get<int>();
        if (o.contains("group_size")) {
            s.group_size = o.at("group_size").get<std::int64_t>();
            s.strategy = s.group_size == -1 ? "channel" : "group";
        }
        if (o.contains("sym")) s.symmetric = o.at("sym").get<bool>();
        if (o.contains("desc_act")) s.desc_act = o.at("desc_act").get<bool>();
    }
    return s;
}

QuantScheme scheme_from_config(const nlohmann::json& qc, const std::string& source) {
    if (!qc.is_object()) throw_bad_input("{}: quantization_config must be an object", source);
    const Reader r{qc, source};
    std::string method = r.string(r.has("quant_method") ? "quant_method" : "method", "");
    if (method.empty()) {
        // AutoAWQ's quant_config.json and old AutoGPTQ quantize_config.json carry no method.
        if (r.has("w_bit") || r.has("version") || r.has("zero_point")) method = "awq";
        else if (r.has("bits")) method = "gptq";
    }
    if (method == "gptq") return parse_gptq(r);
    if (method == "awq") return parse_awq(r);
    if (method == "compressed-tensors") return parse_compressed_tensors(r);
    if (method == "fp8") return parse_fp8(r);
    r.fail("quant_method", fmt::format("'{}' is not supported (gptq, awq, compressed-tensors, fp8)", method));
}

std::optional<QuantScheme> checkpoint_scheme(const std::filesystem::path& dir, const model::ModelConfig& config) {
    if (!config.quantization_config.is_null()) {
        return scheme_from_config(config.quantization_config, (dir / "config.json").string());
    }
    for (const char* name : {"quantize_config.json", "quant_config.json"}) {
        const auto path = dir / name;
        std::error_code ec;
        if (!std::filesystem::is_regular_file(path, ec)) continue;
        std::ifstream in(path);
        json j;
        try {
            j = json::parse(in);
        } catch (const json::exception& e) {
            throw_bad_input("{}: invalid JSON: {}", path.string(), e.what());
        }
        return scheme_from_config(j, path.string());
    }
    return std::nullopt;
}

QuantScheme scheme_from_spec(const config::QuantizeSpec& spec) {
    const config::RuntimeQuantization r = config::resolve_quantize_spec(spec);
    QuantScheme q;
    q.method = r.method;
    if (r.method == "rtn") {
        q.layer.bits = r.bits;
        q.layer.group_size = r.group_size;
        q.layer.strategy = r.group_size == -1 ? "channel" : "group";
        q.layer.symmetric = r.symmetric;
    } else if (r.method == "fp8") {
        q.layer.type = "float";
        q.layer.bits = 8;
        q.layer.strategy = r.granularity;
        q.layer.group_size = r.granularity == "tensor" ? 0 : -1;
        q.layer.act = r.activations == "dynamic" ? ActQuant::kFp8Token : ActQuant::kNone;
    } else {  // w8a8
        q.layer.bits = 8;
        q.layer.group_size = -1;
        q.layer.strategy = "channel";
        q.layer.act = ActQuant::kInt8Token;
    }
    q.quantize_lm_head = r.lm_head;
    return q;
}

report::QuantizationInfo quantization_info(const QuantScheme& scheme) {
    report::QuantizationInfo info;
    info.method = scheme.method;
    if (scheme.method == "none") return info;
    const auto& s = scheme.layer;
    info.format = scheme.format;
    info.weight_type = s.type == "float" ? "float8_e4m3fn" : "int";
    info.bits = s.bits;
    info.group_size = s.group_size;
    info.strategy = s.strategy;
    info.symmetric = s.symmetric;
    info.activation = act_quant_name(s.act);
    return info;
}

}  // namespace qbench::quant
