// Moves checkpoint bytes into tensors. Metadata (ModelConfig) is read elsewhere; this piece only
// moves bytes: each tensor is read from the mmap and converted straight to the target dtype and
// device, one tensor at a time (never a float32 copy of the whole model).
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>

#include "qbench/io/safetensors.hpp"

namespace qbench::model {

torch::ScalarType to_torch(io::DType dtype);

class WeightLoader {
public:
    explicit WeightLoader(const std::filesystem::path& model_dir);

    bool contains(const std::string& name) const { return ckpt_.contains(name); }
    // The tensor `name` with its stored dtype, copied to `device` (no conversion).
    torch::Tensor raw(const std::string& name, const torch::Device& device) const;
    // The tensor converted to `dtype` on `device`; checks the shape when `shape` is non-empty.
    torch::Tensor load(const std::string& name, torch::ScalarType dtype, const torch::Device& device,
                       const std::vector<std::int64_t>& shape = {}) const;
    const io::SafetensorsCheckpoint& checkpoint() const { return ckpt_; }

private:
    io::SafetensorsCheckpoint ckpt_;
};

}  // namespace qbench::model
