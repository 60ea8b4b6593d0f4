#include "qbench/perf/memory.hpp"

#include <sys/resource.h>

#include <fstream>
#include <string>

#ifdef QBENCH_HAS_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace qbench::perf {
namespace {

// VmHWM of /proc/self/status in bytes, or -1 where there is none.
std::int64_t vm_hwm_bytes() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmHWM:", 0) == 0) {
            try {
                return std::stoll(line.substr(6)) * 1024;  // "VmHWM:   123456 kB"
            } catch (const std::exception&) {
                return -1;
            }
        }
    }
    return -1;
}

}  // namespace

bool reset_peak_memory(const torch::Device& device) {
#ifdef QBENCH_HAS_CUDA
    if (device.is_cuda()) {
        c10::cuda::CUDACachingAllocator::resetPeakStats(device.has_index() ? device.index() : 0);
    }
#else
    (void)device;
#endif
    // "5" resets the peak RSS to the current RSS (Linux >= 4.0).
    std::ofstream clear("/proc/self/clear_refs");
    if (!clear) return false;
    clear << "5";
    clear.flush();
    return static_cast<bool>(clear);
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
    m.rss_bytes = vm_hwm_bytes();
    if (m.rss_bytes < 0) {
        rusage usage{};
        if (getrusage(RUSAGE_SELF, &usage) == 0) m.rss_bytes = static_cast<std::int64_t>(usage.ru_maxrss) * 1024;  // KiB
    }
    return m;
}

}  // namespace qbench::perf
