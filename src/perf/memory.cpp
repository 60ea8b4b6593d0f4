#include "qbench/perf/memory.hpp"

#include <sys/resource.h>

#ifdef QBENCH_HAS_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace qbench::perf {

void reset_peak_memory(const torch::Device& device) {
#ifdef QBENCH_HAS_CUDA
    if (device.is_cuda()) {
        c10::cuda::CUDACachingAllocator::resetPeakStats(device.has_index() ? device.index() : 0);
    }
#else
    (void)device;
#endif
}

MemoryPeaks memory_peaks(const torch::Device& device) {
    MemoryPeaks m;
#ifdef QBENCH_HAS_CUDA
    if (device.is_cuda()) {
        const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.has_index() ? device.index() : 0);
        m.allocated_bytes = stats.allocated_bytes[0].peak;  // [0]: StatType::AGGREGATE
        m.reserved_bytes = stats.reserved_bytes[0].peak;
    }
#else
    (void)device;
#endif
    rusage usage{};
    if (getrusage(RUSAGE_SELF, &usage) == 0) m.rss_bytes = static_cast<std::int64_t>(usage.ru_maxrss) * 1024;  // Linux: KiB
    return m;
}

}  // namespace qbench::perf
