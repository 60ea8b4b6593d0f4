// JSON Lines reader: one JSON value per non-blank line; errors name file:line.
#pragma once

#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

namespace qbench::io {

struct JsonlRecord {
    std::size_t line = 0;  // 1-based line number in the file
    nlohmann::json value;
};

std::vector<JsonlRecord> read_jsonl(const std::filesystem::path& path);

}  // namespace qbench::io
