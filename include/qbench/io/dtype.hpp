// Element types of checkpoint tensors, as named by safetensors (and mapped from GGUF later).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace qbench::io {

enum class DType {
    kBool, kU8, kI8, kU16, kI16, kU32, kI32, kU64, kI64,
    kF16, kBF16, kF32, kF64, kF8E4M3, kF8E5M2,
};

// safetensors dtype string ("F16", "F8_E4M3", ...) -> DType; nullopt when not supported.
std::optional<DType> dtype_from_safetensors(std::string_view name);
std::string_view dtype_name(DType dtype);
std::size_t dtype_size(DType dtype);  // bytes per element
bool is_floating(DType dtype);

}  // namespace qbench::io
