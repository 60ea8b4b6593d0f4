// Generation: greedy tokens against transformers' `generate` (fixtures from
// scripts/gen_generate_fixtures.py), batch == alone with left padding, static-shape steps,
// seeded sampling and stops.
#include "qbench/model/generate.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "qbench/util/error.hpp"
#include "support/fixtures.hpp"

namespace qbench::model {
namespace {

using qbench::testing::kModelFixtures;
using qbench::testing::model_fixture;

struct GreedyFixture {
    std::int64_t max_new_tokens = 0;
    std::vector<TokenIds> prompts;
    std::vector<TokenIds> alone;    // transformers, each prompt on its own
    std::vector<TokenIds> batched;  // transformers, one left-padded batch
};

GreedyFixture load_greedy(const std::string& name) {
    std::ifstream in(model_fixture(name) / "generate.json");
    auto j = nlohmann::json::parse(in);
    return {j.at("max_new_tokens").get<std::int64_t>(), j.at("prompts").get<std::vector<TokenIds>>(),
            j.at("alone").get<std::vector<TokenIds>>(), j.at("batched").get<std::vector<TokenIds>>()};
}

std::unique_ptr<Decoder> load_f32(const std::string& name) {
    return Decoder::load(model_fixture(name) / "f32", {torch::kCPU, torch::kFloat32, {}});
}

GenerateOptions greedy_options(std::int64_t max_new_tokens) {
    GenerateOptions o;
    o.max_new_tokens = max_new_tokens;
    return o;
}

class GenerateGolden : public ::testing::TestWithParam<const char*> {};

TEST_P(GenerateGolden, GreedyAloneMatchesTransformers) {
    const auto fx = load_greedy(GetParam());
    auto model = load_f32(GetParam());
    for (std::size_t i = 0; i < fx.prompts.size(); ++i) {
        auto r = generate(*model, {fx.prompts[i]}, greedy_options(fx.max_new_tokens));
        EXPECT_EQ(r.rows.at(0).tokens, fx.alone[i]) << "prompt " << i;
        EXPECT_EQ(r.rows[0].finish_reason, "length");
        EXPECT_EQ(r.token_seconds.size(), static_cast<std::size_t>(fx.max_new_tokens));
    }
}

TEST_P(GenerateGolden, LeftPaddedBatchGivesEachPromptsTokensAlone) {
    const auto fx = load_greedy(GetParam());
    auto model = load_f32(GetParam());
    auto r = generate(*model, fx.prompts, greedy_options(fx.max_new_tokens));
    ASSERT_EQ(r.rows.size(), fx.prompts.size());
    for (std::size_t i = 0; i < fx.prompts.size(); ++i) {
        EXPECT_EQ(r.rows[i].tokens, fx.alone[i]) << "row " << i;
        EXPECT_EQ(r.rows[i].tokens, fx.batched[i]) << "row " << i;
    }
}

// The CUDA-graph step shape (attend over the whole cache under a mask, write at a device-side
// slot) run eagerly on the CPU gives the logits of the dynamic path.
TEST_P(GenerateGolden, StaticShapeStepsEqualDynamicSteps) {
    const auto fx = load_greedy(GetParam());
    auto model = load_f32(GetParam());
    const auto batch = left_pad(fx.prompts, 0);
    const auto capacity = batch.ids.size(1) + 6;
    auto dynamic = model->make_cache(3, capacity);
    dynamic.pad = batch.pad;
    auto fixed = model->make_cache(3, capacity, /*static_shapes=*/true);
    fixed.pad = batch.pad;
    auto a = prefill(*model, batch.ids, dynamic);
    auto b = prefill(*model, batch.ids, fixed);
    EXPECT_EQ(fixed.slot.item<std::int64_t>(), batch.ids.size(1));
    for (int step = 0; step < 6; ++step) {
        EXPECT_LT((a - b).abs().max().item<double>(), 1e-5) << "step " << step;
        auto next = a.argmax(-1).view({3, 1});
        a = decode_one_token(*model, next, dynamic);
        b = decode_one_token(*model, next, fixed);
    }
    EXPECT_EQ(fixed.slot.item<std::int64_t>(), fixed.length);
}

INSTANTIATE_TEST_SUITE_P(Architectures, GenerateGolden, ::testing::ValuesIn(kModelFixtures));

TEST(Generate, LeftPadPutsPaddingInFront) {
    auto b = left_pad({{5, 6, 7}, {9}}, 0);
    EXPECT_TRUE(b.padded);
    EXPECT_TRUE(b.ids.equal(torch::tensor({5, 6, 7, 0, 0, 9}, torch::kInt64).view({2, 3})));
    EXPECT_TRUE(b.pad.equal(torch::tensor({0, 2}, torch::kInt64)));
    EXPECT_THROW(left_pad({{1}, {}}, 0), Error);
}

TEST(Generate, StopTokenEndsOnlyItsRowAndIsKept) {
    const auto fx = load_greedy("llama_gqa_llama3");
    auto model = load_f32("llama_gqa_llama3");
    auto o = greedy_options(fx.max_new_tokens);
    const auto stop = fx.alone[0][3];
    o.stop_token_ids = {stop};
    auto r = generate(*model, fx.prompts, o);
    EXPECT_EQ(r.rows[0].finish_reason, "stop_token");
    const auto first = std::find(fx.alone[0].begin(), fx.alone[0].end(), stop);
    EXPECT_EQ(r.rows[0].tokens, TokenIds(fx.alone[0].begin(), first + 1));
    for (std::size_t i = 1; i < fx.prompts.size(); ++i) {
        const auto it = std::find(fx.alone[i].begin(), fx.alone[i].end(), stop);
        EXPECT_EQ(r.rows[i].tokens, TokenIds(fx.alone[i].begin(), it == fx.alone[i].end() ? it : it + 1));
    }
}

TEST(Generate, StopStringsStopARowOnceTheTextContainsOne) {
    const auto fx = load_greedy("qwen3_qknorm");
    auto model = load_f32("qwen3_qknorm");
    auto o = greedy_options(fx.max_new_tokens);
    // A toy detokenizer: each id becomes "<id>".
    auto text = [](const TokenIds& ids) {
        std::string s;
        for (auto id : ids) s += "<" + std::to_string(id) + ">";
        return s;
    };
    const std::string needle = "<" + std::to_string(fx.alone[1][2]) + "><" + std::to_string(fx.alone[1][3]) + ">";
    o.stop = stop_on_strings(text, {needle});
    auto r = generate(*model, {fx.prompts[1]}, o);
    EXPECT_EQ(r.rows[0].finish_reason, "stop");
    EXPECT_NE(text(r.rows[0].tokens).find(needle), std::string::npos);
    EXPECT_EQ(text(TokenIds(r.rows[0].tokens.begin(), r.rows[0].tokens.end() - 1)).find(needle), std::string::npos);
}

TEST(Generate, SeededSamplingRepeatsAndTopKOneIsGreedy) {
    const auto fx = load_greedy("mistral_swa");
    auto model = load_f32("mistral_swa");
    auto o = greedy_options(12);
    o.sampling.temperature = 1.5;
    o.sampling.seed = 7;
    auto a = generate(*model, fx.prompts, o);
    auto b = generate(*model, fx.prompts, o);
    for (std::size_t i = 0; i < fx.prompts.size(); ++i) EXPECT_EQ(a.rows[i].tokens, b.rows[i].tokens);
    o.sampling.seed = 8;
    auto c = generate(*model, fx.prompts, o);
    bool differs = false;
    for (std::size_t i = 0; i < fx.prompts.size(); ++i) differs = differs || a.rows[i].tokens != c.rows[i].tokens;
    EXPECT_TRUE(differs);
    o.sampling.top_k = 1;
    auto g = generate(*model, {fx.prompts[0]}, o);
    EXPECT_EQ(g.rows[0].tokens, TokenIds(fx.alone[0].begin(), fx.alone[0].begin() + 12));
}

TEST(Generate, TopPKeepsTheSmallestSetReachingTheMass) {
    auto gen = make_generator(torch::kCPU, 1);
    // probabilities 0.5, 0.3, 0.2: top_p 0.6 keeps the first two, top_p 0.4 only the first.
    auto logits = torch::log(torch::tensor({0.5, 0.3, 0.2}, torch::kFloat32)).view({1, 3}).repeat({400, 1});
    SamplingOptions o;
    o.temperature = 1.0;
    o.top_p = 0.6;
    auto drawn = sample(logits, o, gen);
    EXPECT_EQ(drawn.eq(2).sum().item<std::int64_t>(), 0);
    EXPECT_GT(drawn.eq(1).sum().item<std::int64_t>(), 0);
    o.top_p = 0.4;
    EXPECT_TRUE(sample(logits, o, gen).eq(0).all().item<bool>());
}

TEST(Generate, GeneratorIsReusableAcrossBatches) {
    const auto fx = load_greedy("qwen2_bias_swa");
    auto model = load_f32("qwen2_bias_swa");
    Generator g(*model, 3, 64);
    auto first = g.generate(fx.prompts, greedy_options(fx.max_new_tokens));
    auto second = g.generate({fx.prompts[2]}, greedy_options(fx.max_new_tokens));
    EXPECT_EQ(first.rows[2].tokens, fx.alone[2]);
    ASSERT_EQ(second.rows.size(), 1u);
    EXPECT_EQ(second.rows[0].tokens, fx.alone[2]);
    EXPECT_FALSE(second.cuda_graph);
    EXPECT_THROW(g.generate({fx.prompts[0]}, greedy_options(60)), Error);
}

}  // namespace
}  // namespace qbench::model
