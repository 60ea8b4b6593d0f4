// Typed access to tokenizer.json fields with errors that name the component and the field.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace qbench::tokenizer {

// spec[key] as T; throws a kBadInput Error "tokenizer.json: <what>: ..." when it is missing or of
// the wrong type.
template <typename T>
T json_field(const nlohmann::json& spec, std::string_view what, const char* key);

// spec[key] as T, or `fallback` when the key is absent or null.
template <typename T>
T json_field_or(const nlohmann::json& spec, std::string_view what, const char* key, T fallback);

// spec[key] by reference; throws like json_field when it is missing.
const nlohmann::json& json_member(const nlohmann::json& spec, std::string_view what,
                                  const char* key);
// spec[key] by reference, or a JSON null when it is absent.
const nlohmann::json& json_member_or_null(const nlohmann::json& spec, const char* key);

// The "type" of a component object.
std::string component_type(const nlohmann::json& spec, std::string_view what);

[[noreturn]] void throw_unsupported(std::string_view what, std::string_view type);

// A pattern {"String": s} or {"Regex": r}: true for a regex; `text` receives s or r.
bool json_pattern(const nlohmann::json& spec, std::string_view what, std::string& text);

// One character held in a JSON string field (e.g. Metaspace's "replacement").
char32_t json_char(const nlohmann::json& spec, std::string_view what, const char* key);

}  // namespace qbench::tokenizer
