// The small tokenizers trained by scripts/gen_tokenizer_fixtures.py against HF's reference ids.
#include <gtest/gtest.h>

#include "qbench/tokenizer/tokenizer.hpp"
#include "reference_cases.hpp"

namespace qbench::tokenizer {

namespace {

void check_fixture(const std::string& name) {
    const auto tok = load_tokenizer(testing::fixture_dir() / (name + ".tokenizer.json"));
    EXPECT_GT(testing::expect_matches_reference(*tok, name), 20);
}

}  // namespace

TEST(HfReference, Gpt2ByteLevelMatchesHf) { check_fixture("gpt2_bytelevel"); }
TEST(HfReference, MetaspaceByteFallbackMatchesHf) { check_fixture("metaspace_fallback"); }
TEST(HfReference, DigitsPunctuationSplitsMatchHf) { check_fixture("digits_punct"); }
TEST(HfReference, AddedTokensLstripRstripSingleWordMatchHf) { check_fixture("added_tokens"); }

TEST(SentencePieceReference, TokenizerModelMatchesTheSentencepiecePackage) {
    const auto tok = load_tokenizer(testing::fixture_dir() / "sp_bpe.tokenizer.model");
    EXPECT_GT(testing::expect_matches_reference(*tok, "sp_bpe"), 20);
    EXPECT_EQ(tok->bos_id(), 1);
    EXPECT_EQ(tok->eos_id(), 2);
    EXPECT_TRUE(tok->add_bos());
    std::string bytes;
    for (const auto id : tok->encode("Hello 我们", false)) bytes += tok->token_bytes(id);
    EXPECT_EQ(bytes, " Hello 我们");
}

}  // namespace qbench::tokenizer
