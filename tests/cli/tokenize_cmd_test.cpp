#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "qbench/util/files.hpp"
#include "run_qbench.hpp"

namespace qbench::testing_cli {

namespace {

std::string fixture(const std::string& name) {
    return std::string(QBENCH_SOURCE_DIR) + "/tests/fixtures/tokenizer/" + name;
}

std::string write_text(const std::string& name, const std::string& text) {
    const std::string path = ::testing::TempDir() + name;
    write_file_atomic(path, text);
    return path;
}

}  // namespace

TEST(TokenizeCli, JsonIdsMatchTheHfReference) {
    // corpus case "ascii_prose" of tests/fixtures/tokenizer, with the template's special tokens.
    const auto corpus = nlohmann::json::parse(read_file(fixture("corpus.json")));
    const auto expected = nlohmann::json::parse(read_file(fixture("added_tokens.expected.json")));
    const std::string hex = corpus["cases"][1]["hex"];
    std::string text;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        text += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    }
    const RunResult r =
        run_qbench({"tokenize", fixture("added_tokens.tokenizer.json"), "--text-file",
                    write_text("tokenize_cli.txt", text), "--special", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out).at("ids"), expected["cases"][1]["ids_special"]);
}

TEST(TokenizeCli, HumanOutputIsTheIdsOnOneLine) {
    const RunResult r = run_qbench({"tokenize", fixture("sp_bpe.tokenizer.model"), "--text-file",
                                    write_text("tokenize_cli_empty.txt", ""), "--special"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "1\n");
}

TEST(TokenizeCli, MalformedTokenizerExitsWithTwoAndOneLine) {
    const std::string bad =
        write_text("tokenizer_bad.json", "{\"model\": {\"type\": \"Unigram\"}}");
    const RunResult r =
        run_qbench({"tokenize", bad, "--text-file", write_text("tokenize_cli_x.txt", "x")});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("unsupported model 'Unigram'"), std::string::npos) << r.err;
    const RunResult missing = run_qbench({"tokenize", "/nonexistent", "--text-file", bad});
    EXPECT_EQ(missing.exit_code, 2);
}

}  // namespace qbench::testing_cli
