// The real Llama-2, Llama-3 and Qwen3 tokenizers (../shared/tokenizers) against HF's reference
// ids. Skipped where the shared folder is absent.
#include <gtest/gtest.h>

#include <chrono>

#include "qbench/tokenizer/tokenizer.hpp"
#include "reference_cases.hpp"

namespace qbench::tokenizer {

namespace {

std::unique_ptr<Tokenizer> load_real(const std::string& name) {
    const auto path = testing::shared_tokenizers_dir() / (name + ".tokenizer.json");
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return nullptr;
    return load_tokenizer(path);
}

#define LOAD_REAL_OR_SKIP(var, name)                                                      \
    const auto var = load_real(name);                                                     \
    if (!var)                                                                             \
    GTEST_SKIP() << "shared tokenizers not found at " << testing::shared_tokenizers_dir() \
                 << " (set QBENCH_SHARED_DIR)"

}  // namespace

TEST(HfReferenceReal, Llama2MatchesHf) {
    LOAD_REAL_OR_SKIP(tok, "llama2");
    EXPECT_GT(testing::expect_matches_reference(*tok, "llama2"), 20);
    EXPECT_EQ(tok->bos_id(), 1);
    EXPECT_EQ(tok->eos_id(), 2);
    EXPECT_TRUE(tok->add_bos());
    EXPECT_EQ(tok->vocab_size(), 32000);
    std::string bytes;
    for (const auto id : tok->encode("hello world", false)) bytes += tok->token_bytes(id);
    EXPECT_EQ(bytes, " hello world");
    EXPECT_EQ(tok->token_bytes(0x0A + 3), "\n");  // <0x0A>
}

TEST(HfReferenceReal, Llama3MatchesHf) {
    LOAD_REAL_OR_SKIP(tok, "llama3");
    EXPECT_GT(testing::expect_matches_reference(*tok, "llama3"), 20);
    EXPECT_EQ(tok->bos_id(), 128000);
    EXPECT_EQ(tok->eos_id(), 128001);
    EXPECT_EQ(tok->vocab_size(), 128256);
    EXPECT_TRUE(tok->is_special(128000));
}

TEST(HfReferenceReal, Qwen3MatchesHf) {
    LOAD_REAL_OR_SKIP(tok, "qwen3");
    EXPECT_GT(testing::expect_matches_reference(*tok, "qwen3"), 20);
    EXPECT_FALSE(tok->bos_id().has_value());
    EXPECT_FALSE(tok->add_bos());
    EXPECT_EQ(tok->pad_id(), 151643);
    EXPECT_EQ(tok->eos_id(), 151645);
}

TEST(HfReferenceReal, MegabyteWordWithoutSpacesIsFast) {
    LOAD_REAL_OR_SKIP(tok, "llama2");
    std::string word;
    for (int i = 0; word.size() < (1 << 20); ++i) word += "abcdefghij"[i * 7 % 10];
    const auto start = std::chrono::steady_clock::now();
    const auto ids = tok->encode(word, false);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(seconds, 10.0);
    EXPECT_EQ(tok->decode(ids, true), word);
}

}  // namespace qbench::tokenizer
