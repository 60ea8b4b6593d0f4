// Shared by the tokenizer tests: the corpus and HF reference ids written by
// scripts/gen_tokenizer_fixtures.py, and the comparison of a tokenizer against them.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "qbench/tokenizer/tokenizer.hpp"
#include "qbench/util/files.hpp"

namespace qbench::tokenizer::testing {

inline std::filesystem::path fixture_dir() {
    return std::filesystem::path(QBENCH_SOURCE_DIR) / "tests" / "fixtures" / "tokenizer";
}

inline std::filesystem::path shared_tokenizers_dir() {
    return std::filesystem::path(QBENCH_SHARED_DIR) / "tokenizers";
}

struct CorpusCase {
    std::string name;
    std::string bytes;
};

inline std::vector<CorpusCase> load_corpus() {
    const auto j = nlohmann::json::parse(read_file(fixture_dir() / "corpus.json"));
    std::vector<CorpusCase> cases;
    for (const auto& c : j["cases"]) {
        const auto hex = c["hex"].get<std::string>();
        std::string bytes;
        for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
            bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
        }
        cases.push_back({c["name"].get<std::string>(), bytes});
    }
    return cases;
}

// Compares encode (with and without special tokens) and decode (with and without skipping
// special tokens) with the reference for every corpus case; returns the number of cases checked.
inline int expect_matches_reference(const Tokenizer& tok, const std::string& name) {
    const auto corpus = load_corpus();
    const auto expected =
        nlohmann::json::parse(read_file(fixture_dir() / (name + ".expected.json")));
    const auto& cases = expected["cases"];
    EXPECT_EQ(cases.size(), corpus.size()) << "regenerate the fixtures";
    int checked = 0;
    for (std::size_t i = 0; i < corpus.size() && i < cases.size(); ++i) {
        const auto& ref = cases[i];
        SCOPED_TRACE(name + " / " + corpus[i].name);
        const auto ids = tok.encode(corpus[i].bytes, false);
        const auto ids_special = tok.encode(corpus[i].bytes, true);
        EXPECT_EQ(ids, ref["ids"].get<std::vector<std::int32_t>>());
        EXPECT_EQ(ids_special, ref["ids_special"].get<std::vector<std::int32_t>>());
        const auto ref_special = ref["ids_special"].get<std::vector<std::int32_t>>();
        EXPECT_EQ(tok.decode(ref_special, false), ref["decode"].get<std::string>());
        const auto& skip =
            ref.contains("decode_skip_special") ? ref["decode_skip_special"] : ref["decode"];
        EXPECT_EQ(tok.decode(ref_special, true), skip.get<std::string>());
        ++checked;
    }
    return checked;
}

}  // namespace qbench::tokenizer::testing
