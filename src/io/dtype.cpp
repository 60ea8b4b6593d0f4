#include "qbench/io/dtype.hpp"

#include <array>
#include <utility>

namespace qbench::io {
namespace {

struct DTypeRow {
    DType dtype;
    std::string_view name;
    std::size_t size;
};

constexpr std::array<DTypeRow, 15> kDTypes{{
    {DType::kBool, "BOOL", 1}, {DType::kU8, "U8", 1},     {DType::kI8, "I8", 1},
    {DType::kU16, "U16", 2},   {DType::kI16, "I16", 2},   {DType::kU32, "U32", 4},
    {DType::kI32, "I32", 4},   {DType::kU64, "U64", 8},   {DType::kI64, "I64", 8},
    {DType::kF16, "F16", 2},   {DType::kBF16, "BF16", 2}, {DType::kF32, "F32", 4},
    {DType::kF64, "F64", 8},   {DType::kF8E4M3, "F8_E4M3", 1}, {DType::kF8E5M2, "F8_E5M2", 1},
}};

const DTypeRow& row(DType dtype) {
    for (const auto& r : kDTypes) {
        if (r.dtype == dtype) return r;
    }
    return kDTypes[0];
}

}  // namespace

std::optional<DType> dtype_from_safetensors(std::string_view name) {
    for (const auto& r : kDTypes) {
        if (r.name == name) return r.dtype;
    }
    return std::nullopt;
}

std::string_view dtype_name(DType dtype) { return row(dtype).name; }
std::size_t dtype_size(DType dtype) { return row(dtype).size; }

bool is_floating(DType dtype) {
    switch (dtype) {
        case DType::kF16: case DType::kBF16: case DType::kF32: case DType::kF64:
        case DType::kF8E4M3: case DType::kF8E5M2:
            return true;
        default:
            return false;
    }
}

}  // namespace qbench::io
