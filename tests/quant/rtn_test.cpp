// Run-time RTN quantization end to end on the llama_linear_bias golden fixture: dequantized
// weights bit-for-bit against scripts/gen_quant_fixtures.py's NumPy RTN, logits and perplexity
// against a float64 forward of those weights, and the spec's validation messages.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "qbench/eval/model_env.hpp"
#include "qbench/quant/kernels.hpp"
#include "qbench/quant/scheme.hpp"
#include "qbench/util/error.hpp"
#include "quant/quant_fixtures.hpp"

namespace qbench::quant {
namespace {

using qbench::testing::model_fixture;
using qbench::testing::quant_fixture;

struct RtnCase {
    const char* file;
    const char* spec;
};

const RtnCase kRtn[] = {{"b8_g-1_sym", "rtn:bits=8,group_size=-1,sym=true"},
                        {"b4_g32_asym", "rtn:bits=4,group_size=32,sym=false"},
                        {"b4_g-1_sym", "rtn:bits=4,group_size=-1"},
                        {"b3_g32_sym", "rtn:bits=3,group_size=32"},
                        {"b2_g-1_asym", "rtn:bits=2,group_size=-1,sym=false"}};

class Rtn : public ::testing::TestWithParam<RtnCase> {};

TEST_P(Rtn, DequantizedWeightsMatchNumPyRtnBitForBit) {
    const auto expected = qbench::testing::load_quant_expected(quant_fixture("rtn") /
                                                               (std::string(GetParam().file) + ".safetensors"));
    const auto scheme = scheme_from_spec(config::parse_quantize_spec(GetParam().spec));
    const auto model = model::Decoder::load(model_fixture("llama_linear_bias") / "f32",
                                            {torch::kCPU, torch::kFloat32,
                                             make_linear_factory(scheme, KernelChoice::kDequant)});
    std::size_t quantized = 0;
    for (const auto& [name, lin] : model->linears()) {
        if (name == "lm_head") {
            EXPECT_EQ(lin->kernel(), "dense");  // lm_head stays float unless lm_head=true
            continue;
        }
        ++quantized;
        EXPECT_TRUE(torch::equal(lin->dequantized_weight(), expected.weights.at(name))) << name;
    }
    EXPECT_EQ(quantized, expected.weights.size());
}

TEST_P(Rtn, PerplexityMatchesFloat64ReferenceThroughFastKernels) {
    const auto expected = qbench::testing::load_quant_expected(quant_fixture("rtn") /
                                                               (std::string(GetParam().file) + ".safetensors"));
    // float32 through the low-bit kernels (kPacked: kAuto keeps CPU float32 on the dequant path)
    const auto model = model::Decoder::load(
        model_fixture("llama_linear_bias") / "f32",
        {torch::kCPU, torch::kFloat32,
         make_linear_factory(scheme_from_spec(config::parse_quantize_spec(GetParam().spec)), KernelChoice::kPacked)});
    const auto logits = model->forward(expected.ids);
    EXPECT_LT(qbench::testing::max_abs_diff(logits, expected.logits), 1e-4);
    const auto nll = qbench::testing::row_nll(logits, expected.ids);
    EXPECT_NEAR(nll.sum().item<double>() / expected.nll.sum().item<double>(), 1.0, 1e-6);
}

// The first 4 positions of both rows: 8 activation rows per Linear, so float32 runs through the
// fused lowbit_gemv_cpu kernel (kAuto). Causal attention: the prefix's logits are the prefix of
// the full logits. Same tolerance as above: the fused kernel only reorders float32 sums.
TEST_P(Rtn, PrefixLogitsThroughTheFusedKernelMatchFloat64Reference) {
    const auto expected = qbench::testing::load_quant_expected(quant_fixture("rtn") /
                                                               (std::string(GetParam().file) + ".safetensors"));
    const auto scheme = scheme_from_spec(config::parse_quantize_spec(GetParam().spec));
    const auto dir = model_fixture("llama_linear_bias") / "f32";
    const auto fused = model::Decoder::load(dir, {torch::kCPU, torch::kFloat32, make_linear_factory(scheme)});
    const auto ref = model::Decoder::load(dir, {torch::kCPU, torch::kFloat32,
                                                make_linear_factory(scheme, KernelChoice::kDequant)});
    for (const auto& [name, lin] : fused->linears()) {
        if (name != "lm_head") EXPECT_EQ(lin->kernel(), "lowbit_gemv_cpu") << name;
    }
    const auto ids = expected.ids.slice(1, 0, 4);
    ASSERT_LE(ids.numel(), kLowbitGemvRows);
    const auto logits = fused->forward(ids);
    EXPECT_LT(qbench::testing::max_abs_diff(logits, expected.logits.slice(1, 0, 4)), 1e-4);
    EXPECT_LT(qbench::testing::max_abs_diff(logits, ref->forward(ids)), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Specs, Rtn, ::testing::ValuesIn(kRtn));

TEST(RtnKernels, LayersUseTheFastKernelTheirShapeAllows) {
    // hidden 32, intermediate 48: group 32 fits K = 32 but not K = 48 (down_proj).
    const auto env = eval::load_model_env({model_fixture("llama_linear_bias") / "f32", "cpu", "bfloat16",
                                           config::parse_quantize_spec("rtn:bits=4,group_size=32"), 0});
    std::map<std::string, std::string> k;
    for (const auto& e : env.summary.kernels) k[e.name] = e.kernel;
    EXPECT_EQ(k["model.layers.0.self_attn.q_proj"], "int4pack_mm_cpu");
    EXPECT_EQ(k["model.layers.0.mlp.gate_proj"], "int4pack_mm_cpu");
    EXPECT_EQ(k["model.layers.0.mlp.down_proj"], "lowbit_gemv_cpu");
    EXPECT_EQ(k["lm_head"], "dense");
    EXPECT_EQ(env.summary.quantization_info.method, "rtn");
    const auto int8 = eval::load_model_env({model_fixture("llama_linear_bias") / "f32", "cpu", "bfloat16",
                                            config::parse_quantize_spec("rtn:bits=8,group_size=-1,lm_head=true"), 0});
    // bfloat16 int8pack needs K % 32 == 0 (kernels.hpp): down_proj (K = 48) takes the fused kernel.
    for (const auto& e : int8.summary.kernels) {
        EXPECT_EQ(e.kernel, e.name.ends_with("down_proj") ? "lowbit_gemv_cpu" : "int8pack_mm") << e.name;
    }
    EXPECT_EQ(int8.summary.quantization, "rtn int8 per-channel sym");
}

TEST(RuntimeSpecs, W8A8AndFp8RunTheirKernelsAndMatchTheDequantPath) {
    const auto dir = model_fixture("llama_gqa_llama3") / "f32";
    const auto base = eval::load_model_env({dir, "cpu", "float32", std::nullopt, 0});
    torch::manual_seed(11);
    const auto ids = torch::randint(3, 96, {2, 16}, torch::kInt64);
    const auto ref = base.decoder->forward(ids);
    const auto scale = ref.abs().max().item<double>();
    const std::pair<const char*, const char*> cases[] = {{"w8a8", "int_mm"},
                                                         {"fp8:granularity=channel,activations=dynamic", "scaled_mm"},
                                                         {"fp8:granularity=tensor,activations=dynamic", "scaled_mm"},
                                                         {"fp8:granularity=tensor", "dequant_matmul"}};
    for (const auto& [spec, kernel] : cases) {
        const auto parsed = config::parse_quantize_spec(spec);
        const auto env = eval::load_model_env({dir, "cpu", "float32", parsed, 0});
        EXPECT_EQ(env.summary.kernels.front().kernel, kernel) << spec;
        const auto out = env.decoder->forward(ids);
        const auto dequant = model::Decoder::load(
            dir, {torch::kCPU, torch::kFloat32, make_linear_factory(scheme_from_spec(parsed), KernelChoice::kDequant)});
        // Same arithmetic up to float32 summation order (and the odd activation code that flips).
        EXPECT_LT(qbench::testing::max_abs_diff(out, dequant->forward(ids)) / scale, 2e-2) << spec;
        // A different model from the float one, but the same model.
        const auto drift = qbench::testing::max_abs_diff(out, ref) / scale;
        EXPECT_GT(drift, 0.0) << spec;
        EXPECT_LT(drift, 0.5) << spec;
    }
}

void expect_bad_spec(const std::string& spec, const std::string& message) {
    try {
        scheme_from_spec(config::parse_quantize_spec(spec));
        FAIL() << spec << ": expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kBadInput);
        EXPECT_EQ(std::string(e.what()), message);
    }
}

TEST(RuntimeSpecs, InvalidValuesAreNamedErrors) {
    expect_bad_spec("rtn:bits=5", "quantize: rtn: bits must be 2, 3, 4 or 8, got 5");
    expect_bad_spec("rtn:bits=four", "quantize: rtn: bits must be an integer, got 'four'");
    expect_bad_spec("rtn:group_size=0", "quantize: rtn: group_size must be -1 or positive, got 0");
    expect_bad_spec("rtn:sym=maybe", "quantize: rtn: sym must be true or false, got 'maybe'");
    expect_bad_spec("rtn:group=32", "quantize: rtn: unknown parameter 'group' (known: bits, group_size, sym, lm_head)");
    expect_bad_spec("fp8:granularity=block", "quantize: fp8: granularity must be tensor or channel, got 'block'");
    expect_bad_spec("gguf:type=q4_0", "quantize: unknown method 'gguf' (rtn, fp8, w8a8)");
}

}  // namespace
}  // namespace qbench::quant
