// Golden tests: the decoder against an independent float64 implementation and against
// transformers' bfloat16 forward (fixtures from scripts/gen_model_fixtures.py).
#include "qbench/model/decoder.hpp"

#include <gtest/gtest.h>

#include "qbench/model/weights.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"
#include "support/fixtures.hpp"

namespace qbench::model {
namespace {

using qbench::testing::kModelFixtures;
using qbench::testing::model_fixture;

struct Reference {
    torch::Tensor ids;            // [2, T] int64
    torch::Tensor logits;         // [2, T, V] float64, float32 weights
    torch::Tensor logits_bf16w;   // [2, T, V] float64, bfloat16-rounded weights
    torch::Tensor logits_hf_bf16; // [2, T, V] float32, transformers' bfloat16 forward
};

Reference load_reference(const std::string& name) {
    WeightLoader ref(model_fixture(name) / "reference.safetensors");
    return {ref.raw("input_ids", torch::kCPU), ref.raw("logits", torch::kCPU),
            ref.raw("logits_bf16w", torch::kCPU), ref.raw("logits_hf_bf16", torch::kCPU)};
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

class DecoderGolden : public ::testing::TestWithParam<const char*> {};

// float32 compute: the reference is float64, so the only error is float32 rounding through two
// layers; transformers' own float32 forward differs from it by up to 2e-5 on these fixtures.
// 1e-4 on logits of magnitude ~10 is a relative error of ~1e-5.
TEST_P(DecoderGolden, Float32LogitsMatchFloat64Reference) {
    auto ref = load_reference(GetParam());
    auto model = Decoder::load(model_fixture(GetParam()) / "f32", {torch::kCPU, torch::kFloat32, {}});
    EXPECT_LT(max_abs_diff(model->forward(ref.ids), ref.logits), 1e-4);
}

TEST_P(DecoderGolden, BFloat16CheckpointUpcastToFloat32MatchesReference) {
    auto ref = load_reference(GetParam());
    auto model = Decoder::load(model_fixture(GetParam()) / "bf16", {torch::kCPU, torch::kFloat32, {}});
    EXPECT_LT(max_abs_diff(model->forward(ref.ids), ref.logits_bf16w), 1e-4);
}

// bfloat16 compute: qbench follows transformers' op order (norms in float32, RoPE tables cast to
// bf16, biases fused into the matmul), so on this machine its logits equal transformers' bf16
// forward bit for bit. Tolerance: one bf16 ulp at the logits' magnitude (ulp(8..16) = 0.0625),
// for kernels that accumulate in another order on other CPUs; the mean within a tenth of that.
TEST_P(DecoderGolden, BFloat16ComputeTracksTransformersBFloat16) {
    auto ref = load_reference(GetParam());
    auto model = Decoder::load(model_fixture(GetParam()) / "bf16", {torch::kCPU, torch::kBFloat16, {}});
    auto out = model->forward(ref.ids);
    auto diff = (out.to(torch::kFloat64) - ref.logits_hf_bf16.to(torch::kFloat64)).abs();
    EXPECT_LE(diff.max().item<double>(), 0.0625);
    EXPECT_LT(diff.mean().item<double>(), 0.00625);
}

// float16 compute on float32 weights: fp16 has a 2^-11 relative step; through two layers the
// logits stay within 0.05 of the float64 reference on these fixtures (mean within 0.01).
TEST_P(DecoderGolden, Float16ComputeIsCloseToReference) {
    auto ref = load_reference(GetParam());
    auto model = Decoder::load(model_fixture(GetParam()) / "f32", {torch::kCPU, torch::kFloat16, {}});
    auto diff = (model->forward(ref.ids).to(torch::kFloat64) - ref.logits).abs();
    EXPECT_LT(diff.max().item<double>(), 0.05);
    EXPECT_LT(diff.mean().item<double>(), 0.01);
}

// Generation path: prefill + one-token steps through the KV cache give the logits of one full
// forward (sliding-window layers included).
TEST_P(DecoderGolden, KvCacheStepsEqualFullForward) {
    auto ref = load_reference(GetParam());
    auto model = Decoder::load(model_fixture(GetParam()) / "f32", {torch::kCPU, torch::kFloat32, {}});
    const auto T = ref.ids.size(1);
    auto cache = model->make_cache(2, T);
    std::vector<torch::Tensor> parts{model->logits(model->forward_hidden(ref.ids.slice(1, 0, 10), &cache))};
    for (std::int64_t t = 10; t < T; ++t) {
        parts.push_back(model->logits(model->forward_hidden(ref.ids.slice(1, t, t + 1), &cache)));
    }
    EXPECT_EQ(cache.length, T);
    EXPECT_LT(max_abs_diff(torch::cat(parts, 1), ref.logits), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Architectures, DecoderGolden, ::testing::ValuesIn(kModelFixtures));

// gemma3_swa's f32 config is in transformers 5's form (layer_types, rope_parameters per layer
// type); its bf16 config in the older one (rope_theta + rope_scaling for the global layers,
// rope_local_base_freq, sliding_window_pattern). Both mean what Gemma3TextConfig makes of them
// (the generator checks transformers reads the same layer types and RoPE from both).
TEST(Decoder, Gemma3ConfigInBothForms) {
    for (const char* dir : {"f32", "bf16"}) {
        SCOPED_TRACE(dir);
        const auto c = load_model_config(model_fixture("gemma3_swa") / dir);
        EXPECT_EQ(c.architecture, "Gemma3ForCausalLM");
        EXPECT_EQ(c.layer_window, (std::vector<std::int64_t>{5, 0, 5}));
        EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
        EXPECT_EQ(c.rope_scaling.type, "linear");
        EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 2.0);
        EXPECT_DOUBLE_EQ(c.rope_local_theta, 100.0);
        EXPECT_DOUBLE_EQ(c.query_pre_attn_scalar, 24.0);
        EXPECT_DOUBLE_EQ(c.final_logit_softcapping, 30.0);
        EXPECT_EQ(c.hidden_act, "gelu_pytorch_tanh");
        EXPECT_TRUE(c.qk_norm && c.gemma_norms && c.scale_embeddings);
        EXPECT_FALSE(c.tie_word_embeddings);
        EXPECT_EQ(c.head_dim, 16);
    }
    // The parameter count includes the two extra norms per layer: the f32 checkpoint's bytes / 4.
    const auto c = load_model_config(model_fixture("gemma3_swa") / "f32");
    WeightLoader loader(model_fixture("gemma3_swa") / "f32");
    EXPECT_EQ(c.num_parameters() * 4, static_cast<std::int64_t>(loader.checkpoint().total_bytes()));
}

TEST(Decoder, Gemma3RejectsWhatItDoesNotImplement) {
    auto j = nlohmann::json::parse(read_file(model_fixture("gemma3_swa") / "f32" / "config.json"));
    j["use_bidirectional_attention"] = true;
    EXPECT_THROW(parse_model_config(j, "config.json"), Error);
    j["use_bidirectional_attention"] = false;
    j["hidden_activation"] = "relu";
    EXPECT_THROW(parse_model_config(j, "config.json"), Error);
}

// A field of the wrong type is a one-line bad-input error naming the file, never a JSON type error
// (the model_config fuzz target found `"hidden_act": 96` escaping as nlohmann::type_error).
TEST(Decoder, ConfigFieldOfWrongTypeIsBadInput) {
    const auto base = nlohmann::json::parse(read_file(model_fixture("llama_linear_bias") / "f32" / "config.json"));
    for (const char* key : {"hidden_act", "model_type"}) {
        SCOPED_TRACE(key);
        auto j = base;
        j[key] = 96;
        try {
            parse_model_config(j, "some/config.json");
            ADD_FAILURE() << "accepted a number for " << key;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::kBadInput);
            EXPECT_NE(std::string(e.what()).find("some/config.json"), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
        }
    }
}

TEST(Decoder, ReportsWeightBytesAndDenseKernels) {
    auto model = Decoder::load(model_fixture("llama_linear_bias") / "bf16", {torch::kCPU, torch::kBFloat16, {}});
    WeightLoader loader(model_fixture("llama_linear_bias") / "bf16");
    EXPECT_EQ(model->weight_bytes(), static_cast<std::int64_t>(loader.checkpoint().total_bytes()));
    EXPECT_EQ(model->config().num_parameters() * 2, model->weight_bytes());
    for (const auto& k : model->kernels()) EXPECT_EQ(k.kernel, "dense");
}

}  // namespace
}  // namespace qbench::model
