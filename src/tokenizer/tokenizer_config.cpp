#include "qbench/tokenizer/tokenizer_config.hpp"

#include <nlohmann/json.hpp>

#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"

namespace qbench::tokenizer {

namespace {

std::optional<std::string> token_name(const nlohmann::json& j, const char* key,
                                      const std::filesystem::path& path) {
    if (!j.contains(key) || j[key].is_null()) return std::nullopt;
    const auto& v = j[key];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string()) {
        return v["content"].get<std::string>();
    }
    throw_bad_input("{}: '{}' must be a string or {{\"content\": ...}}", path.string(), key);
}

std::optional<bool> flag(const nlohmann::json& j, const char* key,
                         const std::filesystem::path& path) {
    if (!j.contains(key) || j[key].is_null()) return std::nullopt;
    if (!j[key].is_boolean()) throw_bad_input("{}: '{}' must be true or false", path.string(), key);
    return j[key].get<bool>();
}

}  // namespace

TokenizerConfig read_tokenizer_config(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return {};
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(read_file(path));
    } catch (const nlohmann::json::exception& e) {
        throw_bad_input("{}: invalid JSON: {}", path.string(), e.what());
    }
    if (!j.is_object()) throw_bad_input("{}: expected a JSON object", path.string());
    TokenizerConfig config;
    config.bos_token = token_name(j, "bos_token", path);
    config.eos_token = token_name(j, "eos_token", path);
    config.pad_token = token_name(j, "pad_token", path);
    config.add_bos_token = flag(j, "add_bos_token", path);
    config.add_eos_token = flag(j, "add_eos_token", path);
    return config;
}

std::filesystem::path tokenizer_config_path(const std::filesystem::path& tokenizer_file) {
    const std::string name = tokenizer_file.filename().string();
    for (const std::string_view suffix : {".tokenizer.json", ".tokenizer.model"}) {
        if (name.size() > suffix.size() && name.ends_with(suffix)) {
            const auto paired =
                tokenizer_file.parent_path() /
                (name.substr(0, name.size() - suffix.size()) + ".tokenizer_config.json");
            std::error_code ec;
            if (std::filesystem::exists(paired, ec)) return paired;
        }
    }
    return tokenizer_file.parent_path() / "tokenizer_config.json";
}

}  // namespace qbench::tokenizer
