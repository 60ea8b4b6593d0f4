// The one logical form every integer-quantized weight is brought to, whatever its checkpoint
// format (GPTQ, AWQ, compressed-tensors) or run-time quantizer (RTN):
//
//   W[n, k] = scale[n, g(k)] * (code[n, k] - zero[n, g(k)])
//
// with unsigned codes 0 .. 2^bits - 1, integer zero points in the same unsigned domain, and g(k)
// = g_idx[k] when the checkpoint has a non-trivial g_idx (GPTQ act-order), else k / group_size.
// Formats only unpack into this form; the kernels (int_linear.hpp) decide how to hold and run it.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace qbench::quant {

struct IntWeight {
    int bits = 4;
    std::int64_t group_size = -1;  // -1: one group per output row (per channel)
    torch::Tensor codes;           // uint8 [N, K], values 0 .. 2^bits - 1 (transient, at load)
    torch::Tensor scales;          // [N, G] floating, in the dtype the checkpoint stores them
    torch::Tensor zeros;           // uint8 [N, G]; undefined: symmetric, zero = 2^(bits - 1)
    torch::Tensor g_idx;           // int64 [K]; undefined: k / group_size

    std::int64_t out_features() const { return codes.size(0); }
    std::int64_t in_features() const { return codes.size(1); }
    std::int64_t groups() const { return scales.size(1); }
};

// The group of every input column: g_idx, or k / group_size (0 for per-channel), int64 [K].
torch::Tensor group_index(const IntWeight& w);
// g_idx is absent or equal to k / group_size.
bool has_trivial_groups(const IntWeight& w);
// Zero points as float32 [N, G] (the symmetric midpoint when `zeros` is undefined).
torch::Tensor zero_points(const IntWeight& w);
// The float32 weight [N, K]: float32(scale) * (code - zero), one rounding per element.
torch::Tensor dequantize(const IntWeight& w);
// Checks shapes and ranges; `what` names the layer in errors (kBadInput).
void validate(const IntWeight& w, const std::string& what);

// Dense little-endian bit streams: row r of `codes` (uint8 [R, L], values < 2^bits) becomes
// ceil(L * bits / 8) bytes where element i occupies bits [i*bits, (i+1)*bits) of the row's
// stream, least significant bit first. For 2, 4 and 8 bits this is the usual "values per byte,
// LSB first" packing; GPTQ's int32 words (any of 2/3/4/8 bits) and compressed-tensors'
// pack-quantized rows are such streams when read as little-endian bytes.
torch::Tensor pack_bits(const torch::Tensor& codes, int bits);
// Inverse of pack_bits: uint8 [R, bytes] -> uint8 [R, length]. Runs on any device.
torch::Tensor unpack_bits(const torch::Tensor& packed, int bits, std::int64_t length);
// The bytes of int32 words in memory order (little-endian): int32 [R, C] -> uint8 [R, 4C].
torch::Tensor int32_words_as_bytes(const torch::Tensor& words);

}  // namespace qbench::quant
