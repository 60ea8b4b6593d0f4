#include "qbench/tokenizer/tokenizer.hpp"

#include <nlohmann/json.hpp>

#include "qbench/tokenizer/gguf_tokenizer.hpp"
#include "qbench/tokenizer/hf_tokenizer.hpp"
#include "qbench/tokenizer/sentencepiece.hpp"
#include "qbench/tokenizer/tokenizer_config.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"

namespace qbench::tokenizer {

namespace fs = std::filesystem;

std::unique_ptr<Tokenizer> load_tokenizer(const fs::path& file_or_model_dir) {
    std::error_code ec;
    fs::path file = file_or_model_dir;
    if (fs::is_directory(file_or_model_dir, ec)) {
        file = file_or_model_dir / "tokenizer.json";
        if (!fs::exists(file, ec)) file = file_or_model_dir / "tokenizer.model";
        if (!fs::exists(file, ec)) {
            throw_bad_input("{}: no tokenizer.json or tokenizer.model in this directory",
                            file_or_model_dir.string());
        }
    } else if (!fs::exists(file, ec)) {
        throw_bad_input("{}: no such tokenizer file or model directory", file.string());
    }
    if (file.extension() == ".gguf") return make_gguf_tokenizer(io::GgufFile(file));
    const TokenizerConfig config = read_tokenizer_config(tokenizer_config_path(file));
    const std::string content = read_file(file);
    const auto first = content.find_first_not_of(" \t\r\n");
    if (first == std::string::npos || content[first] != '{') {
        return make_sentencepiece_tokenizer(file, config);
    }
    nlohmann::json spec;
    try {
        spec = nlohmann::json::parse(content);
    } catch (const nlohmann::json::exception& e) {
        throw_bad_input("{}: invalid JSON: {}", file.string(), e.what());
    }
    try {
        return make_hf_tokenizer(spec, config);
    } catch (const Error& e) {
        throw Error(e.code(), fmt::format("{}: {}", file.string(), e.what()));
    } catch (const nlohmann::json::exception& e) {
        throw_bad_input("{}: malformed tokenizer.json: {}", file.string(), e.what());
    }
}

}  // namespace qbench::tokenizer
