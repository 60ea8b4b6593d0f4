#include "qbench/config/quantize_spec.hpp"
#include "qbench/config/runtime_quantization.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "qbench/util/error.hpp"
#include "qbench/util/strings.hpp"

namespace qbench::config {

namespace {

std::string to_lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

bool is_name(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    });
}

int int_param(const QuantizeSpec& spec, const std::string& key, int fallback) {
    auto it = spec.params.find(key);
    if (it == spec.params.end()) return fallback;
    try {
        std::size_t used = 0;
        const int v = std::stoi(it->second, &used);
        if (used == it->second.size()) return v;
    } catch (const std::exception&) {
    }
    throw_bad_input("quantize: {}: {} must be an integer, got '{}'", spec.method, key, it->second);
}

bool bool_param(const QuantizeSpec& spec, const std::string& key, bool fallback) {
    auto it = spec.params.find(key);
    if (it == spec.params.end()) return fallback;
    const auto v = to_lower(it->second);
    if (v == "true" || v == "1" || v == "yes") return true;
    if (v == "false" || v == "0" || v == "no") return false;
    throw_bad_input("quantize: {}: {} must be true or false, got '{}'", spec.method, key, it->second);
}

// The first choice is the default.
std::string choice_param(const QuantizeSpec& spec, const std::string& key, const std::vector<std::string>& choices) {
    auto it = spec.params.find(key);
    if (it == spec.params.end()) return choices.front();
    const auto v = to_lower(it->second);
    if (std::find(choices.begin(), choices.end(), v) == choices.end()) {
        throw_bad_input("quantize: {}: {} must be {}, got '{}'", spec.method, key, join(choices, " or "), it->second);
    }
    return v;
}

void check_keys(const QuantizeSpec& spec, const std::vector<std::string>& known) {
    for (const auto& [k, v] : spec.params) {
        if (std::find(known.begin(), known.end(), k) == known.end()) {
            throw_bad_input("quantize: {}: unknown parameter '{}' (known: {})", spec.method, k, join(known, ", "));
        }
    }
}

}  // namespace

RuntimeQuantization resolve_quantize_spec(const QuantizeSpec& spec) {
    RuntimeQuantization q;
    q.method = to_lower(spec.method);
    if (q.method == "rtn") {
        check_keys(spec, {"bits", "group_size", "sym", "lm_head"});
        q.bits = int_param(spec, "bits", 4);
        if (q.bits != 2 && q.bits != 3 && q.bits != 4 && q.bits != 8) {
            throw_bad_input("quantize: rtn: bits must be 2, 3, 4 or 8, got {}", q.bits);
        }
        q.group_size = int_param(spec, "group_size", 128);
        if (q.group_size != -1 && q.group_size <= 0) {
            throw_bad_input("quantize: rtn: group_size must be -1 or positive, got {}", q.group_size);
        }
        q.symmetric = bool_param(spec, "sym", true);
    } else if (q.method == "fp8") {
        check_keys(spec, {"granularity", "activations", "lm_head"});
        q.granularity = choice_param(spec, "granularity", {"tensor", "channel"});
        q.activations = choice_param(spec, "activations", {"none", "dynamic"});
    } else if (q.method == "w8a8") {
        check_keys(spec, {"lm_head"});
    } else {
        throw_bad_input("quantize: unknown method '{}' (rtn, fp8, w8a8)", spec.method);
    }
    q.lm_head = bool_param(spec, "lm_head", false);
    return q;
}

std::string QuantizeSpec::to_string() const {
    std::vector<std::string> pairs;
    for (const auto& [k, v] : params) pairs.push_back(k + "=" + v);
    return pairs.empty() ? method : method + ":" + join(pairs, ",");
}

QuantizeSpec parse_quantize_spec(std::string_view spec) {
    auto bad = [spec](std::string_view problem) {
        throw_bad_input("invalid quantize spec '{}': {}", spec, problem);
    };
    QuantizeSpec out;
    const auto colon = spec.find(':');
    out.method = std::string(trim(spec.substr(0, colon)));
    if (out.method.empty()) bad("the method is empty (expected e.g. 'rtn:bits=4,group_size=128')");
    if (!is_name(out.method)) bad(fmt::format("'{}' is not a method name", out.method));
    if (colon == std::string_view::npos) return out;
    for (const std::string& pair : split(spec.substr(colon + 1), ',')) {
        const auto eq = pair.find('=');
        if (eq == std::string::npos) bad(fmt::format("'{}' is not key=value", trim(pair)));
        const std::string key(trim(std::string_view(pair).substr(0, eq)));
        const std::string value(trim(std::string_view(pair).substr(eq + 1)));
        if (!is_name(key)) bad(fmt::format("'{}' is not a parameter name", key));
        if (value.empty() || value.find('=') != std::string::npos)
            bad(fmt::format("parameter '{}' has no single value", key));
        if (!out.params.emplace(key, value).second)
            bad(fmt::format("parameter '{}' given twice", key));
    }
    return out;
}

}  // namespace qbench::config
