// Perplexity protocols: window construction against the definitions, and golden NLL sums
// against the float64 reference of scripts/gen_model_fixtures.py.
#include "qbench/eval/perplexity.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "qbench/eval/perplexity_input.hpp"
#include "qbench/model/decoder.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"
#include "support/fixtures.hpp"

namespace qbench::eval {
namespace {

using qbench::testing::kModelFixtures;
using qbench::testing::model_fixture;

PerplexityInput ids_input(std::vector<TokenIds> docs) {
    PerplexityInput in;
    in.documents = std::move(docs);
    in.plain = in.documents;
    for (const auto& d : in.documents) in.joined.insert(in.joined.end(), d.begin(), d.end());
    return in;
}

TokenIds iota(int n, int from = 0) {
    TokenIds v(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = from + i;
    return v;
}

// Every target position of a document, as (document, position) pairs, for each window.
std::map<std::pair<std::size_t, std::int32_t>, int> scored_positions(const std::vector<Window>& ws) {
    std::map<std::pair<std::size_t, std::int32_t>, int> count;
    for (const auto& w : ws) {
        for (std::size_t t = static_cast<std::size_t>(w.score_from); t < w.ids.size(); ++t) ++count[{0, w.ids[t]}];
    }
    return count;
}

TEST(PerplexityWindows, SlidingScoresEveryTokenAfterTheFirstExactlyOnce) {
    for (int n : {1, 2, 15, 16, 17, 40, 101}) {
        for (auto [L, stride] : {std::pair{16, 15}, {16, 5}, {16, 1}, {7, 3}}) {
            PerplexityOptions o;
            o.protocol = "sliding";
            o.max_length = L;
            o.stride = stride;
            auto ws = make_windows(ids_input({iota(n)}), o, nullptr);
            auto count = scored_positions(ws);
            EXPECT_EQ(count.size(), static_cast<std::size_t>(std::max(0, n - 1))) << n << " " << L << " " << stride;
            for (const auto& [pos, c] : count) {
                EXPECT_EQ(c, 1);
                EXPECT_NE(pos.second, 0);
            }
            for (const auto& w : ws) EXPECT_LE(static_cast<std::int64_t>(w.ids.size()), L);
        }
    }
}

// With stride == max_length the windows are disjoint: a window's first token has no context
// inside its window and is not scored (as in the transformers guide's loop), so each window
// after the first loses one token.
TEST(PerplexityWindows, SlidingWithStrideEqualToLengthSkipsWindowStarts) {
    PerplexityOptions o;
    o.max_length = 8;
    o.stride = 8;
    auto ws = make_windows(ids_input({iota(20)}), o, nullptr);
    auto count = scored_positions(ws);
    EXPECT_EQ(count.size(), 17u);  // 19 targets minus positions 8 and 16
    EXPECT_EQ(count.count({0, 8}), 0u);
    EXPECT_EQ(count.count({0, 16}), 0u);
}

TEST(PerplexityWindows, SlidingContextIsTheWholeWindowBeforeTheTarget) {
    PerplexityOptions o;
    o.max_length = 8;
    o.stride = 4;
    auto ws = make_windows(ids_input({iota(20)}), o, nullptr);
    ASSERT_EQ(ws.size(), 4u);  // starts 0, 4, 8, 12 (the last reaches the end)
    EXPECT_EQ(ws[1].ids.front(), 4);
    EXPECT_EQ(ws[1].score_from, 4);  // targets 8..11, scored with 4..7 tokens of context
    EXPECT_EQ(ws[3].ids, iota(8, 12));
    EXPECT_EQ(ws[3].score_from, 4);  // targets 16..19
}

TEST(PerplexityWindows, GptqCutsDisjointSegmentsAndDropsTheTail) {
    PerplexityOptions o;
    o.protocol = "gptq";
    o.max_length = 10;
    std::size_t blocks = 0;
    auto ws = make_windows(ids_input({iota(17), iota(18, 17)}), o, &blocks);
    ASSERT_EQ(ws.size(), 3u);  // 35 tokens -> 3 segments, 5 dropped
    EXPECT_EQ(blocks, 3u);
    EXPECT_EQ(ws[2].ids, iota(10, 20));
    EXPECT_EQ(ws[2].score_from, 1);
}

TEST(PerplexityWindows, LlamaCppReplacesFirstTokenWithBosAndScoresSecondHalf) {
    PerplexityOptions o;
    o.protocol = "llama.cpp";
    o.max_length = 512;
    o.chunk_bos = 1;
    auto ws = make_windows(ids_input({iota(1100, 5)}), o, nullptr);
    ASSERT_EQ(ws.size(), 2u);
    EXPECT_EQ(ws[1].ids[0], 1);
    EXPECT_EQ(ws[1].ids[1], 5 + 513);
    EXPECT_EQ(static_cast<std::int64_t>(ws[0].ids.size()) - ws[0].score_from, 255);  // n_ctx - 1 - n_ctx/2
    o.chunk_bos.reset();
    EXPECT_EQ(make_windows(ids_input({iota(1100, 5)}), o, nullptr)[1].ids[0], 5 + 512);
}

TEST(PerplexityWindows, LlamaCppNeedsTwoContextsOfTokens) {
    PerplexityOptions o;
    o.protocol = "llama.cpp";
    o.max_length = 16;
    EXPECT_THROW(make_windows(ids_input({iota(31)}), o, nullptr), Error);
}

// The docstring example of lm-eval's get_rolling_token_windows: tokens 0..9, max_seq_len 4,
// context_len 1: [BOS 0 1 2]->[0 1 2 3], [3 4 5 6]->[4 5 6 7], [5 6 7 8]->[8 9].
TEST(PerplexityWindows, LmEvalRollingMatchesTheHarnessExample) {
    PerplexityOptions o;
    o.protocol = "lm-eval-rolling";
    o.max_length = 4;
    o.prefix_token = 99;
    std::size_t blocks = 0;
    auto ws = make_windows(ids_input({iota(10)}), o, &blocks);
    ASSERT_EQ(ws.size(), 3u);
    EXPECT_EQ(blocks, 1u);
    EXPECT_EQ(ws[0].ids, (TokenIds{99, 0, 1, 2, 3}));
    EXPECT_EQ(ws[0].score_from, 1);
    EXPECT_EQ(ws[1].ids, (TokenIds{3, 4, 5, 6, 7}));
    EXPECT_EQ(ws[1].score_from, 1);
    EXPECT_EQ(ws[2].ids, (TokenIds{5, 6, 7, 8, 9}));
    EXPECT_EQ(ws[2].score_from, 3);
}

TEST(PerplexityWindows, LimitCapsBlocks) {
    PerplexityOptions o;
    o.max_length = 4;
    o.stride = 4;
    o.limit = 2;
    std::size_t blocks = 0;
    EXPECT_EQ(make_windows(ids_input({iota(40)}), o, &blocks).size(), 2u);
    EXPECT_EQ(blocks, 2u);
}

TEST(PerplexityWindows, BadOptionsAreErrors) {
    PerplexityOptions o;
    o.protocol = "slidng";
    try {
        validate(o);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("did you mean 'sliding'"), std::string::npos);
    }
    o.protocol = "sliding";
    o.max_length = 8;
    o.stride = 9;
    EXPECT_THROW(validate(o), Error);
    o.protocol = "lm-eval-rolling";
    EXPECT_THROW(validate(o), Error);  // no prefix token
}

// Golden: qbench in float32 reproduces the float64 reference's NLL sum with relative error
// < 1e-5 (the bound), exact token counts, and the same blocks.
class PerplexityGolden : public ::testing::TestWithParam<std::tuple<const char*, const char*>> {};

TEST_P(PerplexityGolden, Float32MatchesFloat64Reference) {
    const auto [name, protocol] = GetParam();
    auto ref = nlohmann::json::parse(read_file(model_fixture(name) / "perplexity.json"))[protocol];
    auto model = model::Decoder::load(model_fixture(name) / "f32", {torch::kCPU, torch::kFloat32, {}});
    auto input = load_perplexity_input(qbench::testing::fixtures_dir() / "models" / "data.jsonl", {});
    PerplexityOptions o;
    o.protocol = protocol;
    o.max_length = ref["max_length"];
    o.stride = ref.value("stride", 0);
    o.batch_size = 3;
    o.chunk_bos = 1;
    o.prefix_token = 1;
    auto r = evaluate_perplexity(*model, input, o);
    EXPECT_EQ(r.tokens_scored, ref["tokens_scored"].get<std::int64_t>());
    EXPECT_LT(std::abs(r.nll_sum / ref["nll_sum"].get<double>() - 1), 1e-5);
    EXPECT_LT(std::abs(r.ppl / ref["ppl"].get<double>() - 1), 1e-5);
    ASSERT_EQ(r.blocks.size(), ref["blocks"].size());
    for (std::size_t i = 0; i < r.blocks.size(); ++i) {
        EXPECT_EQ(r.blocks[i].tokens, ref["blocks"][i]["tokens"].get<std::int64_t>());
        EXPECT_NEAR(r.blocks[i].nll_sum, ref["blocks"][i]["nll_sum"].get<double>(), 1e-3);
    }
}

INSTANTIATE_TEST_SUITE_P(
    All, PerplexityGolden,
    ::testing::Combine(::testing::ValuesIn(kModelFixtures),
                       ::testing::Values("sliding", "gptq", "llama.cpp", "lm-eval-rolling")));

TEST(Perplexity, BatchSizeDoesNotChangeTheResult) {
    auto model = model::Decoder::load(model_fixture("qwen2_bias_swa") / "f32", {torch::kCPU, torch::kFloat32, {}});
    auto input = load_perplexity_input(qbench::testing::fixtures_dir() / "models" / "data.jsonl", {});
    PerplexityOptions o;
    o.max_length = 16;
    o.stride = 6;
    auto one = evaluate_perplexity(*model, input, o);
    o.batch_size = 7;
    auto seven = evaluate_perplexity(*model, input, o);
    EXPECT_EQ(one.tokens_scored, seven.tokens_scored);
    EXPECT_NEAR(one.nll_sum, seven.nll_sum, 1e-9 * std::abs(one.nll_sum) + 1e-4);
}

TEST(Perplexity, WordAndByteFiguresFollowLmEval) {
    report::PerplexityResult r;
    r.protocol = "lm-eval-rolling";
    r.blocks = {{10.0, 5, 3, 12}, {20.0, 10, 4, 20}};
    finalize(r);
    EXPECT_DOUBLE_EQ(r.ppl, std::exp(30.0 / 15));
    EXPECT_DOUBLE_EQ(*r.word_perplexity, std::exp(30.0 / 7));
    EXPECT_DOUBLE_EQ(*r.byte_perplexity, std::exp(30.0 / 32));
    EXPECT_DOUBLE_EQ(*r.bits_per_byte, 30.0 / 32 / std::log(2.0));
}

class PerplexityInputTest : public ::testing::Test {
protected:
    std::filesystem::path write(const std::string& name, const std::string& content) {
        auto p = std::filesystem::temp_directory_path() / ("qbench_ppl_" + name);
        write_file_atomic(p, content);
        return p;
    }
    void expect_error(const std::filesystem::path& p, const std::string& fragment, const Encoder& enc = {}) {
        try {
            load_perplexity_input(p, enc);
            FAIL() << fragment;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::kBadInput);
            EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
        }
    }
};

TEST_F(PerplexityInputTest, PreTokenizedIdsAreUsedAsGiven) {
    auto in = load_perplexity_input(write("a.jsonl", "{\"input_ids\": [5, 6]}\n\n{\"input_ids\": [7]}\n"), {});
    ASSERT_EQ(in.documents.size(), 2u);
    EXPECT_EQ(in.documents[0], (TokenIds{5, 6}));
    EXPECT_EQ(in.joined, (TokenIds{5, 6, 7}));
    EXPECT_TRUE(in.texts.empty());
}

TEST_F(PerplexityInputTest, TextDocumentsAreJoinedWithBlankLinesForTheStream) {
    std::vector<std::string> seen;
    Encoder enc = [&](const std::string& s, bool special) {
        seen.push_back(s);
        TokenIds ids(s.size(), 3);
        if (special) ids.insert(ids.begin(), 1);  // a BOS-adding tokenizer
        return ids;
    };
    auto in = load_perplexity_input(write("t.jsonl", "{\"text\": \"ab\"}\n{\"text\": \"cde\"}\n"), enc);
    EXPECT_EQ(seen.back(), "ab\n\ncde");
    EXPECT_EQ(in.joined.size(), 8u);      // BOS + "ab\n\ncde"
    EXPECT_EQ(in.documents[1].size(), 4u);  // BOS + "cde"
    EXPECT_EQ(in.plain[1].size(), 3u);      // "cde"
    EXPECT_EQ(in.texts.size(), 2u);
}

TEST_F(PerplexityInputTest, BadInputsNameFileAndLine) {
    expect_error(write("m.jsonl", "{\"input_ids\": [1]}\n{oops\n"), "qbench_ppl_m.jsonl:2: malformed JSON");
    expect_error(write("n.jsonl", "{\"input_ids\": [1, -2]}\n"), ":1: \"input_ids\" holds -2");
    expect_error(write("k.jsonl", "{\"words\": \"x\"}\n"), ":1: expected a \"text\" or \"input_ids\"");
    expect_error(write("x.jsonl", "{\"text\": \"x\"}\n{\"input_ids\": [1]}\n"), ":2: mixes");
    expect_error(write("t.txt", "hello"), "needs the model's tokenizer");
    expect_error(write("e.jsonl", "\n"), "no documents");
    expect_error(write("b.csv", "1,2"), "unsupported input format '.csv'");
}

}  // namespace
}  // namespace qbench::eval
