// Memory probes: CUDA caching-allocator peaks and the process's peak resident set.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace qbench::perf {

// Resets the CUDA allocator's peak counters of `device` (nothing on a CPU).
void reset_peak_memory(const torch::Device& device);

struct MemoryPeaks {
    std::int64_t allocated_bytes = -1;  // CUDA: peak bytes in tensors; -1 on a CPU
    std::int64_t reserved_bytes = -1;   // CUDA: peak bytes the caching allocator held
    std::int64_t rss_bytes = -1;        // process peak resident set (getrusage); -1 if unknown
};
MemoryPeaks memory_peaks(const torch::Device& device);

}  // namespace qbench::perf
