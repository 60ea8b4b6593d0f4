// tokenizer_config.json: the special-token names and the add_bos / add_eos policy.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace qbench::tokenizer {

struct TokenizerConfig {
    std::optional<std::string> bos_token;
    std::optional<std::string> eos_token;
    std::optional<std::string> pad_token;
    std::optional<bool> add_bos_token;
    std::optional<bool> add_eos_token;
};

// Reads `path`; an absent file gives an empty config. Token entries may be strings or
// {"content": ...} objects. Throws a kBadInput Error for malformed JSON.
TokenizerConfig read_tokenizer_config(const std::filesystem::path& path);

// The tokenizer_config.json that belongs to `tokenizer_file`: "X.tokenizer_config.json" beside
// "X.tokenizer.json" / "X.tokenizer.model" when it exists, else "tokenizer_config.json" beside it.
std::filesystem::path tokenizer_config_path(const std::filesystem::path& tokenizer_file);

}  // namespace qbench::tokenizer
