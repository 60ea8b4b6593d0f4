#include "qbench/config/schema.hpp"
#include "qbench/config/runtime_quantization.hpp"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "qbench/util/error.hpp"
#include "qbench/util/strings.hpp"

namespace qbench::config {

Value::Value(YAML::Node node, std::string key, const ParseEnv& env, std::string cli_flag)
    : node_(std::move(node)), key_(std::move(key)), env_(&env), cli_flag_(std::move(cli_flag)) {}

fs::path Value::base_dir() const {
    return cli_flag_.empty() ? env_->base_dir : fs::current_path();
}

Value Value::field(std::string_view name) const {
    const std::string key = key_.empty() ? std::string(name) : key_ + "." + std::string(name);
    if (node_.IsMap()) {
        for (auto it = node_.begin(); it != node_.end(); ++it)
            if (it->first.IsScalar() && it->first.Scalar() == name)
                return Value(it->second, key, *env_, cli_flag_);
    }
    return Value(node_, key, *env_, cli_flag_);
}

Value Value::element(std::size_t index) const {
    return Value(node_[index], fmt::format("{}[{}]", key_, index), *env_, cli_flag_);
}

std::string Value::scalar(std::string_view what) const {
    if (!node_.IsScalar()) fail(fmt::format("expected {}, got {}", what, describe_node(node_)));
    return node_.Scalar();
}

void Value::fail(std::string_view problem) const {
    std::string where;
    if (!cli_flag_.empty()) {
        where = cli_flag_;
    } else {
        const YAML::Mark mark = node_.Mark();
        where = fmt::format("{}:{}", env_->file.string(), mark.is_null() ? 1 : mark.line + 1);
    }
    throw Error(ErrorCode::kBadInput, fmt::format("{}: {}: {}", where, key_, problem));
}

YAML::Node load_yaml(std::string_view text, const fs::path& source) {
    if (const auto bad = first_invalid_utf8(text)) {
        const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(*bad), '\n');
        throw_bad_input("{}:{}: not UTF-8 text (byte 0x{:02x} at offset {}); YAML files are UTF-8", source.string(),
                        line, static_cast<unsigned char>(text[*bad]), *bad);
    }
    try {
        return YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
        throw_bad_input("{}:{}: invalid YAML: {}", source.string(), e.mark.is_null() ? 1 : e.mark.line + 1, e.msg);
    }
}

std::string describe_node(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Sequence: return "a list";
        case YAML::NodeType::Map: return "a map";
        case YAML::NodeType::Scalar: return "'" + node.Scalar() + "'";
        default: return "nothing";
    }
}

std::string unknown_choice(std::string_view value, const std::vector<std::string>& choices) {
    return fmt::format("unknown value '{}'{}; expected one of: {}", value,
                       did_you_mean(value, choices), join(choices, ", "));
}

Value Fields::at(std::string_view name) const {
    if (auto it = values_.find(std::string(name)); it != values_.end()) return it->second;
    return map_.field(name);
}

bool Codec<bool>::decode(const Value& v) {
    const std::string s = v.scalar("true or false");
    std::string lower;
    for (char c : s)
        lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (lower == "true" || lower == "yes" || lower == "on") return true;
    if (lower == "false" || lower == "no" || lower == "off") return false;
    v.fail(fmt::format("expected true or false, got '{}'", s));
}

std::int64_t Codec<std::int64_t>::decode(const Value& v) {
    const std::string s = v.scalar("an integer");
    std::int64_t x = 0;
    const char* end = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(s.data() + (s.starts_with('+') ? 1 : 0), end, x);
    if (ec == std::errc::result_out_of_range) v.fail(fmt::format("integer out of range: {}", s));
    if (ec != std::errc() || ptr != end || s.empty())
        v.fail(fmt::format("expected an integer, got '{}'", s));
    return x;
}

double Codec<double>::decode(const Value& v) {
    const std::string s = v.scalar("a number");
    char* end = nullptr;
    const double x = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(x))
        v.fail(fmt::format("expected a number, got '{}'", s));
    return x;
}

std::string Codec<std::string>::decode(const Value& v) {
    return v.scalar("a string");
}

fs::path Codec<fs::path>::decode(const Value& v) {
    const std::string s = v.scalar("a path");
    if (s.empty()) v.fail("expected a path, got ''");
    fs::path p(s);
    // "~/..." is the user's home (e.g. the model cache of scripts/fetch_real_models.py).
    const char* home = std::getenv("HOME");
    if (s.rfind("~/", 0) == 0 && home && *home) p = fs::path(home) / s.substr(2);
    return (p.is_absolute() ? p : v.base_dir() / p).lexically_normal();
}

QuantizeSpec Codec<QuantizeSpec>::decode(const Value& v) {
    if (v.node().IsScalar()) {
        try {
            QuantizeSpec q = parse_quantize_spec(v.node().Scalar());
            resolve_quantize_spec(q);  // the parameters too, with the rest of the file
            return q;
        } catch (const Error& e) {
            v.fail(e.what());
        }
    }
    if (!v.node().IsMap()) {
        v.fail("expected a spec such as 'rtn:bits=4' or a map with 'method', got " +
               describe_node(v.node()));
    }
    std::vector<std::string> pairs;
    std::string method;
    for (auto it = v.node().begin(); it != v.node().end(); ++it) {
        const Value key(it->first, v.key() + "." + describe_node(it->first), v.env());
        if (!it->first.IsScalar()) key.fail("a key must be a plain name");
        const Value entry(it->second, v.key() + "." + it->first.Scalar(), v.env());
        const std::string value = entry.scalar("a single value");
        if (it->first.Scalar() == "method") {
            method = value;
        } else {
            if (value.find_first_of(",=") != std::string::npos)
                entry.fail("a value must not contain ',' or '='");
            pairs.push_back(it->first.Scalar() + "=" + value);
        }
    }
    if (method.empty()) v.field("method").fail("missing required option");
    try {
        QuantizeSpec q = parse_quantize_spec(pairs.empty() ? method : method + ":" + join(pairs, ","));
        resolve_quantize_spec(q);
        return q;
    } catch (const Error& e) {
        v.fail(e.what());
    }
}

}  // namespace qbench::config
