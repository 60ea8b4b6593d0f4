#include "qbench/tokenizer/json_spec.hpp"

#include <cstdint>
#include <optional>

#include "qbench/tokenizer/unicode.hpp"
#include "qbench/util/error.hpp"

namespace qbench::tokenizer {

template <typename T>
T json_field(const nlohmann::json& spec, std::string_view what, const char* key) {
    if (!spec.is_object() || !spec.contains(key) || spec[key].is_null()) {
        throw_bad_input("tokenizer.json: {}: missing field '{}'", what, key);
    }
    try {
        return spec[key].get<T>();
    } catch (const nlohmann::json::exception&) {
        throw_bad_input("tokenizer.json: {}: field '{}' has the wrong type", what, key);
    }
}

template <typename T>
T json_field_or(const nlohmann::json& spec, std::string_view what, const char* key, T fallback) {
    if (!spec.is_object() || !spec.contains(key) || spec[key].is_null()) return fallback;
    return json_field<T>(spec, what, key);
}

template bool json_field<bool>(const nlohmann::json&, std::string_view, const char*);
template std::string json_field<std::string>(const nlohmann::json&, std::string_view, const char*);
template std::int64_t json_field<std::int64_t>(const nlohmann::json&, std::string_view,
                                               const char*);
template bool json_field_or<bool>(const nlohmann::json&, std::string_view, const char*, bool);
template std::string json_field_or<std::string>(const nlohmann::json&, std::string_view,
                                                const char*, std::string);
template std::int64_t json_field_or<std::int64_t>(const nlohmann::json&, std::string_view,
                                                  const char*, std::int64_t);

const nlohmann::json& json_member(const nlohmann::json& spec, std::string_view what,
                                  const char* key) {
    if (!spec.is_object() || !spec.contains(key) || spec[key].is_null()) {
        throw_bad_input("tokenizer.json: {}: missing field '{}'", what, key);
    }
    return spec[key];
}

const nlohmann::json& json_member_or_null(const nlohmann::json& spec, const char* key) {
    static const nlohmann::json null;
    if (!spec.is_object()) return null;
    const auto it = spec.find(key);
    return it == spec.end() ? null : *it;
}

std::string component_type(const nlohmann::json& spec, std::string_view what) {
    if (!spec.is_object()) throw_bad_input("tokenizer.json: {}: expected an object", what);
    return json_field<std::string>(spec, what, "type");
}

void throw_unsupported(std::string_view what, std::string_view type) {
    throw_bad_input("tokenizer.json: unsupported {} '{}'", what, type);
}

bool json_pattern(const nlohmann::json& spec, std::string_view what, std::string& text) {
    const auto& pattern = json_member(spec, what, "pattern");
    if (pattern.is_object() && pattern.contains("Regex")) {
        text = json_field<std::string>(pattern, what, "Regex");
        return true;
    }
    if (pattern.is_object() && pattern.contains("String")) {
        text = json_field<std::string>(pattern, what, "String");
        return false;
    }
    throw_bad_input("tokenizer.json: {}: pattern must be {{\"String\": ...}} or {{\"Regex\": ...}}",
                    what);
}

char32_t json_char(const nlohmann::json& spec, std::string_view what, const char* key) {
    const auto s = json_field<std::string>(spec, what, key);
    std::size_t len = 0;
    if (s.empty() || !is_valid_utf8(s) || (next_code_point(s, 0, len), len != s.size())) {
        throw_bad_input("tokenizer.json: {}: field '{}' must be one character", what, key);
    }
    return next_code_point(s, 0, len);
}

}  // namespace qbench::tokenizer
