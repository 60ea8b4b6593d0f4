#include "qbench/tokenizer/tokenizer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "qbench/tokenizer/unicode.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"
#include "reference_cases.hpp"

namespace qbench::tokenizer {

namespace {

namespace fs = std::filesystem;

fs::path fixture(const std::string& name) {
    return testing::fixture_dir() / (name + ".tokenizer.json");
}

// Writes `json` as DIR/tokenizer.json in a fresh temp directory and loads it.
std::unique_ptr<Tokenizer> load_json(const std::string& json) {
    // Unique per process and call: ctest runs tests of this file in parallel processes.
    static int calls = 0;
    const fs::path dir = fs::temp_directory_path() /
                         ("qbench_tokenizer_test_" + std::to_string(::getpid()) + "_" + std::to_string(calls++));
    fs::remove_all(dir);
    write_file_atomic(dir / "tokenizer.json", json);
    return load_tokenizer(dir);
}

std::string bad_input_message(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kBadInput);
        return e.what();
    }
    ADD_FAILURE() << "no qbench::Error thrown";
    return "";
}

constexpr const char* kTinyBpe = R"({
  "added_tokens": [{"id": 5, "content": "<s>", "special": true}],
  "normalizer": null, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null,
  "decoder": null,
  "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "c": 3, "abc": 4},
            "merges": ["a b", ["ab", "c"]]}
})";

}  // namespace

TEST(Utf8Lossy, ReplacesEachMaximalInvalidSubpartLikeRust) {
    EXPECT_EQ(utf8_lossy("abc"), "abc");
    EXPECT_EQ(utf8_lossy("a\xFF"
                         "b"),
              "a\xEF\xBF\xBD"
              "b");
    // Truncated 4-byte sequence: one U+FFFD for the maximal subpart F0 9F 98.
    EXPECT_EQ(utf8_lossy("\xF0\x9F\x98 "), "\xEF\xBF\xBD ");
    // A surrogate (ED A0 80) and an overlong (C0 AF): one U+FFFD per byte.
    EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    EXPECT_EQ(utf8_lossy("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
    EXPECT_EQ(utf8_lossy("\xC3\x28"), "\xEF\xBF\xBD(");
}

TEST(Bpe, MergesByRankWithPairsOrStrings) {
    const auto tok = load_json(kTinyBpe);
    EXPECT_EQ(tok->encode("abc ab ba", false), (std::vector<std::int32_t>{4, 2, 1, 0}));
    EXPECT_EQ(tok->encode("<s>abc", false), (std::vector<std::int32_t>{5, 4}));
    EXPECT_EQ(tok->vocab_size(), 6);
    EXPECT_EQ(tok->decode({4, 2}, false), "abc ab");
    EXPECT_EQ(tok->decode({5, 4}, true), "abc");
}

TEST(Tokenizer, UnknownIdInDecodeIsBadInput) {
    const auto tok = load_tokenizer(fixture("gpt2_bytelevel"));
    const auto msg = bad_input_message([&] { tok->decode({1, 999999}, false); });
    EXPECT_NE(msg.find("999999"), std::string::npos);
    bad_input_message([&] { tok->token_bytes(-1); });
}

TEST(Tokenizer, InvalidUtf8IsEncodedAsItsLossyDecoding) {
    const auto tok = load_tokenizer(fixture("gpt2_bytelevel"));
    EXPECT_EQ(tok->encode("a\xFF\xFE z", false), tok->encode(utf8_lossy("a\xFF\xFE z"), false));
    EXPECT_EQ(tok->decode(tok->encode("a\xFF z", false), false), "a\xEF\xBF\xBD z");
}

TEST(Tokenizer, MalformedTokenizerJsonIsBadInputNamingTheFile) {
    EXPECT_NE(bad_input_message([] { load_json("{\"model\": "); }).find("invalid JSON"),
              std::string::npos);
    EXPECT_NE(bad_input_message([] { load_json("{}"); }).find("model"), std::string::npos);
    EXPECT_NE(bad_input_message([] {
                  load_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}})");
              }).find("'b' is not in the vocab"),
              std::string::npos);
    EXPECT_NE(bad_input_message([] {
                  load_json(R"({"model": {"type": "BPE", "vocab": 3}})");
              }).find("vocab"),
              std::string::npos);
    EXPECT_NE(bad_input_message([] {
                  load_tokenizer("/nonexistent/tokenizer.json");
              }).find("/nonexistent"),
              std::string::npos);
}

TEST(Tokenizer, UnsupportedComponentsAreNamed) {
    EXPECT_NE(bad_input_message([] {
                  load_json(R"({"model": {"type": "WordPiece", "vocab": {}}})");
              }).find("unsupported model 'WordPiece'"),
              std::string::npos);
    EXPECT_NE(bad_input_message([] {
                  load_json(R"({"pre_tokenizer": {"type": "UnicodeScripts"},
                                "model": {"type": "BPE", "vocab": {}, "merges": []}})");
              }).find("unsupported pre_tokenizer 'UnicodeScripts'"),
              std::string::npos);
    EXPECT_NE(bad_input_message([] {
                  load_json(R"({"normalizer": {"type": "Precompiled"},
                                "model": {"type": "BPE", "vocab": {}, "merges": []}})");
              }).find("unsupported normalizer 'Precompiled'"),
              std::string::npos);
    EXPECT_NE(bad_input_message([] {
                  load_json(R"({"decoder": {"type": "CTC"},
                                "model": {"type": "BPE", "vocab": {}, "merges": []}})");
              }).find("unsupported decoder 'CTC'"),
              std::string::npos);
}

TEST(Tokenizer, TokenBytesConcatenateToTheText) {
    for (const std::string name : {"gpt2_bytelevel", "metaspace_fallback"}) {
        const auto tok = load_tokenizer(fixture(name));
        const std::string text = "Hello wörld, 我们 123";
        std::string bytes;
        for (const auto id : tok->encode(text, false)) bytes += tok->token_bytes(id);
        if (name == "metaspace_fallback") {
            EXPECT_EQ(bytes, " " + text) << name;  // the prepended metaspace
        } else {
            EXPECT_EQ(bytes, text) << name;
        }
    }
}

TEST(Tokenizer, SpecialTokenPolicyComesFromTheTemplateWithoutAConfig) {
    const auto tok = load_tokenizer(fixture("added_tokens"));
    EXPECT_EQ(tok->bos_id(), 0);
    EXPECT_EQ(tok->eos_id(), 1);
    EXPECT_TRUE(tok->add_bos());
    EXPECT_TRUE(tok->add_eos());
    EXPECT_TRUE(tok->is_special(0));
    const auto gpt2 = load_tokenizer(fixture("gpt2_bytelevel"));
    EXPECT_FALSE(gpt2->bos_id().has_value());
    EXPECT_FALSE(gpt2->add_bos());
}

TEST(Tokenizer, ConfigBesideTheModelDirectorySetsThePolicy) {
    const fs::path dir = fs::temp_directory_path() / "qbench_tokenizer_config_test";
    fs::remove_all(dir);
    fs::create_directories(dir);
    fs::copy_file(fixture("added_tokens"), dir / "tokenizer.json");
    write_file_atomic(dir / "tokenizer_config.json",
                      R"({"add_bos_token": false, "bos_token": {"content": "<bos>"},
                          "eos_token": "<eos>", "pad_token": "<pad>"})");
    const auto tok = load_tokenizer(dir);
    EXPECT_EQ(tok->bos_id(), 0);
    EXPECT_EQ(tok->pad_id(), 2);
    EXPECT_FALSE(tok->add_bos());
    fs::remove_all(dir);
}

TEST(Tokenizer, MegabyteWordWithoutSpacesEncodesInSeconds) {
    const auto tok = load_tokenizer(fixture("gpt2_bytelevel"));
    std::string word;
    for (int i = 0; word.size() < (1 << 20); ++i) word += "abcdefghijklmnopqrstuvwxyz"[i * 7 % 26];
    const auto start = std::chrono::steady_clock::now();
    const auto ids = tok->encode(word, false);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(seconds, 5.0);
    EXPECT_EQ(tok->decode(ids, false), word);
}

TEST(Tokenizer, EmptyTextHasOnlyTheTemplateTokens) {
    const auto tok = load_tokenizer(fixture("added_tokens"));
    EXPECT_TRUE(tok->encode("", false).empty());
    EXPECT_EQ(tok->encode("", true), (std::vector<std::int32_t>{0, 1}));
}

}  // namespace qbench::tokenizer
