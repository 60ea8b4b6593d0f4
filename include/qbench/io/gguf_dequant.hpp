// Dequantization of ggml block formats to float32, reproducing ggml's dequantize_row_* (and the
// `gguf` Python package's dequantize) bit for bit: each value is computed with the same float32
// operations in the same order. Layouts: reference/quant-formats.md §5.
#pragma once

#include <cstdint>
#include <span>

#include "qbench/io/gguf.hpp"

namespace qbench::io {

// IEEE half / bfloat16 bits -> float (exact).
float fp16_to_float(std::uint16_t h);
float bf16_to_float(std::uint16_t h);

// Whether dequantize() handles the type: F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K
// Q5_K Q6_K.
bool can_dequantize(GgmlType type);

// Decodes dst.size() elements (a multiple of the type's block size) from `src`, which must hold
// exactly dst.size() / block_size blocks. Throws a kBadInput Error for an unsupported type or a
// size mismatch.
void dequantize(GgmlType type, std::span<const std::uint8_t> src, std::span<float> dst);

}  // namespace qbench::io
