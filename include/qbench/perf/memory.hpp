// Memory probes: CUDA caching-allocator peaks and the process's peak resident set.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace qbench::perf {

// Starts a measurement: resets the CUDA allocator's peak counters of `device` and, on Linux, the
// process's resident-set high-water mark (VmHWM, by writing 5 to /proc/self/clear_refs), so the
// peaks cover what runs after this call, not what ran before (an earlier variant, the
// bandwidth probe's buffers). Returns false when the RSS mark could not be reset: the RSS peak
// then is the process's lifetime peak.
bool reset_peak_memory(const torch::Device& device);

struct MemoryPeaks {
    std::int64_t allocated_bytes = -1;  // CUDA: peak bytes in tensors; -1 on a CPU
    std::int64_t reserved_bytes = -1;   // CUDA: peak bytes the caching allocator held
    std::int64_t rss_bytes = -1;        // peak resident set (VmHWM, else getrusage); -1 if unknown
};
MemoryPeaks memory_peaks(const torch::Device& device);

}  // namespace qbench::perf
