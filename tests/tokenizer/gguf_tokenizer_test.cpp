// GGUF vocabularies written by scripts/gen_gguf_fixtures.py, against the ids of the tokenizer
// transformers builds from the same files (AutoTokenizer.from_pretrained(dir, gguf_file=...)).
#include "qbench/tokenizer/gguf_tokenizer.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"
#include "support/fixtures.hpp"

namespace qbench::tokenizer {
namespace {

using nlohmann::json;

std::filesystem::path gguf_fixture(const std::string& name) {
    return qbench::testing::fixtures_dir() / "gguf" / name;
}

// Returns the number of cases compared.
int expect_matches_transformers(const std::string& name) {
    const auto tok = load_tokenizer(gguf_fixture(name + ".gguf"));
    const auto expected = json::parse(read_file(gguf_fixture(name + ".expected.json")));
    EXPECT_EQ(tok->vocab_size(), expected["vocab_size"].get<std::int64_t>());
    EXPECT_EQ(tok->bos_id(), expected["bos"].get<std::int32_t>());
    EXPECT_EQ(tok->eos_id(), expected["eos"].get<std::int32_t>());
    int n = 0;
    for (const auto& c : expected["cases"]) {
        const auto text = c["text"].get<std::string>();
        SCOPED_TRACE(c["name"].get<std::string>());
        EXPECT_EQ(tok->encode(text, false), c["ids"].get<std::vector<std::int32_t>>());
        EXPECT_EQ(tok->encode(text, true), c["ids_special"].get<std::vector<std::int32_t>>());
        ++n;
    }
    return n;
}

TEST(GgufTokenizer, Gpt2ByteLevelMatchesTransformers) { EXPECT_GT(expect_matches_transformers("tok_gpt2"), 20); }

TEST(GgufTokenizer, Gpt2WithLlamaBpeSplitMatchesTransformers) {
    EXPECT_GT(expect_matches_transformers("tok_gpt2_llama_bpe"), 20);
}

TEST(GgufTokenizer, LlamaSentencePieceMatchesTransformers) {
    EXPECT_GT(expect_matches_transformers("tok_llama_sp"), 20);
    const auto tok = load_tokenizer(gguf_fixture("tok_llama_sp.gguf"));
    EXPECT_TRUE(tok->add_bos());
    EXPECT_FALSE(tok->add_eos());
}

// A gemma3 vocabulary (tests/fixtures/gguf/gemma3.q8.gguf): whitespace tokens stored with real
// spaces, scores out of merge order, spaces replaced by U+2581 without a prefix space.
TEST(GgufTokenizer, Gemma3SentencePieceMatchesTransformers) {
    const auto tok = load_tokenizer(gguf_fixture("gemma3.q8.gguf"));
    const auto expected = json::parse(read_file(gguf_fixture("gemma3.q8.expected.json")));
    EXPECT_EQ(tok->bos_id(), expected["bos"].get<std::int32_t>());
    EXPECT_EQ(tok->eos_id(), expected["eos"].get<std::int32_t>());
    EXPECT_TRUE(tok->add_bos());
    int n = 0;
    for (const auto& c : expected["cases"]) {
        const auto text = c["text"].get<std::string>();
        SCOPED_TRACE(c["name"].get<std::string>());
        EXPECT_EQ(tok->encode(text, false), c["ids"].get<std::vector<std::int32_t>>());
        EXPECT_EQ(tok->encode(text, true), c["ids_special"].get<std::vector<std::int32_t>>());
        ++n;
    }
    EXPECT_EQ(n, 4);
}

TEST(GgufTokenizer, UnsupportedModelIsNamed) {
    // A model GGUF without tokenizer metadata.
    try {
        load_tokenizer(gguf_fixture("llama_gqa_llama3.f32.gguf"));
        FAIL();
    } catch (const Error& e) {
        EXPECT_THAT(e.what(), ::testing::HasSubstr("tokenizer.ggml.model"));
    }
}

}  // namespace
}  // namespace qbench::tokenizer
