// Run-time quantizers: round-to-nearest integer weights (RTN), symmetric int8 per channel for
// W8A8, and FP8 e4m3. All work in float32 on the weight as loaded.
#pragma once

#include <torch/torch.h>

#include "qbench/quant/int_weight.hpp"
#include "qbench/quant/kernels.hpp"

namespace qbench::quant {

struct RtnOptions {
    int bits = 4;                   // 2, 3, 4 or 8
    std::int64_t group_size = 128;  // -1: per channel; else columns per group (the last may be short)
    bool symmetric = true;
};

// Per group of a row (maxq = 2^bits - 1; scales rounded to float16 before the codes are taken,
// as a float16 checkpoint would store them; a zero scale becomes 1):
//   symmetric:  s = 2 * amax / maxq, zero = 2^(bits-1)              (GPTQ's sym convention)
//   asymmetric: s = (max(xmax, 0) - min(xmin, 0)) / maxq, zero = clamp(round(-min(xmin, 0) / s), 0, maxq)
//   code = clamp(round(w / s) + zero, 0, maxq)   (round half to even)
IntWeight rtn_quantize(const torch::Tensor& weight, const RtnOptions& options);

// W8A8 weights: s = amax / 127 per row (float32), code = clamp(round(w / s), -127, 127) + 128.
IntWeight int8_channel_quantize(const torch::Tensor& weight);

// FP8 e4m3: s = amax / 448 (float32) per tensor or per row, q = float8(clamp(w / s, +-448)).
Fp8Weight fp8_quantize(const torch::Tensor& weight, bool per_channel);

}  // namespace qbench::quant
