// The quantized Linear kinds: bit packing against hand-built layouts, dequantization against an
// element-by-element reference, and every fast kernel against the dequantize-then-matmul path on
// random shapes (odd N and K, M = 1) in float32, bfloat16 and float16.
#include "qbench/quant/kernels.hpp"

#include <gtest/gtest.h>

#include "qbench/quant/rtn.hpp"

namespace qbench::quant {
namespace {

model::LinearSpec spec_for(std::int64_t N, std::int64_t K, torch::ScalarType dtype) {
    return model::LinearSpec{"layer", K, N, false, dtype, torch::kCPU};
}

// max |a - b| relative to max |b|.
double rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
    const auto bd = b.to(torch::kFloat64);
    return (a.to(torch::kFloat64) - bd).abs().max().item<double>() / std::max(1e-12, bd.abs().max().item<double>());
}

double tolerance(torch::ScalarType dtype) {
    if (dtype == torch::kBFloat16) return 2e-2;
    if (dtype == torch::kFloat16) return 4e-3;
    return 2e-5;
}

IntWeight random_weight(std::int64_t N, std::int64_t K, int bits, std::int64_t group, bool sym, std::uint64_t seed) {
    torch::manual_seed(seed);
    return rtn_quantize(torch::randn({N, K}), {bits, group, sym});
}

TEST(BitPacking, RoundTripsEveryWidthAndOddLengths) {
    torch::manual_seed(1);
    for (int bits = 1; bits <= 8; ++bits) {
        for (std::int64_t L : {1, 7, 31, 32, 33, 100}) {
            auto codes = torch::randint(0, 1 << bits, {3, L}, torch::kInt32).to(torch::kUInt8);
            auto packed = pack_bits(codes, bits);
            EXPECT_EQ(packed.size(1), (L * bits + 7) / 8);
            EXPECT_TRUE(torch::equal(unpack_bits(packed, bits, L), codes)) << bits << " bits, length " << L;
        }
    }
}

// quant-formats.md §1: 3-bit GPTQ puts v0..v9 in bits 0..29 of word 0, v10's low two bits in
// bits 30..31 and its high bit in bit 0 of word 1, v11.. from bit 1 of word 1.
TEST(BitPacking, ThreeBitStreamStraddlesWordsAsGptqDoes) {
    auto codes = torch::zeros({1, 32}, torch::kUInt8);
    codes[0][0] = 5;
    codes[0][10] = 6;  // 0b110: low bits 0b10 -> word0 bits 30..31, high bit -> word1 bit 0
    codes[0][11] = 7;
    const auto words = pack_bits(codes, 3).view(torch::kInt32);
    ASSERT_EQ(words.size(1), 3);
    const auto w0 = static_cast<std::uint32_t>(words[0][0].item<std::int32_t>());
    const auto w1 = static_cast<std::uint32_t>(words[0][1].item<std::int32_t>());
    EXPECT_EQ(w0, 5u | (2u << 30));
    EXPECT_EQ(w1, 1u | (7u << 1));
}

TEST(Dequantize, MatchesElementwiseReferenceWithGIdx) {
    torch::manual_seed(2);
    IntWeight w;
    w.bits = 3;
    w.group_size = 4;
    const std::int64_t N = 5, K = 12, G = 3;
    w.codes = torch::randint(0, 8, {N, K}, torch::kInt32).to(torch::kUInt8);
    w.scales = torch::rand({N, G}).to(torch::kFloat16);
    w.zeros = torch::randint(0, 8, {N, G}, torch::kInt32).to(torch::kUInt8);
    w.g_idx = torch::randperm(K, torch::kInt64).remainder(G);
    const auto d = dequantize(w);
    for (std::int64_t n = 0; n < N; ++n) {
        for (std::int64_t k = 0; k < K; ++k) {
            const auto g = w.g_idx[k].item<std::int64_t>();
            const float s = w.scales[n][g].item<at::Half>();
            const float expect = s * (static_cast<float>(w.codes[n][k].item<int>()) - w.zeros[n][g].item<int>());
            EXPECT_EQ(d[n][k].item<float>(), expect);
        }
    }
}

TEST(Rtn, CodesStayInRangeAndErrorIsHalfAStep) {
    torch::manual_seed(3);
    const auto W = torch::randn({16, 70});
    for (int bits : {2, 3, 4, 8}) {
        for (bool sym : {true, false}) {
            const auto w = rtn_quantize(W, {bits, 32, sym});
            EXPECT_EQ(w.groups(), 3);
            EXPECT_LE(w.codes.max().item<int>(), (1 << bits) - 1);
            const auto err = (dequantize(w) - W).abs();
            const auto step = w.scales.to(torch::kFloat32).repeat_interleave(32, 1).slice(1, 0, 70);
            // Half a step, plus the clipping of an extreme value that the float16 rounding of the
            // scale can push one code past the range (at most maxq * 2^-11 steps).
            const double slack = 0.5 + ((1 << bits) - 1) / 2048.0;
            if (!sym) EXPECT_TRUE(torch::all(err <= step * slack).item<bool>()) << bits;
        }
    }
}

struct FastCase {
    std::int64_t N, K;
    int bits;
    std::int64_t group;
    bool sym;
    std::int64_t kernel_group = 0;  // the int4pack group the layer should use
};

TEST(FastKernels, Int4PackMatchesDequantPath) {
    const FastCase cases[] = {{32, 64, 4, 32, true, 32},     {48, 128, 4, 64, false, 64},
                              {16, 256, 4, 128, false, 128}, {32, 96, 4, -1, false, 32},
                              {64, 512, 4, 256, true, 256},  {32, 512, 4, -1, true, 256}};
    for (auto dtype : {torch::kFloat32, torch::kBFloat16, torch::kFloat16}) {
        for (const auto& c : cases) {
            const auto w = random_weight(c.N, c.K, c.bits, c.group, c.sym, 10 + c.N);
            const auto spec = spec_for(c.N, c.K, dtype);
            const auto bias = torch::randn({c.N});
            auto fast = make_int_linear(w, bias, spec, ActQuant::kNone, KernelChoice::kPacked);
            auto ref = make_int_linear(w, bias, spec, ActQuant::kNone, KernelChoice::kDequant);
            ASSERT_EQ(fast->kernel(), "int4pack_mm_cpu") << c.N << "x" << c.K;
            // kAuto uses the CPU int4 kernel where it is vectorized (bfloat16) only, else the fused one.
            EXPECT_EQ(make_int_linear(w, bias, spec)->kernel(),
                      dtype == torch::kBFloat16 ? "int4pack_mm_cpu" : "lowbit_gemv_cpu");
            EXPECT_EQ(ref->kernel(), "dequant_matmul");
            for (std::int64_t M : {1, 5, 33}) {
                const auto x = torch::randn({M, c.K}).to(dtype);
                const auto exact = torch::nn::functional::linear(x.to(torch::kFloat64), dequantize(w).to(torch::kFloat64),
                                                                 bias.to(torch::kFloat64));
                EXPECT_LT(rel_diff(fast->forward(x), exact), tolerance(dtype)) << c.N << "x" << c.K << " M=" << M;
                EXPECT_LT(rel_diff(ref->forward(x), exact), tolerance(dtype)) << c.N << "x" << c.K << " M=" << M;
            }
            // Low-bit in memory: half a byte per weight plus the scale/zero pairs.
            const std::int64_t esize = static_cast<std::int64_t>(torch::elementSize(dtype));
            EXPECT_EQ(fast->weight_bytes(), c.N * c.K / 2 + 2 * c.N * (c.K / c.kernel_group) * esize + c.N * esize);
        }
    }
}

TEST(FastKernels, Int4PackSortsANonTrivialGIdx) {
    torch::manual_seed(4);
    const std::int64_t N = 32, K = 128;
    auto w = random_weight(N, K, 4, 32, false, 5);
    w.g_idx = torch::randperm(K, torch::kInt64).remainder(K / 32);  // every group has 32 members
    const auto spec = spec_for(N, K, torch::kFloat32);
    auto fast = make_int_linear(w, {}, spec, ActQuant::kNone, KernelChoice::kPacked);
    ASSERT_EQ(fast->kernel(), "int4pack_mm_cpu");
    const auto x = torch::randn({3, K});
    const auto exact = torch::nn::functional::linear(x.to(torch::kFloat64), dequantize(w).to(torch::kFloat64));
    EXPECT_LT(rel_diff(fast->forward(x), exact), 2e-5);
    EXPECT_LT(rel_diff(fast->dequantized_weight(), dequantize(w)), 1e-6);
}

TEST(FastKernels, ShapesTheInt4KernelRejectsFallBackToTheFusedKernel) {
    // N % 16 != 0; K not a multiple of the group; group 48 divides no kernel group size.
    const FastCase cases[] = {{24, 64, 4, 32, true}, {32, 80, 4, 32, true}, {32, 96, 4, 48, true},
                              {17, 33, 4, -1, false}, {32, 64, 3, 32, true}, {32, 64, 2, -1, false}};
    for (const auto& c : cases) {
        const auto w = random_weight(c.N, c.K, c.bits, c.group, c.sym, 20 + c.K);
        auto lin = make_int_linear(w, {}, spec_for(c.N, c.K, torch::kFloat32), ActQuant::kNone, KernelChoice::kPacked);
        EXPECT_EQ(lin->kernel(), "lowbit_gemv_cpu") << c.N << "x" << c.K;
        const auto x = torch::randn({1, c.K});
        EXPECT_LT(rel_diff(lin->forward(x), torch::nn::functional::linear(x, dequantize(w))), 1e-5);
        EXPECT_TRUE(torch::equal(lin->dequantized_weight(), dequantize(w)));
    }
}

TEST(FastKernels, Int8PackMatchesDequantPathSymAndAsym) {
    for (auto dtype : {torch::kFloat32, torch::kBFloat16, torch::kFloat16}) {
        for (bool sym : {true, false}) {
            for (auto [N, K] : {std::pair<std::int64_t, std::int64_t>{17, 33}, {64, 128}, {1, 7}}) {
                const auto w = random_weight(N, K, 8, -1, sym, 30 + N);
                const auto spec = spec_for(N, K, dtype);
                auto fast = make_int_linear(w, {}, spec, ActQuant::kNone, KernelChoice::kPacked);
                const bool kernel_fits = dtype == torch::kFloat32 || K % 32 == 0;
                ASSERT_EQ(fast->kernel(), kernel_fits ? "int8pack_mm" : "lowbit_gemv_cpu") << N << "x" << K;
                // The kernel's effective weight is the dequantized weight (scales in the compute dtype).
                EXPECT_LT(rel_diff(fast->dequantized_weight(), dequantize(w)), dtype == torch::kFloat32 ? 1e-6 : 1e-2);
                auto ref = make_int_linear(w, {}, spec, ActQuant::kNone, KernelChoice::kDequant);
                for (std::int64_t M : {1, 9}) {
                    const auto x = torch::randn({M, K}).to(dtype);
                    const auto exact =
                        torch::nn::functional::linear(x.to(torch::kFloat64), dequantize(w).to(torch::kFloat64));
                    EXPECT_LT(rel_diff(fast->forward(x), exact), tolerance(dtype)) << N << "x" << K << " M=" << M;
                    EXPECT_LT(rel_diff(ref->forward(x), exact), tolerance(dtype)) << N << "x" << K << " M=" << M;
                }
            }
        }
    }
}

TEST(FastKernels, IntMmW8A8MatchesFakeQuantDequantPath) {
    for (auto [N, K] : {std::pair<std::int64_t, std::int64_t>{16, 32}, {33, 17}, {128, 256}}) {
        torch::manual_seed(N);
        const auto w = int8_channel_quantize(torch::randn({N, K}));
        for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
            const auto spec = spec_for(N, K, dtype);
            auto fast = make_int_linear(w, {}, spec, ActQuant::kInt8Token);
            auto ref = make_int_linear(w, {}, spec, ActQuant::kInt8Token, KernelChoice::kDequant);
            ASSERT_EQ(fast->kernel(), "int_mm");
            for (std::int64_t M : {1, 20}) {
                const auto x = torch::randn({M, K}).to(dtype);
                EXPECT_LT(rel_diff(fast->forward(x), ref->forward(x).to(torch::kFloat32)), tolerance(dtype));
                // The fake-quant path is W8A8 arithmetic: exactly the int8 products, summed in float32.
                const auto xq = fake_quant_activation(x, ActQuant::kInt8Token, {});
                const auto exact = torch::nn::functional::linear(xq.to(torch::kFloat64), dequantize(w).to(torch::kFloat64));
                EXPECT_LT(rel_diff(fast->forward(x), exact), tolerance(dtype));
            }
            EXPECT_EQ(fast->weight_bytes(), N * K + 4 * N);
        }
    }
}

TEST(FastKernels, ScaledMmMatchesFakeQuantDequantPath) {
    for (auto [N, K] : {std::pair<std::int64_t, std::int64_t>{16, 32}, {48, 64}}) {
        for (bool channel : {false, true}) {
            for (auto act : {ActQuant::kFp8Token, ActQuant::kFp8Tensor, ActQuant::kFp8Static}) {
                torch::manual_seed(N + K);
                auto w = fp8_quantize(torch::randn({N, K}), channel);
                if (act == ActQuant::kFp8Static) w.input_scale = torch::full({1}, 3.0 / 448.0);
                const auto spec = spec_for(N, K, torch::kFloat32);
                auto fast = make_fp8_linear(w, torch::randn({N}), spec, act);
                auto ref = make_fp8_linear(w, torch::randn({N}), spec, act, KernelChoice::kDequant);
                EXPECT_EQ(ref->kernel(), "dequant_matmul");
                if (fast->kernel() != "scaled_mm") GTEST_SKIP() << "at::_scaled_mm is not available on this CPU";
                for (std::int64_t M : {1, 7}) {
                    const auto x = torch::randn({M, K});
                    const auto b = fast->forward(torch::zeros({1, K}));
                    const auto exact = torch::nn::functional::linear(
                        fake_quant_activation(x, act, w.input_scale).to(torch::kFloat64), dequantize(w).to(torch::kFloat64));
                    EXPECT_LT(rel_diff(fast->forward(x) - b, exact), 1e-5);
                }
            }
        }
    }
}

TEST(FastKernels, Fp8OddShapesAndBlocksUseDequantPath) {
    torch::manual_seed(6);
    auto w = fp8_quantize(torch::randn({17, 33}), true);
    auto lin = make_fp8_linear(w, {}, spec_for(17, 33, torch::kFloat32), ActQuant::kFp8Token);
    EXPECT_EQ(lin->kernel(), "dequant_matmul");
    Fp8Weight blocks;
    blocks.weight = torch::randn({40, 70}).to(torch::kFloat8_e4m3fn);
    blocks.scale = torch::rand({3, 5}) + 0.5;
    blocks.block = {16, 16};
    const auto d = dequantize(blocks);
    EXPECT_EQ(d[39][69].item<float>(),
              blocks.weight[39][69].to(torch::kFloat32).item<float>() * blocks.scale[2][4].item<float>());
    auto blin = make_fp8_linear(blocks, {}, spec_for(40, 70, torch::kFloat32), ActQuant::kFp8Group128);
    EXPECT_EQ(blin->kernel(), "dequant_matmul");
    EXPECT_EQ(blin->weight_bytes(), 40 * 70 + 15 * 4);
}

TEST(WeightBytes, SubByteCodesArePackedHonestly) {
    const auto w = random_weight(10, 50, 3, 32, false, 7);
    auto lin = make_int_linear(w, {}, spec_for(10, 50, torch::kFloat32), ActQuant::kNone, KernelChoice::kDequant);
    ASSERT_EQ(lin->kernel(), "dequant_matmul");
    // ceil(50 * 3 / 8) = 19 bytes per row, two float16 scales and two uint8 zeros per row.
    EXPECT_EQ(lin->weight_bytes(), 10 * 19 + 10 * 2 * 2 + 10 * 2);
}

}  // namespace
}  // namespace qbench::quant
