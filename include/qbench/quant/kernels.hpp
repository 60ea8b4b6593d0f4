// The quantized Linear kinds and the rule that picks one per layer.
//
// Integer weights (IntWeight), in order of preference for a layer on `spec.device`:
//   int_mm            W8A8: 8-bit symmetric per-channel weights, activations quantized per token
//                     to int8 at run time, at::_int_mm (int32 accumulate), then scaled.
//                     CUDA needs K % 8 == 0 and N % 8 == 0 (M is padded to 17).
//   int4pack_mm       4-bit, CUDA (sm80+): at::_weight_int4pack_mm, bfloat16 activations.
//   int4pack_mm_cpu   4-bit, CPU: at::_weight_int4pack_mm_for_cpu, activations in the compute
//                     dtype. Both need N % 16 == 0 (CUDA: N % 8, K % 32) and a kernel group size
//                     in {32, 64, 128, 256} dividing the checkpoint's group (per-channel scales
//                     are repeated into such groups) and K. A non-trivial g_idx whose groups all
//                     have group_size members is sorted away: rows are permuted at load and the
//                     activations' columns at run time.
//   int8pack_mm       8-bit per-channel weight-only: at::_weight_int8pack_mm (CPU bfloat16 and
//                     float16 need K % 32 == 0: the 2.13 CPU kernel misreads other K); an asymmetric
//                     zero point is applied as a rank-one correction  y -= sum_k(x) * s * (z - 128).
//   On the CPU, int4pack_mm_cpu and int8pack_mm are vectorized for bfloat16 only; with float32
//   or float16 activations they are scalar loops, 10-30x slower than the dequant path at
//   M = 512 (qbench bench-kernels), so kAuto uses them for bfloat16 only.
//   lowbit_gemv_cpu   everything else on the CPU without activation quantization (2/3-bit,
//                     group-wise 8-bit, odd shapes, float32/float16 4-bit and 8-bit, act-order
//                     g_idx of any group sizes): codes stay bit-packed; for M <= kLowbitGemvRows
//                     rows a fused kernel (lowbit_gemv.hpp) decodes each block of codes once,
//                     dequantizes it to exactly dequant_matmul's weight (float32, then rounded to
//                     the compute dtype), and dots it with every row in float32 (one rounding of
//                     the output, bias added in float32), rows of the output over the intra-op
//                     threads, AVX2+FMA clone picked at run time. Above kLowbitGemvRows (prefill)
//                     it runs dequant_matmul's arithmetic. A non-trivial g_idx is sorted away at
//                     load (packed columns permuted, activation columns permuted at run time).
//   dequant_matmul    kDequant (the reference), activation quantization, other devices or dtypes:
//                     codes stay bit-packed in memory and are dequantized (float32, then the
//                     compute dtype) at every forward, then one matmul.
// FP8 weights (Fp8Weight):
//   scaled_mm         FP8 activations (static or dynamic per tensor, dynamic per token) with tensor or channel
//                     weight scales, K % 16 == 0 and N % 16 == 0: at::_scaled_mm (CPU, or CUDA
//                     sm89+), float32 row/tensor-wise scales.
//   dequant_matmul    weight-only FP8, block scales, per-group activations, other shapes.
// Each fast op is probed once per (op, device, dtype) on a tiny input; an op that throws is
// treated as absent. weight_bytes() counts every tensor the layer holds (packed codes, scales,
// zeros, permutation, bias).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "qbench/model/linear.hpp"
#include "qbench/quant/int_weight.hpp"

namespace qbench::quant {

// How activations are quantized at run time (emulated exactly on the dequant path).
enum class ActQuant {
    kNone,         // weight-only
    kInt8Token,    // int8, symmetric, dynamic per token: s = amax / 127
    kFp8Token,     // float8_e4m3fn, dynamic per token: s = amax / 448
    kFp8Tensor,    // float8_e4m3fn, dynamic per tensor (one amax over the whole input)
    kFp8Group128,  // float8_e4m3fn, dynamic per token and 128-column group
    kFp8Static,    // float8_e4m3fn, one stored input_scale
};
std::string act_quant_name(ActQuant a);  // "none", "int8 dynamic per-token", ...

// x (any float dtype) -> float32 values the quantized activations represent (q * s).
torch::Tensor fake_quant_activation(const torch::Tensor& x, ActQuant act, const torch::Tensor& input_scale);

// lowbit_gemv_cpu runs its fused kernel for inputs of at most this many rows (M, tokens) and the
// dequant_matmul arithmetic above it. Measured (one thread, 704x256 and 2048x2048, 4 and 8 bits,
// float32 and bfloat16): the fused kernel's time grows ~linearly in M and meets dequant+matmul
// between M = 8 (8-bit, small layers) and M = 32-64 (4-bit); 8 keeps it ahead everywhere measured.
inline constexpr std::int64_t kLowbitGemvRows = 8;

enum class KernelChoice {
    kAuto,     // the low-bit kernel where LibTorch has a fast one for the device and dtype
    kPacked,   // the low-bit kernel wherever the op accepts the shape and dtype, even where it
               // is a slow fallback (CPU int4pack/int8pack with float32 or float16)
    kDequant,  // always the dequantize-then-matmul reference path
};

std::unique_ptr<model::Linear> make_int_linear(const IntWeight& w, const torch::Tensor& bias,
                                               const model::LinearSpec& spec, ActQuant act = ActQuant::kNone,
                                               KernelChoice choice = KernelChoice::kAuto);
// The lowbit_gemv_cpu kind itself, whatever kAuto would pick (bench-kernels, tests). Weight-only;
// spec.device must be the CPU and spec.dtype float32, bfloat16 or float16 (kBadInput otherwise).
std::unique_ptr<model::Linear> make_lowbit_gemv_linear(const IntWeight& w, const torch::Tensor& bias,
                                                       const model::LinearSpec& spec);

struct Fp8Weight {
    torch::Tensor weight;       // float8_e4m3fn [N, K]
    torch::Tensor scale;        // float32 dequant multipliers: [1] tensor, [N] channel, or
                                // [ceil(N / bh), ceil(K / bw)] block
    std::vector<std::int64_t> block;  // {bh, bw} for block scales, empty otherwise
    torch::Tensor input_scale;  // float32 [1] for ActQuant::kFp8Static, else undefined
};
// The float32 weight [N, K] = float(weight) * scale (broadcast per tensor / row / block).
torch::Tensor dequantize(const Fp8Weight& w);

std::unique_ptr<model::Linear> make_fp8_linear(const Fp8Weight& w, const torch::Tensor& bias,
                                               const model::LinearSpec& spec, ActQuant act,
                                               KernelChoice choice = KernelChoice::kAuto);

// Whether a LibTorch op runs on this device and activation dtype (probed once, cached).
// op: "int4pack_mm_cpu", "int4pack_mm", "int8pack_mm", "int_mm", "scaled_mm".
bool op_available(const std::string& op, const torch::Device& device, torch::ScalarType dtype);

}  // namespace qbench::quant
