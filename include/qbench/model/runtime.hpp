// Devices, dtypes and LibTorch facts for the report's context block.
#pragma once

#include <c10/util/Exception.h>
#include <torch/torch.h>

#include <string>
#include <string_view>
#include <utility>

#include "qbench/util/error.hpp"

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

// Runs `f`, turning LibTorch exceptions into qbench::Error (kRuntime) that name `what`, so no
// c10::Error reaches the command line: out of memory -> "WHAT: out of memory on DEVICE".
template <typename F>
auto guard_torch(std::string_view what, F&& f) -> decltype(f()) {
    try {
        return std::forward<F>(f)();
    } catch (const c10::OutOfMemoryError& e) {
        throw_runtime("{}: out of memory ({})", what, e.what_without_backtrace());
    } catch (const c10::Error& e) {
        std::string msg = e.what_without_backtrace();
        if (auto nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
        throw_runtime("{}: LibTorch error: {}", what, msg);
    }
}

}  // namespace qbench::model
