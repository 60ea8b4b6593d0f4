// GGUF checkpoints converted from the safetensors fixtures by scripts/gen_gguf_fixtures.py as
// llama.cpp's converter does (names, Q/K row permutation, rope_freqs / rope.scaling.*).
#include "qbench/model/gguf_model.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "qbench/eval/api.hpp"
#include "qbench/io/gguf_dequant.hpp"
#include "qbench/eval/model_env.hpp"
#include "qbench/model/decoder.hpp"
#include "qbench/util/error.hpp"
#include "support/fixtures.hpp"

namespace qbench::model {
namespace {

using qbench::testing::model_fixture;

std::filesystem::path gguf_fixture(const std::string& name) {
    return qbench::testing::fixtures_dir() / "gguf" / name;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

std::unique_ptr<Decoder> load_gguf(const std::filesystem::path& path, torch::ScalarType dtype = torch::kFloat32) {
    auto file = std::make_shared<const io::GgufFile>(path);
    const auto config = model_config_from_gguf(*file);
    const GgufWeightSource weights(file, config);
    return Decoder::load(config, weights, {torch::kCPU, dtype, {}});
}

TEST(GgufModel, MapsLlamaCppNamesToHfNames) {
    EXPECT_EQ(hf_name_of_gguf("token_embd.weight"), "model.embed_tokens.weight");
    EXPECT_EQ(hf_name_of_gguf("output_norm.weight"), "model.norm.weight");
    EXPECT_EQ(hf_name_of_gguf("output.weight"), "lm_head.weight");
    EXPECT_EQ(hf_name_of_gguf("blk.12.attn_q.weight"), "model.layers.12.self_attn.q_proj.weight");
    EXPECT_EQ(hf_name_of_gguf("blk.0.attn_k.bias"), "model.layers.0.self_attn.k_proj.bias");
    EXPECT_EQ(hf_name_of_gguf("blk.1.attn_output.weight"), "model.layers.1.self_attn.o_proj.weight");
    EXPECT_EQ(hf_name_of_gguf("blk.1.ffn_down.weight"), "model.layers.1.mlp.down_proj.weight");
    EXPECT_EQ(hf_name_of_gguf("blk.1.attn_norm.weight"), "model.layers.1.input_layernorm.weight");
    EXPECT_EQ(hf_name_of_gguf("blk.1.ffn_norm.weight"), "model.layers.1.post_attention_layernorm.weight");
    EXPECT_EQ(hf_name_of_gguf("rope_freqs.weight"), "");
    EXPECT_EQ(hf_name_of_gguf("blk.x.attn_q.weight"), "");
}

TEST(GgufModel, MapsGemma3NamesToHfNames) {
    EXPECT_EQ(hf_name_of_gguf("blk.2.ffn_norm.weight", "gemma3"), "model.layers.2.pre_feedforward_layernorm.weight");
    EXPECT_EQ(hf_name_of_gguf("blk.2.post_attention_norm.weight", "gemma3"),
              "model.layers.2.post_attention_layernorm.weight");
    EXPECT_EQ(hf_name_of_gguf("blk.2.post_ffw_norm.weight", "gemma3"),
              "model.layers.2.post_feedforward_layernorm.weight");
    EXPECT_EQ(hf_name_of_gguf("blk.2.attn_q_norm.weight", "gemma3"), "model.layers.2.self_attn.q_norm.weight");
    EXPECT_EQ(hf_name_of_gguf("blk.2.attn_k_norm.weight", "gemma3"), "model.layers.2.self_attn.k_norm.weight");
    EXPECT_EQ(hf_name_of_gguf("blk.2.attn_norm.weight", "gemma3"), "model.layers.2.input_layernorm.weight");
    EXPECT_EQ(hf_name_of_gguf("blk.2.attn_q.weight", "gemma3"), "model.layers.2.self_attn.q_proj.weight");
    // llama keeps its meaning of ffn_norm and has no sandwich norms.
    EXPECT_EQ(hf_name_of_gguf("blk.2.post_ffw_norm.weight"), "");
}

// A tiny random Gemma 3 written as convert_hf_to_gguf.py's Gemma3Model does (norm weights + 1,
// no Q/K permutation, Q8_0 matrices, 5 sliding + 1 global layers with window 5 < 24 tokens,
// tied): the logits transformers' own GGUF loading computes from the same file. Both sides
// dequantize the same Q8_0 bytes to float32, so only float32 op order differs (< 1e-4).
TEST(GgufModel, Gemma3GgufMatchesTransformersGgufLoading) {
    WeightLoader ref(gguf_fixture("gemma3.q8.reference.safetensors"));
    auto gg = load_gguf(gguf_fixture("gemma3.q8.gguf"));
    const auto& c = gg->config();
    EXPECT_EQ(c.architecture, "Gemma3ForCausalLM");
    EXPECT_EQ(c.layer_window, (std::vector<std::int64_t>{5, 5, 5, 5, 5, 0}));
    EXPECT_DOUBLE_EQ(c.rope_theta, 1000000.0);
    EXPECT_DOUBLE_EQ(c.rope_local_theta, 10000.0);
    EXPECT_DOUBLE_EQ(c.query_pre_attn_scalar, 256.0);
    EXPECT_TRUE(c.tie_word_embeddings);
    const auto ids = ref.raw("input_ids", torch::kCPU);
    EXPECT_LT(max_abs_diff(gg->forward(ids), ref.raw("logits", torch::kCPU)), 1e-4);
}

// Norm weights come back without the converter's + 1; Q/K rows stay in the file's order.
TEST(GgufModel, Gemma3NormsLoseTheStoredOneAndQkStayUnpermuted) {
    auto file = std::make_shared<const io::GgufFile>(gguf_fixture("gemma3.q8.gguf"));
    const auto config = model_config_from_gguf(*file);
    const GgufWeightSource g(file, config);
    const auto stored = g.raw("model.layers.0.pre_feedforward_layernorm.weight", torch::kCPU);
    EXPECT_TRUE(torch::equal(g.load("model.layers.0.pre_feedforward_layernorm.weight", torch::kFloat32, torch::kCPU),
                             stored - 1.0f));
    auto q = g.load("model.layers.0.self_attn.q_proj.weight", torch::kFloat32, torch::kCPU);
    std::vector<float> plain(static_cast<std::size_t>(q.numel()));
    const auto& info = g.info("model.layers.0.self_attn.q_proj.weight");
    io::dequantize(info.ggml_type(), file->data(info), plain);
    EXPECT_TRUE(torch::equal(q.flatten(), torch::tensor(plain)));
}

TEST(GgufModel, ConfigFromMetadataMatchesConfigJson) {
    for (const char* name : {"llama_gqa_llama3", "llama_linear_bias"}) {
        SCOPED_TRACE(name);
        const auto hf = load_model_config(model_fixture(name) / "f32");
        const auto c = model_config_from_gguf(io::GgufFile(gguf_fixture(std::string(name) + ".f32.gguf")));
        EXPECT_EQ(c.vocab_size, hf.vocab_size);
        EXPECT_EQ(c.hidden_size, hf.hidden_size);
        EXPECT_EQ(c.intermediate_size, hf.intermediate_size);
        EXPECT_EQ(c.num_layers, hf.num_layers);
        EXPECT_EQ(c.num_heads, hf.num_heads);
        EXPECT_EQ(c.num_kv_heads, hf.num_kv_heads);
        EXPECT_EQ(c.head_dim, hf.head_dim);
        EXPECT_EQ(c.max_position_embeddings, hf.max_position_embeddings);
        EXPECT_FLOAT_EQ(c.rms_norm_eps, hf.rms_norm_eps);
        EXPECT_FLOAT_EQ(c.rope_theta, hf.rope_theta);
        EXPECT_EQ(c.tie_word_embeddings, hf.tie_word_embeddings);
        EXPECT_EQ(c.attention_bias, hf.attention_bias);
        EXPECT_EQ(c.mlp_bias, hf.mlp_bias);
        EXPECT_EQ(c.bos_token_id, hf.bos_token_id);
        EXPECT_EQ(c.num_parameters(), hf.num_parameters());
    }
    const auto linear = model_config_from_gguf(io::GgufFile(gguf_fixture("llama_linear_bias.f32.gguf")));
    EXPECT_EQ(linear.rope_scaling.type, "linear");
    EXPECT_DOUBLE_EQ(linear.rope_scaling.factor, 2.0);
    const auto llama3 = model_config_from_gguf(io::GgufFile(gguf_fixture("llama_gqa_llama3.f32.gguf")));
    EXPECT_EQ(llama3.rope_freq_factors.size(), 4u);
}

// The rope_freqs divisors reproduce HF's llama3 inverse frequencies.
TEST(GgufModel, RopeFreqsReproduceLlama3Scaling) {
    const auto hf = load_model_config(model_fixture("llama_gqa_llama3") / "f32");
    const auto g = model_config_from_gguf(io::GgufFile(gguf_fixture("llama_gqa_llama3.f32.gguf")));
    EXPECT_LT(max_abs_diff(rope_inv_freq(hf), rope_inv_freq(g)), 1e-6);
}

// The un-permuted float32 GGUF gives the safetensors model's logits.
TEST(GgufModel, Float32GgufLogitsMatchTheSafetensorsModel) {
    for (const char* name : {"llama_gqa_llama3", "llama_linear_bias"}) {
        SCOPED_TRACE(name);
        WeightLoader ref(model_fixture(name) / "reference.safetensors");
        const auto ids = ref.raw("input_ids", torch::kCPU);
        auto st = Decoder::load(model_fixture(name) / "f32", {torch::kCPU, torch::kFloat32, {}});
        auto gg = load_gguf(gguf_fixture(std::string(name) + ".f32.gguf"));
        EXPECT_LT(max_abs_diff(gg->forward(ids), st->forward(ids)), 1e-4);
        EXPECT_LT(max_abs_diff(gg->forward(ids), ref.raw("logits", torch::kCPU)), 1e-4);
    }
}

// Q8_0 / Q4_0 / Q4_1 / Q5_0 / Q5_1 / F16 weights: the logits of transformers running the weights
// gguf-py dequantizes from the same file.
TEST(GgufModel, MixedQuantGgufMatchesTransformersOnGgufPyWeights) {
    for (const char* name : {"llama_gqa_llama3", "llama_linear_bias"}) {
        SCOPED_TRACE(name);
        WeightLoader ref(gguf_fixture(std::string(name) + ".mixed.reference.safetensors"));
        auto gg = load_gguf(gguf_fixture(std::string(name) + ".mixed.gguf"));
        EXPECT_LT(max_abs_diff(gg->forward(ref.raw("input_ids", torch::kCPU)), ref.raw("logits", torch::kCPU)), 1e-4);
    }
}

TEST(GgufModel, UnPermutedRowsEqualTheHfWeights) {
    auto file = std::make_shared<const io::GgufFile>(gguf_fixture("llama_gqa_llama3.f32.gguf"));
    const auto config = model_config_from_gguf(*file);
    const GgufWeightSource g(file, config);
    const WeightLoader st(model_fixture("llama_gqa_llama3") / "f32");
    for (const char* n : {"model.layers.0.self_attn.q_proj.weight", "model.layers.1.self_attn.k_proj.weight",
                          "model.layers.0.self_attn.v_proj.weight"}) {
        SCOPED_TRACE(n);
        EXPECT_TRUE(torch::equal(g.load(n, torch::kFloat32, torch::kCPU), st.load(n, torch::kFloat32, torch::kCPU)));
    }
    // raw() keeps the file's (permuted) order.
    EXPECT_FALSE(torch::equal(g.raw("model.layers.0.self_attn.q_proj.weight", torch::kCPU),
                              st.load("model.layers.0.self_attn.q_proj.weight", torch::kFloat32, torch::kCPU)));
}

TEST(GgufModel, ModelEnvAndInspectReportGguf) {
    eval::ModelRequest request;
    request.path = gguf_fixture("llama_linear_bias.mixed.gguf");
    request.dtype = "float32";
    const auto env = eval::load_model_env(request);
    EXPECT_EQ(env.summary.format, "gguf");
    // Q8_0 / Q4_0 Linears stay low-bit (the fused CPU kernel in float32), the rest is dequantized.
    EXPECT_THAT(env.summary.quantization,
                ::testing::HasSubstr("gguf MOSTLY_Q8_0: kept low-bit: Q4_0 as lowbit_gemv_cpu x3, Q8_0 as "
                                     "lowbit_gemv_cpu x2; dequantized at load to float32: F16 x3, F32 x"));
    EXPECT_THAT(env.summary.quantization, ::testing::HasSubstr("Q4_1 x3, Q5_0 x3, Q5_1 x2"));
    EXPECT_EQ(env.tokenizer, nullptr);  // the fixture has no vocabulary
    const auto info = eval::inspect_model(request.path);
    EXPECT_EQ(info.summary.format, "gguf");
    EXPECT_EQ(info.summary.architecture, "LlamaForCausalLM");
    EXPECT_EQ(info.summary.num_parameters, env.decoder->config().num_parameters());
    EXPECT_EQ(info.config["num_kv_heads"], 4);
    // inspect loads in bfloat16: the kernels and bytes really held, tensor by tensor.
    EXPECT_THAT(info.summary.quantization, ::testing::HasSubstr("kept low-bit: Q4_0 as int4pack_mm_cpu x3"));
    EXPECT_EQ(info.quantization["kept_low_bit"].size(), 5u);
    EXPECT_EQ(info.quantization["kept_low_bit"][0]["name"], "lm_head.weight");
    EXPECT_EQ(info.quantization["kept_low_bit"][0]["type"], "Q8_0");
    // K = 32: one Q8_0 block per row is a per-channel int8 weight, which int8pack_mm takes.
    EXPECT_EQ(info.quantization["kept_low_bit"][0]["kernel"], "int8pack_mm");
    EXPECT_EQ(info.summary.kernels.size(), env.summary.kernels.size());
}

TEST(GgufModel, OtherArchitecturesAreNamed) {
    try {
        model_config_from_gguf(io::GgufFile(gguf_fixture("quant_types.gguf")));
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kBadInput);
        EXPECT_THAT(e.what(), ::testing::HasSubstr("llama.embedding_length"));
    }
}

}  // namespace
}  // namespace qbench::model
