#include "qbench/model/runtime.hpp"

#include <ATen/Parallel.h>
#include <torch/version.h>

#include "qbench/util/error.hpp"

#ifdef QBENCH_HAS_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <cuda_runtime_api.h>
#endif

namespace qbench::model {

torch::Device parse_device(const std::string& spec) {
    if (spec == "cpu") return torch::Device(torch::kCPU);
    if (spec == "cuda" || spec.rfind("cuda:", 0) == 0) {
        int index = 0;
        if (spec.size() > 5) {
            try {
                std::size_t used = 0;
                index = std::stoi(spec.substr(5), &used);
                if (used != spec.size() - 5 || index < 0) throw std::invalid_argument("index");
            } catch (const std::exception&) {
                throw_bad_input("device '{}': expected cpu, cuda or cuda:N", spec);
            }
        }
        if (!torch::cuda::is_available()) {
            throw_bad_input("device '{}': CUDA is not available (this build or machine has no GPU)", spec);
        }
        if (index >= static_cast<int>(torch::cuda::device_count())) {
            throw_bad_input("device '{}': only {} CUDA device(s) present", spec, torch::cuda::device_count());
        }
        return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
    }
    throw_bad_input("device '{}': expected cpu, cuda or cuda:N", spec);
}

torch::ScalarType parse_dtype(const std::string& name) {
    if (name == "float32" || name == "fp32") return torch::kFloat32;
    if (name == "float16" || name == "fp16" || name == "half") return torch::kFloat16;
    if (name == "bfloat16" || name == "bf16") return torch::kBFloat16;
    throw_bad_input("dtype '{}': expected float32, float16 or bfloat16", name);
}

std::string dtype_name(torch::ScalarType dtype) {
    switch (dtype) {
        case torch::kFloat32: return "float32";
        case torch::kFloat16: return "float16";
        case torch::kBFloat16: return "bfloat16";
        case torch::kFloat64: return "float64";
        default: return std::string(c10::toString(dtype));
    }
}

RuntimeInfo runtime_info(const torch::Device& device) {
    RuntimeInfo info;
    info.libtorch_version = TORCH_VERSION;
    info.threads = at::get_num_threads();
#ifdef QBENCH_HAS_CUDA
    int runtime = 0;
    if (cudaRuntimeGetVersion(&runtime) == cudaSuccess) {
        info.cuda_version = std::to_string(runtime / 1000) + "." + std::to_string((runtime % 1000) / 10);
    }
    if (device.is_cuda()) {
        const auto* props = at::cuda::getDeviceProperties(device.index() < 0 ? 0 : device.index());
        info.gpu_name = props->name;
    }
#endif
    return info;
}

void set_threads(int threads) {
    if (threads < 0) throw_bad_input("threads must be at least 0 (0: LibTorch's default), got {}", threads);
    if (threads > 0) at::set_num_threads(threads);
}

void synchronize(const torch::Device& device) {
#ifdef QBENCH_HAS_CUDA
    if (device.is_cuda()) torch::cuda::synchronize(device.index());
#endif
}

}  // namespace qbench::model
