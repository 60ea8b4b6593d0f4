// The fused low-bit GEMV kernel (lowbit_gemv_cpu) against the dequantize-then-matmul reference
// (KernelChoice::kDequant) and against a float64 sum over the same dtype-rounded weights, for
// every bit width, grouping, zero-point kind, g_idx kind, compute dtype, M in {1, 3, 8}, odd K,
// with and without bias, through each clone this CPU runs (AVX-512, AVX2, portable).
//
// Tolerances, per output element, with u32 = 2^-24 (float32 unit roundoff), S = sum_k |x_k w_k|
// + |b| and u_d the unit roundoff of the compute dtype (2^-8 bfloat16, 2^-11 float16, 0 float32):
//   vs float64 over the same weights:  K * u32 * S + u_d * |y|
//     (any order of float32 additions of exact products errs by at most (K - 1) u32 S; the kernel
//     rounds once to the dtype). bfloat16/float16 products are exact in float32; float32 products
//     add one rounding each, covered by the same K u32 S bound.
//   vs the kDequant path:              2 K u32 S + 3 u_d (|y| + |b|)
//     (both sums carry the summation bound; the reference may round its matmul to the dtype and
//     round again after adding the bias).
// A single wrong weight (one code step, a scale or zero of the wrong group) moves the result by
// about S / K, over 10x these bounds at K = 77 and 300.
#include <gtest/gtest.h>

#include <cmath>

#include "qbench/quant/kernels.hpp"
#include "qbench/quant/lowbit_gemv.hpp"
#include "qbench/quant/rtn.hpp"

namespace qbench::quant {
namespace {

model::LinearSpec spec_for(std::int64_t N, std::int64_t K, torch::ScalarType dtype) {
    return model::LinearSpec{"layer", K, N, false, dtype, torch::kCPU};
}

double unit_roundoff(torch::ScalarType dtype) {
    if (dtype == torch::kBFloat16) return std::ldexp(1.0, -8);
    if (dtype == torch::kFloat16) return std::ldexp(1.0, -11);
    return 0.0;
}

// Random codes, float16 scales, optional uint8 zeros, optional act-order g_idx.
IntWeight make_weight(std::int64_t N, std::int64_t K, int bits, std::int64_t group, bool asym, bool act_order,
                      std::uint64_t seed) {
    torch::manual_seed(seed);
    IntWeight w;
    w.bits = bits;
    w.group_size = group;
    const std::int64_t G = group <= 0 ? 1 : (K + group - 1) / group;
    w.codes = torch::randint(0, 1 << bits, {N, K}, torch::kInt32).to(torch::kUInt8);
    w.scales = ((torch::rand({N, G}) + 0.5) * (0.1 / (1 << (bits - 1)))).to(torch::kFloat16);
    if (asym) w.zeros = torch::randint(0, 1 << bits, {N, G}, torch::kInt32).to(torch::kUInt8);
    if (act_order && G > 1) {
        // GPTQ act-order: each column keeps its group but columns come in a permuted order; plus
        // a few columns moved to another group so the groups have uneven sizes.
        auto g = torch::div(torch::randperm(K, torch::kInt64), group, "floor");
        g.slice(0, 0, 5).fill_(G - 1);
        w.g_idx = g;
    }
    return w;
}

struct Bounds {
    torch::Tensor exact, sum_abs;  // float64 [M, N]
};

// float64 sum over the weights rounded to the compute dtype, and S (see the header comment).
Bounds float64_reference(const torch::Tensor& x, const IntWeight& w, const torch::Tensor& bias,
                         torch::ScalarType dtype) {
    const auto wd = dequantize(w).to(dtype).to(torch::kFloat64);
    const auto xd = x.to(torch::kFloat64);
    Bounds b{xd.matmul(wd.t()), xd.abs().matmul(wd.abs().t())};
    if (bias.defined()) {
        const auto bd = bias.to(dtype).to(torch::kFloat64);
        b.exact = b.exact + bd;
        b.sum_abs = b.sum_abs + bd.abs();
    }
    return b;
}

// max over elements of |got - want| / bound; <= 1 passes.
double worst_ratio(const torch::Tensor& got, const torch::Tensor& want, const torch::Tensor& bound) {
    return ((got.to(torch::kFloat64) - want.to(torch::kFloat64)).abs() / bound).max().item<double>();
}

class LowbitGemv : public ::testing::TestWithParam<const char*> {  // the clone
protected:
    void SetUp() override {
        if (!force_lowbit_gemv_isa(GetParam())) GTEST_SKIP() << "this CPU cannot run the " << GetParam() << " clone";
        ASSERT_EQ(lowbit_gemv_isa(), GetParam());
    }
    void TearDown() override { force_lowbit_gemv_isa("auto"); }
};

TEST_P(LowbitGemv, MatchesDequantPathEveryFormatDtypeAndShape) {
    constexpr double u32 = 5.9604644775390625e-08;  // 2^-24
    const std::int64_t N = 37;
    int cases = 0;
    for (int bits : {2, 3, 4, 8}) {
        for (std::int64_t group : {-1, 32, 128}) {
            for (bool asym : {false, true}) {
                for (bool act_order : {false, true}) {
                    if (act_order && group == -1) continue;  // one group: g_idx is trivial
                    for (std::int64_t K : {77, 300}) {
                        const auto w = make_weight(N, K, bits, group, asym, act_order, 1000 * bits + K + group + asym);
                        for (auto dtype : {torch::kFloat32, torch::kBFloat16, torch::kFloat16}) {
                            for (bool with_bias : {false, true}) {
                                const auto bias = with_bias ? torch::randn({N}) : torch::Tensor();
                                const auto spec = spec_for(N, K, dtype);
                                auto fused = make_int_linear(w, bias, spec);
                                auto ref = make_int_linear(w, bias, spec, ActQuant::kNone, KernelChoice::kDequant);
                                ASSERT_EQ(fused->kernel(), "lowbit_gemv_cpu");
                                ASSERT_EQ(ref->kernel(), "dequant_matmul");
                                const double ud = unit_roundoff(dtype);
                                for (std::int64_t M : {1, 3, 8}) {
                                    const auto x = torch::randn({M, K}).to(dtype);
                                    const auto y = fused->forward(x);
                                    ASSERT_EQ(y.scalar_type(), dtype);
                                    ASSERT_EQ(y.sizes(), (std::vector<std::int64_t>{M, N}));
                                    const auto yr = ref->forward(x);
                                    const auto r = float64_reference(x, w, bias, dtype);
                                    const auto b_abs = with_bias ? bias.to(dtype).to(torch::kFloat64).abs().unsqueeze(0)
                                                                 : torch::zeros({1, N}, torch::kFloat64);
                                    const auto bound64 = K * u32 * r.sum_abs + ud * r.exact.abs() + 1e-30;
                                    const auto bound_ref = 2 * K * u32 * r.sum_abs +
                                                           3 * ud * (yr.to(torch::kFloat64).abs() + b_abs) + 1e-30;
                                    const std::string what = std::to_string(bits) + " bits, group " +
                                                             std::to_string(group) + (asym ? " asym" : " sym") +
                                                             (act_order ? " act-order" : "") + " K=" + std::to_string(K) +
                                                             " " + c10::toString(dtype) + " M=" + std::to_string(M) +
                                                             (with_bias ? " bias" : "");
                                    EXPECT_LE(worst_ratio(y, r.exact, bound64), 1.0) << what;
                                    EXPECT_LE(worst_ratio(y, yr, bound_ref), 1.0) << what;
                                    ++cases;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    EXPECT_EQ(cases, 4 * (2 + 8) * 2 * 3 * 2 * 3);
}

INSTANTIATE_TEST_SUITE_P(Clones, LowbitGemv, ::testing::Values("avx512", "avx2", "portable"),
                         [](const auto& info) { return std::string(info.param); });

TEST(LowbitGemvLinear, DequantizedWeightIsTheReferenceWeightBitForBit) {
    for (int bits : {2, 3, 4, 8}) {
        for (bool act_order : {false, true}) {
            const auto w = make_weight(19, 150, bits, 32, true, act_order, 7 + bits);
            auto lin = make_int_linear(w, {}, spec_for(19, 150, torch::kFloat32));
            ASSERT_EQ(lin->kernel(), "lowbit_gemv_cpu");
            EXPECT_TRUE(torch::equal(lin->dequantized_weight(), dequantize(w))) << bits << " bits";
        }
    }
}

// Above kLowbitGemvRows the layer runs the dequant_matmul arithmetic (same matmul, same weight).
TEST(LowbitGemvLinear, LargeMRunsTheDequantMatmul) {
    for (bool act_order : {false, true}) {
        const auto w = make_weight(40, 200, 4, 32, true, act_order, 3);
        const auto bias = torch::randn({40});
        for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
            auto fused = make_int_linear(w, bias, spec_for(40, 200, dtype));
            auto ref = make_int_linear(w, bias, spec_for(40, 200, dtype), ActQuant::kNone, KernelChoice::kDequant);
            const auto x = torch::randn({kLowbitGemvRows + 1, 200}).to(dtype);
            const auto d = (fused->forward(x).to(torch::kFloat64) - ref->forward(x).to(torch::kFloat64)).abs().max();
            // Identical without act-order; with it the columns are summed in another order.
            if (!act_order) EXPECT_EQ(d.item<double>(), 0.0) << c10::toString(dtype);
            else EXPECT_LT(d.item<double>(), dtype == torch::kFloat32 ? 1e-5 : 0.05) << c10::toString(dtype);
        }
    }
}

// Leading dimensions are flattened and restored; rows split over threads give the same numbers.
TEST(LowbitGemvLinear, BatchedShapesAndThreadsAgree) {
    const std::int64_t N = 600, K = 1000;  // several parallel_for chunks (about 128k weights each)
    const auto w = make_weight(N, K, 4, 128, false, false, 11);
    auto lin = make_int_linear(w, {}, spec_for(N, K, torch::kFloat32));
    const auto x = torch::randn({2, 3, K});
    const int threads = at::get_num_threads();
    at::set_num_threads(1);
    const auto one = lin->forward(x);
    at::set_num_threads(4);
    const auto four = lin->forward(x);
    at::set_num_threads(threads);
    ASSERT_EQ(one.sizes(), (std::vector<std::int64_t>{2, 3, N}));
    EXPECT_TRUE(torch::equal(one, four));
    EXPECT_TRUE(torch::equal(one.reshape({6, N}), lin->forward(x.reshape({6, K}))));
}

TEST(LowbitGemvLinear, WeightBytesCountThePackedCodes) {
    const auto w = make_weight(10, 50, 3, 32, true, false, 5);
    auto lin = make_int_linear(w, torch::randn({10}), spec_for(10, 50, torch::kFloat16));
    ASSERT_EQ(lin->kernel(), "lowbit_gemv_cpu");
    // ceil(50 * 3 / 8) = 19 bytes per row, two float16 scales and two uint8 zeros per row, the
    // float16 bias and its float32 copy for the kernel.
    EXPECT_EQ(lin->weight_bytes(), 10 * 19 + 10 * 2 * 2 + 10 * 2 + 10 * 2 + 10 * 4);
    auto lin32 = make_int_linear(w, torch::randn({10}), spec_for(10, 50, torch::kFloat32));
    EXPECT_EQ(lin32->weight_bytes(), 10 * 19 + 10 * 2 * 2 + 10 * 2 + 10 * 4);  // one float32 bias
}

TEST(LowbitGemvLinear, ActivationQuantizationKeepsTheDequantPath) {
    const auto w = int8_channel_quantize(torch::randn({16, 48}));
    auto lin = make_int_linear(w, {}, spec_for(16, 48, torch::kFloat32), ActQuant::kFp8Token);
    EXPECT_EQ(lin->kernel(), "dequant_matmul");
}

}  // namespace
}  // namespace qbench::quant
