// `qbench bench-kernels`: times each quantized Linear kind against the dense matmul in the same
// dtype, at a decode shape (M = 1) and a prefill shape (M = 512). Free of LibTorch types so the
// CLI compiles without LibTorch headers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qbench::quant {

struct BenchKernelsOptions {
    std::string device = "cpu";
    std::string dtype = "bfloat16";           // activations and the dense baseline
    std::int64_t out_features = 4096;         // N
    std::int64_t in_features = 4096;          // K
    std::vector<std::int64_t> batch = {1, 512};  // M values
    int warmup = 3;
    int repetitions = 10;
    int threads = 0;                          // intra-op threads (0: LibTorch's default)
};

struct KernelTiming {
    std::string scheme;        // e.g. "rtn int4 g128"
    std::string kernel;        // the kind that ran ("int4pack_mm_cpu", ...)
    std::int64_t m = 0;
    double dense_us = 0.0;     // median of the repetitions
    double quant_us = 0.0;
    double speedup = 0.0;      // dense_us / quant_us
    std::int64_t weight_bytes = 0;
    std::int64_t dense_weight_bytes = 0;
};

std::vector<KernelTiming> bench_kernels(const BenchKernelsOptions& options);

}  // namespace qbench::quant
