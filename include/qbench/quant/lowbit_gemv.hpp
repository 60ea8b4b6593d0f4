// The fused dequantize-and-multiply CPU kernel for low-bit integer weights at small M (decode):
// y[m, n] = sum_k x[m, k] * w[n, k] with w[n, k] = round_dtype(float32(scale) * (code - zero)),
// exactly the weight the dequant_matmul path feeds its matmul. Codes are read once, from the
// bit-packed rows (pack_bits layout), a block of columns at a time: decoded to float32, scaled per
// group, rounded to the compute dtype, then dotted with every activation row in float32.
// Rows of the output are split over at::parallel_for. On x86-64 (GCC) a clone compiled for
// AVX-512 (F/BW/DQ/VL, 512-bit vectors) or AVX2 + FMA is picked at run time
// (__builtin_cpu_supports); elsewhere, or when forced, the portable clone (plain C++ that the
// compiler vectorizes for the build's baseline ISA).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qbench::quant {

// A run of (packed, possibly permuted) columns [k0, k1) that share scale group g.
struct LowbitSegment {
    std::int64_t k0 = 0, k1 = 0, g = 0;
};

enum class LowbitFloat { kFloat32, kBFloat16, kFloat16 };

struct LowbitGemvArgs {
    int bits = 4;                        // 2, 3, 4 or 8
    std::int64_t M = 0, N = 0, K = 0;    // any M; the weights are decoded once per 16 rows
    const std::uint8_t* packed = nullptr;  // [N, row_bytes], pack_bits layout
    std::int64_t row_bytes = 0;
    const void* scales = nullptr;        // [N, G] in scale_type
    LowbitFloat scale_type = LowbitFloat::kFloat32;
    const std::uint8_t* zeros = nullptr;   // [N, G]; nullptr: symmetric, zero = 2^(bits - 1)
    std::int64_t G = 1;
    const std::vector<LowbitSegment>* segments = nullptr;  // sorted, covering [0, K)
    LowbitFloat weight_type = LowbitFloat::kFloat32;  // the compute dtype weights are rounded to
    const float* x = nullptr;            // float32 [M, K], contiguous
    const float* bias = nullptr;         // float32 [N] or nullptr
    void* y = nullptr;                   // [M, N] in out_type
    LowbitFloat out_type = LowbitFloat::kFloat32;
};

inline constexpr std::int64_t kLowbitGemvMaxRows = 16;

// Runs the kernel over all N output rows (at::parallel_for, the intra-op thread count).
void lowbit_gemv_cpu(const LowbitGemvArgs& args);
// "avx512", "avx2" or "portable": the clone lowbit_gemv_cpu runs now.
std::string lowbit_gemv_isa();
// Tests and benchmarks: run one clone ("avx512", "avx2", "portable"), or the best one this CPU
// supports ("auto"). Returns false (and changes nothing) for a clone the CPU cannot run.
bool force_lowbit_gemv_isa(const std::string& isa);

}  // namespace qbench::quant
