// GGUF vocabularies against llama.cpp's llama_tokenize. The committed vocabularies
// (scripts/gen_gguf_fixtures.py) carry llama-tokenize's ids for their case texts in
// <name>.llamacpp.json (scripts/llamacpp_agreement.py tokenize --fixtures); where those differ
// from the transformers ids of <name>.expected.json, llama.cpp is the reference. Tiny vocabularies
// written here test the failure messages and llama.cpp's splitter quirks; their expected ids are
// llama-tokenize's on the same vocabularies (written with gguf-py, checked once by hand).
#include "qbench/tokenizer/gguf_tokenizer.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <variant>

#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"
#include "support/fixtures.hpp"

namespace qbench::tokenizer {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

fs::path gguf_fixture(const std::string& name) { return qbench::testing::fixtures_dir() / "gguf" / name; }

std::unique_ptr<GgufTokenizer> load_gguf(const fs::path& p) { return make_gguf_tokenizer(io::GgufFile(p)); }

// Returns the number of cases compared.
int expect_matches_llamacpp(const std::string& name) {
    const auto tok = load_gguf(gguf_fixture(name + ".gguf"));
    const auto meta = json::parse(read_file(gguf_fixture(name + ".expected.json")));
    // llama.cpp's vocabulary is the file's token list (transformers' count can differ: Gemma 3).
    EXPECT_EQ(tok->vocab_size(),
              static_cast<std::int64_t>(io::GgufFile(gguf_fixture(name + ".gguf")).get_string_array("tokenizer.ggml.tokens").size()));
    EXPECT_EQ(tok->bos_id(), meta["bos"].get<std::int32_t>());
    EXPECT_EQ(tok->eos_id(), meta["eos"].get<std::int32_t>());
    const auto ref = json::parse(read_file(gguf_fixture(name + ".llamacpp.json")));
    int n = 0;
    for (const auto& c : ref["cases"]) {
        const auto text = c["text"].get<std::string>();
        SCOPED_TRACE(c["name"].get<std::string>());
        EXPECT_EQ(tok->encode(text, false), c["ids"].get<std::vector<std::int32_t>>());
        // llama-tokenize adds special tokens where the model adds BOS.
        EXPECT_EQ(tok->encode(text, tok->add_bos()), c["ids_special"].get<std::vector<std::int32_t>>());
        EXPECT_EQ(tok->encode(text, false, true), c["ids_parse_special"].get<std::vector<std::int32_t>>());
        ++n;
    }
    return n;
}

TEST(GgufTokenizer, Gpt2ByteLevelMatchesLlamaCpp) { EXPECT_GT(expect_matches_llamacpp("tok_gpt2"), 50); }

TEST(GgufTokenizer, Gpt2WithLlamaBpeSplitMatchesLlamaCpp) {
    EXPECT_GT(expect_matches_llamacpp("tok_gpt2_llama_bpe"), 50);
}

TEST(GgufTokenizer, LlamaSentencePieceMatchesLlamaCpp) {
    EXPECT_GT(expect_matches_llamacpp("tok_llama_sp"), 50);
    const auto tok = load_gguf(gguf_fixture("tok_llama_sp.gguf"));
    EXPECT_TRUE(tok->add_bos());
    EXPECT_FALSE(tok->add_eos());
}

// A gemma3 SentencePiece vocabulary: whitespace runs stored with real spaces (user-defined).
TEST(GgufTokenizer, Gemma3SentencePieceMatchesLlamaCpp) {
    EXPECT_EQ(expect_matches_llamacpp("gemma3.q8"), 4);
    EXPECT_TRUE(load_gguf(gguf_fixture("gemma3.q8.gguf"))->add_bos());
}

// ---- tiny vocabularies written here (GGUF v3, metadata only) ----

using Value = std::variant<std::string, std::vector<std::string>, bool, std::vector<std::int32_t>>;

void write_gguf(const fs::path& path, const std::vector<std::pair<std::string, Value>>& kv) {
    std::string b;
    auto u32 = [&](std::uint32_t v) { b.append(reinterpret_cast<const char*>(&v), 4); };
    auto u64 = [&](std::uint64_t v) { b.append(reinterpret_cast<const char*>(&v), 8); };
    auto str = [&](const std::string& s) {
        u64(s.size());
        b += s;
    };
    b += "GGUF";
    u32(3);
    u64(0);
    u64(kv.size());
    for (const auto& [key, value] : kv) {
        str(key);
        if (const auto* s = std::get_if<std::string>(&value)) {
            u32(8);
            str(*s);
        } else if (const auto* a = std::get_if<std::vector<std::string>>(&value)) {
            u32(9);
            u32(8);
            u64(a->size());
            for (const auto& e : *a) str(e);
        } else if (const auto* f = std::get_if<bool>(&value)) {
            u32(7);
            b += static_cast<char>(*f);
        } else {
            const auto& ints = std::get<std::vector<std::int32_t>>(value);
            u32(9);
            u32(5);
            u64(ints.size());
            for (auto i : ints) u32(static_cast<std::uint32_t>(i));
        }
    }
    std::ofstream(path, std::ios::binary) << b;
}

fs::path temp_gguf(const std::string& name) { return fs::temp_directory_path() / ("qbench_gguf_tok_" + name + ".gguf"); }

// GPT-2 byte alphabet: Ċ is "\n", Ġ is " ".
const std::vector<std::string> kByteTokens{"Ċ", "Ġ", "ĊĊ", "ĠĠ", "ĊĊĠĠ", "0", ".", "ĊĊĠ"};
const std::vector<std::string> kByteMerges{"Ċ Ċ", "Ġ Ġ", "ĊĊ ĠĠ", "ĊĊ Ġ"};

fs::path byte_vocab(const std::string& name, const std::string& pre) {
    const auto p = temp_gguf(name);
    write_gguf(p, {{"tokenizer.ggml.model", std::string("gpt2")},
                   {"tokenizer.ggml.pre", pre},
                   {"tokenizer.ggml.tokens", kByteTokens},
                   {"tokenizer.ggml.merges", kByteMerges}});
    return p;
}

// llama.cpp's smollm pre type splits \p{N} first and runs GPT-2's hand-written splitter on each
// piece, where the end of a piece ends a whitespace run like the end of the text: "\n\n  0."
// gives one "\n\n  " word (PCRE would give "\n\n " + " 0"), hence one ĊĊĠĠ token.
TEST(GgufTokenizer, SmollmSplitEndsWhitespaceRunsAtDigits) {
    const auto tok = load_gguf(byte_vocab("smollm", "smollm"));
    EXPECT_EQ(tok->encode("\n\n  0.", false), (std::vector<std::int32_t>{4, 5, 6}));
    // gpt-2 has no digit split: \s+(?!\S) leaves the last space to the digit's word " 0", which
    // has no merge: ĊĊĠ, Ġ, 0, .
    const auto gpt2 = load_gguf(byte_vocab("gpt2", "gpt-2"));
    EXPECT_EQ(gpt2->encode("\n\n  0.", false), (std::vector<std::int32_t>{7, 1, 5, 6}));
}

TEST(GgufTokenizer, UnknownPreTypeIsNamedWithTheFile) {
    const auto p = byte_vocab("unknown_pre", "no-such-pre");
    try {
        load_gguf(p);
        FAIL();
    } catch (const Error& e) {
        EXPECT_THAT(e.what(), ::testing::HasSubstr("'no-such-pre'"));
        EXPECT_THAT(e.what(), ::testing::HasSubstr(p.string()));
    }
}

TEST(GgufTokenizer, UnsupportedModelKindIsNamed) {
    for (const std::string kind : {"t5", "rwkv", "plamo2"}) {
        const auto p = temp_gguf(kind);
        write_gguf(p, {{"tokenizer.ggml.model", kind}, {"tokenizer.ggml.tokens", kByteTokens}});
        try {
            load_gguf(p);
            ADD_FAILURE() << kind;
        } catch (const Error& e) {
            EXPECT_THAT(e.what(), ::testing::HasSubstr("'" + kind + "'"));
            EXPECT_THAT(e.what(), ::testing::HasSubstr(p.string()));
        }
    }
    // A model GGUF without tokenizer metadata.
    try {
        load_gguf(gguf_fixture("llama_gqa_llama3.f32.gguf"));
        FAIL();
    } catch (const Error& e) {
        EXPECT_THAT(e.what(), ::testing::HasSubstr("tokenizer.ggml.model"));
    }
}

// Special tokens: control ones only with parse_special, user-defined ones always; phi-3's
// rstrip (by general.name) eats the spaces after a special token.
TEST(GgufTokenizer, SpecialTokensPartitionTheText) {
    const auto p = temp_gguf("special");
    const std::vector<std::string> tokens{"<unk>", "<s>", "</s>", "<|end|>", "<x>", "\xe2\x96\x81", "a", "b",
                                          "\xe2\x96\x81" "a", "<|endoftext|>"};
    // types: unknown, control, control, control, user-defined, normal..., control
    const std::vector<std::int32_t> types{2, 3, 3, 3, 4, 1, 1, 1, 1, 3};
    write_gguf(p, {{"tokenizer.ggml.model", std::string("llama")},
                   {"general.name", std::string("Phi-3 test")},
                   {"tokenizer.ggml.tokens", tokens},
                   {"tokenizer.ggml.token_type", types}});
    const auto tok = load_gguf(p);
    EXPECT_EQ(tok->encode("a<x>b", false), (std::vector<std::int32_t>{8, 4, 5, 7}));
    EXPECT_EQ(tok->encode("a<|end|>  b", false, true), (std::vector<std::int32_t>{8, 3, 5, 7}));
    EXPECT_EQ(tok->encode("a", true), (std::vector<std::int32_t>{1, 8}));
    EXPECT_TRUE(tok->is_special(3));
    EXPECT_FALSE(tok->is_special(4));
    EXPECT_EQ(tok->decode({1, 8, 3, 7}, true), " ab");
    EXPECT_EQ(tok->token_bytes(8), " a");
}

}  // namespace
}  // namespace qbench::tokenizer
