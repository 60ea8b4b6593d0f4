// Checkpoint readers: each turns one layer's stored tensors into the logical IntWeight (codes,
// scales, zero points, g_idx) or Fp8Weight, checking shapes and dtypes against the layer.
// quant-formats.md has the byte-level facts each one follows.
#pragma once

#include <string>

#include "qbench/model/linear.hpp"
#include "qbench/model/weights.hpp"
#include "qbench/quant/int_weight.hpp"
#include "qbench/quant/kernels.hpp"
#include "qbench/quant/scheme.hpp"

namespace qbench::quant {

// GPTQ: qweight int32 [K*b/32, N] (a bit stream along K per column), qzeros int32 [G, N*b/32]
// (along N per group; v1 stores zero - 1), scales [G, N], g_idx [K].
IntWeight read_gptq(const model::WeightSource& src, const model::LinearSpec& spec, const LayerScheme& s,
                    bool v1);
// AWQ GEMM: qweight int32 [K, N/8] with nibble order [0,2,4,6,1,3,5,7] along N, qzeros [G, N/8],
// scales [G, N]. GEMV: qweight [N, K/8] sequential along K, qzeros [N, W], scales [N, 8W].
IntWeight read_awq(const model::WeightSource& src, const model::LinearSpec& spec, const LayerScheme& s,
                   bool gemv);
// compressed-tensors integer formats: pack-quantized (weight_packed int32 [N, K*b/32], values
// offset by 2^(b-1); weight_zero_point packed along N) or int/naive-quantized (weight int8
// [N, K], weight_zero_point int8); weight_scale [N, G]; weight_g_idx [K].
IntWeight read_compressed_int(const model::WeightSource& src, const model::LinearSpec& spec,
                              const LayerScheme& s, const std::string& format);
// FP8 e4m3 weights: compressed-tensors float-quantized (weight_scale [1] / [N, 1] / blocks,
// input_scale), HF fine-grained (weight_scale_inv blocks) and AutoFP8 (0-dim weight_scale,
// input_scale).
Fp8Weight read_fp8(const model::WeightSource& src, const model::LinearSpec& spec, const LayerScheme& s);

// The layer's bias as stored (any float dtype), or an undefined tensor.
torch::Tensor read_bias(const model::WeightSource& src, const model::LinearSpec& spec);

}  // namespace qbench::quant
