#include "qbench/config/quantize_spec.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "qbench/util/error.hpp"
#include "qbench/util/strings.hpp"

namespace qbench::config {

namespace {

bool is_name(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    });
}

}  // namespace

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
