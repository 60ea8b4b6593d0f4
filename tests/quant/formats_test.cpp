// Checkpoint formats (scripts/gen_quant_fixtures.py): the dequantized weights of every layer are
// bit-for-bit the generator's, and the model (fast kernels where they apply) matches a float64
// forward of those weights in logits and perplexity.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "qbench/eval/model_env.hpp"
#include "qbench/model/config.hpp"
#include "qbench/quant/scheme.hpp"
#include "qbench/util/error.hpp"
#include "quant/quant_fixtures.hpp"

namespace qbench::quant {
namespace {

using qbench::testing::quant_fixture;

const char* const kFormats[] = {
    "gptq_b4_g32_sym_v1", "gptq_b4_g32_asym_v2_actorder", "gptq_b3_g32_asym_v1",
    "gptq_b2_gm1_sym_v2_quantize_config", "gptq_b8_g16_asym_v1_actorder", "gptq_b4_dynamic",
    "awq_gemm_g32", "awq_gemv_g32", "ct_w4a16_group32_sym", "ct_w4a16_channel_asym_ignore_down",
    "ct_w4a16_group32_asym_actorder", "ct_w8a16_group16_asym_packed", "ct_w4a16_group32_asym_naive",
    "ct_w8a8_int_channel", "ct_fp8_tensor_static", "ct_fp8_channel_dynamic", "ct_fp8_block_dynamic",
    "ct_fp8_channel_weight_only", "fp8_block_16x128", "fp8_tensor_static",
    // written by the compressed-tensors package itself
    "ct_producer_w4a16_group32_asym", "ct_producer_w8a8_channel"};

std::unique_ptr<model::Decoder> load(const std::filesystem::path& dir, KernelChoice choice) {
    const auto config = model::load_model_config(dir);
    const auto scheme = checkpoint_scheme(dir, config);
    EXPECT_TRUE(scheme.has_value());
    return model::Decoder::load(dir, {torch::kCPU, torch::kFloat32, make_linear_factory(*scheme, choice)});
}

class QuantFormat : public ::testing::TestWithParam<const char*> {};

TEST_P(QuantFormat, DequantizedWeightsMatchGeneratorBitForBit) {
    const auto dir = quant_fixture(GetParam());
    const auto expected = qbench::testing::load_quant_expected(dir / "expected.safetensors");
    const auto model = load(dir, KernelChoice::kDequant);
    std::size_t quantized = 0;
    for (const auto& [name, lin] : model->linears()) {
        auto it = expected.weights.find(name);
        if (it == expected.weights.end()) {
            EXPECT_EQ(lin->kernel(), "dense") << name << " should stay in float";
            continue;
        }
        ++quantized;
        EXPECT_EQ(lin->kernel(), "dequant_matmul") << name;
        EXPECT_TRUE(torch::equal(lin->dequantized_weight(), it->second)) << name;
    }
    EXPECT_EQ(quantized, expected.weights.size());
}

TEST_P(QuantFormat, LogitsAndPerplexityMatchFloat64Reference) {
    const auto dir = quant_fixture(GetParam());
    const auto expected = qbench::testing::load_quant_expected(dir / "expected.safetensors");
    // float32 through the low-bit kernels wherever their ops accept the layer
    const auto model = load(dir, KernelChoice::kPacked);
    const auto logits = model->forward(expected.ids);
    // Activation quantization rounds float32 inputs that differ from the float64 reference's in
    // the 7th digit; a rare flip of one code moves a logit by ~1e-4.
    const auto scheme = checkpoint_scheme(dir, model->config());
    const bool act = scheme->layer.act != ActQuant::kNone;
    EXPECT_LT(qbench::testing::max_abs_diff(logits, expected.logits), act ? 2e-3 : 1e-4);
    const auto nll = qbench::testing::row_nll(logits, expected.ids);
    const double tokens = static_cast<double>(expected.ids.numel() - expected.ids.size(0));
    const double ppl = std::exp(nll.sum().item<double>() / tokens);
    const double ref_ppl = std::exp(expected.nll.sum().item<double>() / tokens);
    EXPECT_NEAR(ppl / ref_ppl, 1.0, act ? 1e-4 : 1e-5) << "ppl " << ppl << " vs reference " << ref_ppl;
    // Every quantized layer holds fewer bytes than the same layer in float16.
    for (const auto& [name, lin] : model->linears()) {
        if (lin->kernel() == "dense") continue;
        const auto w = expected.weights.at(name);
        EXPECT_LT(lin->weight_bytes(), 2 * w.numel()) << name;
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, QuantFormat, ::testing::ValuesIn(kFormats));

std::map<std::string, std::string> kernels_of(const std::string& fixture) {
    const auto env = eval::load_model_env({quant_fixture(fixture), "cpu", "bfloat16", std::nullopt, 0});
    std::map<std::string, std::string> out;
    for (const auto& k : env.summary.kernels) out[k.name] = k.kernel;
    return out;
}

TEST(QuantKernels, EachFormatRunsTheKernelItsLayoutAllows) {
    auto k = kernels_of("gptq_b4_g32_sym_v1");
    EXPECT_EQ(k["model.layers.0.self_attn.q_proj"], "int4pack_mm_cpu");
    EXPECT_EQ(k["model.layers.0.mlp.down_proj"], "int4pack_mm_cpu");
    EXPECT_EQ(k["lm_head"], "dense");
    // act-order g_idx with full groups: sorted away, still the int4 kernel
    EXPECT_EQ(kernels_of("gptq_b4_g32_asym_v2_actorder")["model.layers.0.mlp.up_proj"], "int4pack_mm_cpu");
    EXPECT_EQ(kernels_of("gptq_b3_g32_asym_v1")["model.layers.0.mlp.up_proj"], "lowbit_gemv_cpu");
    EXPECT_EQ(kernels_of("gptq_b2_gm1_sym_v2_quantize_config")["model.layers.0.mlp.up_proj"], "lowbit_gemv_cpu");
    auto dyn = kernels_of("gptq_b4_dynamic");
    EXPECT_EQ(dyn["model.layers.0.mlp.down_proj"], "dense");
    EXPECT_EQ(dyn["model.layers.0.mlp.gate_proj"], "int8pack_mm");  // 8-bit override, group 32 = K
    EXPECT_EQ(dyn["model.layers.0.mlp.up_proj"], "int4pack_mm_cpu");
    EXPECT_EQ(kernels_of("awq_gemv_g32")["model.layers.0.self_attn.o_proj"], "int4pack_mm_cpu");
    EXPECT_EQ(kernels_of("ct_w4a16_channel_asym_ignore_down")["model.layers.0.mlp.down_proj"], "dense");
    EXPECT_EQ(kernels_of("ct_w8a8_int_channel")["model.layers.0.self_attn.k_proj"], "int_mm");
    EXPECT_EQ(kernels_of("ct_fp8_block_dynamic")["model.layers.0.self_attn.k_proj"], "dequant_matmul");
    EXPECT_EQ(kernels_of("ct_fp8_channel_weight_only")["model.layers.0.self_attn.k_proj"], "dequant_matmul");
}

TEST(QuantSummary, DescribesTheCheckpointScheme) {
    const auto env = eval::load_model_env({quant_fixture("gptq_b4_g32_asym_v2_actorder"), "cpu", "float16",
                                           std::nullopt, 0});
    const auto& q = env.summary.quantization_info;
    EXPECT_EQ(q.method, "gptq");
    EXPECT_EQ(q.format, "gptq_v2");
    EXPECT_EQ(q.bits, 4);
    EXPECT_EQ(q.group_size, 32);
    EXPECT_FALSE(q.symmetric);
    EXPECT_EQ(q.activation, "none");
    EXPECT_EQ(q.fp16_bytes, 2 * env.summary.num_parameters);
    EXPECT_GT(q.compression_ratio, 1.0);
    EXPECT_EQ(env.summary.quantization, "gptq int4 group 32 asym (gptq_v2), desc_act");
    const auto fp8 = eval::load_model_env({quant_fixture("ct_fp8_channel_dynamic"), "cpu", "float32", std::nullopt, 0});
    EXPECT_EQ(fp8.summary.quantization_info.weight_type, "float8_e4m3fn");
    EXPECT_EQ(fp8.summary.quantization_info.activation, "fp8 dynamic per-token");
}

TEST(QuantSummary, RunTimeQuantizationOfAQuantizedCheckpointIsRefused) {
    try {
        eval::load_model_env({quant_fixture("awq_gemm_g32"), "cpu", "float32",
                              config::parse_quantize_spec("rtn:bits=4"), 0});
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kBadInput);
        EXPECT_NE(std::string(e.what()).find("already quantized"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace qbench::quant
