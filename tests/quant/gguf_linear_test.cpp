// GGUF Q8_0 / Q4_0 Linear weights kept low-bit (quant/gguf.hpp). References are never qbench's
// own low-bit path: gguf-py's dequantization (quant_types.expected.safetensors, written by
// scripts/gen_gguf_fixtures.py), qbench's dequantizer (itself bit-identical to gguf-py), the
// dequantize-at-load model, and transformers' logits on gguf-py's dequantized weights.
#include "qbench/quant/gguf.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <iostream>

#include "qbench/eval/api.hpp"
#include "qbench/eval/model_env.hpp"
#include "qbench/io/gguf_dequant.hpp"
#include "qbench/model/decoder.hpp"
#include "qbench/model/gguf_model.hpp"
#include "qbench/util/error.hpp"
#include "support/fixtures.hpp"

namespace qbench::quant {
namespace {

std::filesystem::path gguf_fixture(const std::string& name) {
    return qbench::testing::fixtures_dir() / "gguf" / name;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

struct Loaded {
    std::shared_ptr<const io::GgufFile> file;
    model::ModelConfig config;
    std::unique_ptr<model::GgufWeightSource> weights;
};

Loaded open(const std::string& name) {
    Loaded l;
    l.file = std::make_shared<const io::GgufFile>(gguf_fixture(name));
    l.config = model::model_config_from_gguf(*l.file);
    l.weights = std::make_unique<model::GgufWeightSource>(l.file, l.config);
    return l;
}

std::unique_ptr<model::Decoder> load(const Loaded& l, torch::ScalarType dtype, bool low_bit,
                                     KernelChoice choice = KernelChoice::kAuto) {
    model::LoadOptions options{torch::kCPU, dtype, {}};
    if (low_bit) options.linear_factory = make_gguf_linear_factory(choice);
    return model::Decoder::load(l.config, *l.weights, options);
}

// The blocks of one tensor of quant_types.gguf as an IntWeight.
IntWeight tensor_weight(const io::GgufFile& f, const std::string& name) {
    const auto& t = f.tensor(name);
    const auto shape = t.shape();
    return gguf_int_weight(t.ggml_type(), f.data(t), shape[0], shape[1], name);
}

// IntWeight's dequantization of the mapped blocks is gguf-py's dequantization, bit for bit
// (quant_types.gguf: 3 x 512 random values, the first block all zero).
TEST(GgufIntWeight, DequantizesBitIdenticallyToGgufPy) {
    const io::GgufFile f(gguf_fixture("quant_types.gguf"));
    const model::WeightLoader expected(gguf_fixture("quant_types.expected.safetensors"));
    for (const char* name : {"t.Q8_0", "t.Q4_0"}) {
        SCOPED_TRACE(name);
        const auto w = tensor_weight(f, name);
        EXPECT_EQ(w.bits, std::string(name) == "t.Q8_0" ? 8 : 4);
        EXPECT_EQ(w.group_size, 32);
        EXPECT_EQ(w.scales.scalar_type(), torch::kFloat16);
        EXPECT_FALSE(w.zeros.defined());  // symmetric: zero = 2^(bits-1)
        validate(w, name);
        const auto ours = dequantize(w);
        EXPECT_TRUE(torch::equal(ours, expected.raw(name, torch::kCPU)));
        // ... and to qbench's dequantizer.
        const auto& t = f.tensor(name);
        auto ref = torch::empty(t.shape(), torch::kFloat32);
        io::dequantize(t.ggml_type(), f.data(t), {ref.data_ptr<float>(), static_cast<std::size_t>(ref.numel())});
        EXPECT_TRUE(torch::equal(ours, ref));
        // The reference Linear kind holds the same values.
        const model::LinearSpec spec{name, w.in_features(), w.out_features(), false, torch::kFloat32, torch::kCPU};
        const auto lin = make_int_linear(w, {}, spec, ActQuant::kNone, KernelChoice::kDequant);
        EXPECT_EQ(lin->kernel(), "dequant_matmul");
        EXPECT_TRUE(torch::equal(lin->dequantized_weight(), ref));
    }
}

// The nibble order is ggml's: element j is the low nibble of byte j, element j + 16 its high
// nibble; Q8_0 codes are the int8 values + 128. Hand-built blocks.
TEST(GgufIntWeight, ReadsHandBuiltBlocks) {
    std::vector<std::uint8_t> q4(18, 0);
    q4[0] = 0x00;
    q4[1] = 0x3C;  // fp16 1.0
    for (int j = 0; j < 16; ++j) q4[2 + j] = static_cast<std::uint8_t>(j | ((15 - j) << 4));
    const auto w4 = gguf_int_weight(io::GgmlType::kQ4_0, q4, 1, 32, "q4");
    for (int j = 0; j < 16; ++j) {
        EXPECT_EQ(w4.codes[0][j].item<int>(), j);
        EXPECT_EQ(w4.codes[0][j + 16].item<int>(), 15 - j);
    }
    EXPECT_EQ(dequantize(w4)[0][0].item<float>(), -8.0f);
    EXPECT_EQ(dequantize(w4)[0][16].item<float>(), 7.0f);

    std::vector<std::uint8_t> q8(34, 0);
    q8[0] = 0x00;
    q8[1] = 0x40;  // fp16 2.0
    q8[2] = 0x80;  // -128
    q8[3] = 0x7F;  // 127
    q8[4] = 0xFF;  // -1
    const auto w8 = gguf_int_weight(io::GgmlType::kQ8_0, q8, 1, 32, "q8");
    EXPECT_EQ(w8.codes[0][0].item<int>(), 0);
    EXPECT_EQ(w8.codes[0][1].item<int>(), 255);
    EXPECT_EQ(w8.codes[0][2].item<int>(), 127);
    EXPECT_EQ(w8.codes[0][3].item<int>(), 128);
    const auto d8 = dequantize(w8);
    EXPECT_EQ(d8[0][0].item<float>(), -256.0f);
    EXPECT_EQ(d8[0][1].item<float>(), 254.0f);
    EXPECT_EQ(d8[0][2].item<float>(), -2.0f);
}

TEST(GgufIntWeight, RejectsOtherTypesAndSizes) {
    std::vector<std::uint8_t> bytes(18, 0);
    try {
        gguf_int_weight(io::GgmlType::kQ4_1, bytes, 1, 32, "blk.0.attn_q.weight");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kBadInput);
        EXPECT_THAT(e.what(), ::testing::HasSubstr("blk.0.attn_q.weight: GGUF type Q4_1"));
    }
    EXPECT_THROW(gguf_int_weight(io::GgmlType::kQ4_0, bytes, 2, 32, "x"), Error);
    EXPECT_THROW(gguf_int_weight(io::GgmlType::kQ8_0, bytes, 1, 32, "x"), Error);
    EXPECT_FALSE(gguf_keeps_low_bit(io::GgmlType::kQ4_K));
    EXPECT_FALSE(gguf_keeps_low_bit(io::GgmlType::kQ5_0));
}

// Every low-bit Linear of the Q8_0 / Q4_0 / mixed fixtures holds exactly the weight the
// dequantize-at-load path loads (Q/K rows un-permuted), and only Q8_0 / Q4_0 weights stay low-bit.
TEST(GgufLowBit, LinearsHoldTheDequantizedWeightsBitForBit) {
    for (const char* model : {"llama_gqa_llama3", "llama_linear_bias"}) {
        for (const char* kind : {"q8_0", "q4_0", "mixed"}) {
            const auto name = std::string(model) + "." + kind + ".gguf";
            SCOPED_TRACE(name);
            const auto l = open(name);
            const auto dec = load(l, torch::kFloat32, true);
            int low_bit = 0;
            for (const auto& [lname, lin] : dec->linears()) {
                SCOPED_TRACE(lname);
                const auto type = l.weights->info(lname + ".weight").ggml_type();
                const bool keep = type == io::GgmlType::kQ8_0 || type == io::GgmlType::kQ4_0;
                EXPECT_EQ(lin->kernel(), keep ? "lowbit_gemv_cpu" : "dense");
                low_bit += keep;
                EXPECT_TRUE(torch::equal(lin->dequantized_weight(),
                                         l.weights->load(lname + ".weight", torch::kFloat32, torch::kCPU)));
            }
            EXPECT_GE(low_bit, std::string(kind) == "mixed" ? 2 : 8);
        }
    }
}

// float32 logits: low-bit storage against dequantize-at-load. The weights are identical (test
// above); the only difference is where the bias is added (the dense layer fuses it into addmm,
// the dequant path adds it after the matmul), a few float32 ulps. Tolerance 1e-5 on logits of
// magnitude ~1. Also against transformers on gguf-py's weights (the fixture's reference), 1e-4 as
// for the dequantize-at-load model (gguf_model_test.cpp).
TEST(GgufLowBit, Float32LogitsMatchDequantizeAtLoadAndTransformers) {
    for (const char* model : {"llama_gqa_llama3", "llama_linear_bias"}) {
        for (const char* kind : {"q8_0", "q4_0", "mixed"}) {
            const auto base = std::string(model) + "." + kind;
            SCOPED_TRACE(base);
            const auto l = open(base + ".gguf");
            const model::WeightLoader ref(gguf_fixture(base + ".reference.safetensors"));
            const auto ids = ref.raw("input_ids", torch::kCPU);
            torch::NoGradGuard no_grad;
            const auto low = load(l, torch::kFloat32, true)->forward(ids);
            const auto deq = load(l, torch::kFloat32, false)->forward(ids);
            EXPECT_LT(max_abs_diff(low, deq), 1e-5);
            EXPECT_LT(max_abs_diff(low, ref.raw("logits", torch::kCPU)), 1e-4);
        }
    }
}

// bfloat16: Q4_0 layers run through int4pack_mm_cpu (kAuto picks it for bfloat16). Its scales are
// held in bfloat16 and it accumulates differently, so it is not compared bit for bit but with the
// float32 reference (transformers on gguf-py's weights), against the error of the
// dequantize-at-load bfloat16 model on the same input: at most 1.5x that error plus 0.02. (These
// random tiny models have logits up to ~20; bfloat16 alone puts the dequantize-at-load model
// ~0.2-0.5 away from float32, and the int4pack model is as far.)
TEST(GgufLowBit, Bfloat16Int4packLogitsStayWithinBfloat16Error) {
    for (const char* model : {"llama_gqa_llama3", "llama_linear_bias"}) {
        const auto base = std::string(model) + ".q4_0";
        SCOPED_TRACE(base);
        const auto l = open(base + ".gguf");
        const model::WeightLoader ref(gguf_fixture(base + ".reference.safetensors"));
        const auto ids = ref.raw("input_ids", torch::kCPU);
        const auto expected = ref.raw("logits", torch::kCPU);
        torch::NoGradGuard no_grad;
        const auto low_dec = load(l, torch::kBFloat16, true);
        int int4 = 0;
        for (const auto& k : low_dec->kernels()) int4 += k.kernel == "int4pack_mm_cpu";
        EXPECT_GE(int4, 8);  // q, k, v, o, gate, up of both layers (+ lm_head), where N % 16 == 0
        const double low_err = max_abs_diff(low_dec->forward(ids), expected);
        const double deq_err = max_abs_diff(load(l, torch::kBFloat16, false)->forward(ids), expected);
        EXPECT_LT(low_err, 1.5 * deq_err + 0.02) << "dequantize-at-load bfloat16 error " << deq_err;
        std::cout << base << ": max |logit - float32 reference|: int4pack " << low_err
                  << ", dequantize-at-load bfloat16 " << deq_err << "\n";
    }
}

// The model environment keeps Q8_0 / Q4_0 low-bit by default, reports which tensors are and with
// which kernel, and holds fewer bytes; gguf_dequantize restores the old path.
TEST(GgufLowBit, ModelEnvReportsStorageAndBytes) {
    eval::ModelRequest request;
    request.path = gguf_fixture("llama_linear_bias.q4_0.gguf");
    request.dtype = "bfloat16";
    const auto low = eval::load_model_env(request);
    EXPECT_THAT(low.summary.quantization,
                ::testing::HasSubstr("gguf MOSTLY_Q4_0: kept low-bit: Q4_0 as int4pack_mm_cpu x"));
    EXPECT_THAT(low.summary.quantization, ::testing::HasSubstr("dequantized at load to bfloat16: F16 x2, F32 x"));
    EXPECT_THAT(low.summary.quantization, ::testing::HasSubstr("Q4_0 x1 (model.embed_tokens.weight)"));
    request.gguf_dequantize = true;
    const auto deq = eval::load_model_env(request);
    EXPECT_THAT(deq.summary.quantization, ::testing::HasSubstr("every tensor dequantized at load to bfloat16"));
    EXPECT_THAT(deq.summary.quantization, ::testing::HasSubstr("none kept low-bit (gguf_dequantize)"));
    for (const auto& k : deq.summary.kernels) EXPECT_EQ(k.kernel, "dense");
    EXPECT_LT(low.summary.weight_bytes, deq.summary.weight_bytes);
    // Bytes by hand: a low-bit [N, K] Q4_0 Linear in int4pack holds N K / 2 bytes of codes and
    // [K/32, N, 2] bfloat16 scale/zero pairs (+ a bfloat16 bias), instead of 2 N K bytes.
    const auto l = open("llama_linear_bias.q4_0.gguf");
    std::int64_t saved = 0;
    for (const auto& [name, lin] : low.decoder->linears()) {
        if (lin->kernel() == "dense") continue;
        const auto shape = l.weights->shape(name + ".weight");
        const auto N = shape[0], K = shape[1];
        const std::int64_t bias = l.weights->contains(name + ".bias") ? 2 * N : 0;
        EXPECT_EQ(lin->weight_bytes(), N * K / 2 + (K / 32) * N * 2 * 2 + bias) << name;
        saved += 2 * N * K - (N * K / 2 + (K / 32) * N * 2 * 2);
    }
    EXPECT_EQ(deq.summary.weight_bytes - low.summary.weight_bytes, saved);
}

}  // namespace
}  // namespace qbench::quant
