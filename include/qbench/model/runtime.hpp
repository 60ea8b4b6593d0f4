// Devices, dtypes and LibTorch facts for the report's context block.
#pragma once

#include <torch/torch.h>

#include <string>

namespace qbench::model {

// "cpu", "cuda", "cuda:1" -> torch::Device; kBadInput for anything else or a missing GPU.
torch::Device parse_device(const std::string& spec);
// "float32" | "float16" | "bfloat16" (also "fp32", "fp16", "bf16") -> dtype; kBadInput otherwise.
torch::ScalarType parse_dtype(const std::string& name);
std::string dtype_name(torch::ScalarType dtype);

struct RuntimeInfo {
    std::string libtorch_version;
    std::string cuda_version;  // empty without CUDA
    std::string gpu_name;      // empty without a GPU in use
    int threads = 0;           // intra-op threads
};
RuntimeInfo runtime_info(const torch::Device& device);

// Sets LibTorch's intra-op thread count (0 keeps the default).
void set_threads(int threads);

// Waits for queued work on `device` (CUDA) so that a host clock reads true times.
void synchronize(const torch::Device& device);

}  // namespace qbench::model
