// GGUF Q8_0 and Q4_0 Linear weights kept low-bit: their blocks map exactly onto a symmetric,
// group-32 IntWeight, so the quant module's Linear kinds run them (docs/ARCHITECTURE.md, "GGUF").
//
//   Q8_0 block (34 bytes):  fp16 d, int8 q[32]           w = q * d
//                           -> code = q + 128, zero 128    (8-bit symmetric midpoint)
//   Q4_0 block (18 bytes):  fp16 d, uint8 qs[16]         w = d * (nibble - 8); element j is the
//                           low nibble of qs[j], element j + 16 its high nibble
//                           -> code = nibble, zero 8       (4-bit symmetric midpoint)
//
// scale = d (float16, one per 32 inputs). IntWeight's dequantize computes float(d) * (code -
// zero) with an exact integer difference, i.e. the same single float32 product as ggml's
// dequantize_row_q8_0 / _q4_0, so the values are bit-identical to io::dequantize (and gguf-py).
// Every other type (F16, Q4_1, Q5_*, K-quants) is dequantized at load.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "qbench/io/gguf.hpp"
#include "qbench/model/linear.hpp"
#include "qbench/quant/int_weight.hpp"
#include "qbench/quant/kernels.hpp"

namespace qbench::quant {

// Whether tensors of this ggml type can stay low-bit (Q8_0, Q4_0).
bool gguf_keeps_low_bit(io::GgmlType type);

// The blocks of a [rows, cols] Q8_0 / Q4_0 tensor (rows x cols / 32 blocks, file order) as an
// IntWeight: uint8 codes [rows, cols], float16 scales [rows, cols / 32], symmetric, group 32.
// Throws a kBadInput Error for another type or a size mismatch; `what` names the tensor.
IntWeight gguf_int_weight(io::GgmlType type, std::span<const std::uint8_t> blocks, std::int64_t rows,
                          std::int64_t cols, const std::string& what);

// The LinearFactory for a model loaded from a model::GgufWeightSource: a Linear whose weight is
// Q8_0 / Q4_0 becomes an integer Linear (kernel picked by make_int_linear under `choice`, Q/K
// rows un-permuted as GgufWeightSource::load does); every other Linear is dense (dequantized at
// load). With any other WeightSource every Linear is dense.
model::LinearFactory make_gguf_linear_factory(KernelChoice choice = KernelChoice::kAuto);

}  // namespace qbench::quant
