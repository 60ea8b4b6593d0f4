#include "qbench/model/weights.hpp"

#include <fmt/ranges.h>

#include "qbench/util/error.hpp"

namespace qbench::model {

torch::ScalarType to_torch(io::DType dtype) {
    switch (dtype) {
        case io::DType::kBool: return torch::kBool;
        case io::DType::kU8: return torch::kUInt8;
        case io::DType::kI8: return torch::kInt8;
        case io::DType::kU16: return torch::kUInt16;
        case io::DType::kI16: return torch::kInt16;
        case io::DType::kU32: return torch::kUInt32;
        case io::DType::kI32: return torch::kInt32;
        case io::DType::kU64: return torch::kUInt64;
        case io::DType::kI64: return torch::kInt64;
        case io::DType::kF16: return torch::kFloat16;
        case io::DType::kBF16: return torch::kBFloat16;
        case io::DType::kF32: return torch::kFloat32;
        case io::DType::kF64: return torch::kFloat64;
        case io::DType::kF8E4M3: return torch::kFloat8_e4m3fn;
        case io::DType::kF8E5M2: return torch::kFloat8_e5m2;
    }
    return torch::kFloat32;
}

WeightLoader::WeightLoader(const std::filesystem::path& model_dir)
    : ckpt_(io::SafetensorsCheckpoint::open(model_dir)) {}

torch::Tensor WeightLoader::raw(const std::string& name, const torch::Device& device) const {
    const auto& info = ckpt_.info(name);
    auto bytes = ckpt_.data(name);
    auto view = torch::from_blob(const_cast<std::uint8_t*>(bytes.data()), info.shape,
                                 torch::TensorOptions().dtype(to_torch(info.dtype)));
    return view.to(device, view.scalar_type(), /*non_blocking=*/false, /*copy=*/true);
}

torch::Tensor WeightLoader::load(const std::string& name, torch::ScalarType dtype,
                                 const torch::Device& device,
                                 const std::vector<std::int64_t>& shape) const {
    const auto& info = ckpt_.info(name);
    if (!shape.empty() && info.shape != shape) {
        throw_bad_input("{}: tensor '{}' has shape [{}], expected [{}]", ckpt_.root().string(), name,
                        fmt::join(info.shape, ", "), fmt::join(shape, ", "));
    }
    if (!io::is_floating(info.dtype)) {
        throw_bad_input("{}: tensor '{}' has dtype {}, expected a floating type", ckpt_.root().string(),
                        name, io::dtype_name(info.dtype));
    }
    auto bytes = ckpt_.data(name);
    auto view = torch::from_blob(const_cast<std::uint8_t*>(bytes.data()), info.shape,
                                 torch::TensorOptions().dtype(to_torch(info.dtype)));
    // Convert on the host only when staying on the host; otherwise move the stored bytes first
    // and convert on the device (cheaper transfer, no host-side copy in the target dtype).
    if (device.is_cpu()) return view.to(dtype, /*non_blocking=*/false, /*copy=*/true);
    return view.to(device, view.scalar_type(), false, true).to(dtype);
}

}  // namespace qbench::model
