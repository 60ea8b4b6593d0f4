// Moves checkpoint bytes into tensors. Metadata (ModelConfig) is read elsewhere; a WeightSource
// only moves bytes: each tensor is read from its file and converted straight to the target dtype
// and device, one tensor at a time (never a float32 copy of the whole model).
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "qbench/io/safetensors.hpp"

namespace qbench::model {

torch::ScalarType to_torch(io::DType dtype);

// Named tensors of a checkpoint, whatever its format.
class WeightSource {
public:
    virtual ~WeightSource() = default;
    virtual bool contains(const std::string& name) const = 0;
    virtual std::vector<std::int64_t> shape(const std::string& name) const = 0;
    // The tensor as stored (its own dtype), copied to `device`.
    virtual torch::Tensor raw(const std::string& name, const torch::Device& device) const = 0;
    // The tensor as floating-point values in `dtype` on `device` (dequantized when the format
    // stores it quantized); checks the shape when `shape` is non-empty.
    virtual torch::Tensor load(const std::string& name, torch::ScalarType dtype, const torch::Device& device,
                               const std::vector<std::int64_t>& shape = {}) const = 0;
    // The file or directory, for error messages.
    virtual std::string describe() const = 0;
    // Bytes of every tensor as stored.
    virtual std::int64_t stored_bytes() const = 0;
};

// An HF safetensors checkpoint (single file, directory, or sharded directory).
class WeightLoader final : public WeightSource {
public:
    explicit WeightLoader(const std::filesystem::path& model_dir);

    bool contains(const std::string& name) const override { return ckpt_.contains(name); }
    std::vector<std::int64_t> shape(const std::string& name) const override { return ckpt_.info(name).shape; }
    torch::Tensor raw(const std::string& name, const torch::Device& device) const override;
    torch::Tensor load(const std::string& name, torch::ScalarType dtype, const torch::Device& device,
                       const std::vector<std::int64_t>& shape = {}) const override;
    std::string describe() const override { return ckpt_.root().string(); }
    std::int64_t stored_bytes() const override { return static_cast<std::int64_t>(ckpt_.total_bytes()); }
    const io::SafetensorsCheckpoint& checkpoint() const { return ckpt_; }

private:
    io::SafetensorsCheckpoint ckpt_;
};

}  // namespace qbench::model
