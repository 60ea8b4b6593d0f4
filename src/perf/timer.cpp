#include "qbench/perf/timer.hpp"

#include "qbench/model/runtime.hpp"

#ifdef QBENCH_HAS_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAGuard.h>
#endif

namespace qbench::perf {

std::string timing_method(const torch::Device& device) {
    return device.is_cuda() ? "cuda_events" : "steady_clock";
}

struct LapTimer::Events {
#ifdef QBENCH_HAS_CUDA
    std::vector<std::unique_ptr<at::cuda::CUDAEvent>> marks;
#endif
};

LapTimer::LapTimer(const torch::Device& device) : device_(device), events_(std::make_unique<Events>()) {}

LapTimer::~LapTimer() = default;

void LapTimer::mark() {
#ifdef QBENCH_HAS_CUDA
    if (device_.is_cuda()) {
        auto e = std::make_unique<at::cuda::CUDAEvent>(cudaEventDefault);
        e->record();
        events_->marks.push_back(std::move(e));
        return;
    }
#endif
    model::synchronize(device_);
    clock_.push_back(std::chrono::steady_clock::now());
}

std::vector<double> LapTimer::laps_ns() {
    std::vector<double> out;
#ifdef QBENCH_HAS_CUDA
    if (device_.is_cuda()) {
        auto& m = events_->marks;
        if (!m.empty()) m.back()->synchronize();
        for (std::size_t i = 1; i < m.size(); ++i) out.push_back(1e6 * m[i - 1]->elapsed_time(*m[i]));
        m.clear();
        return out;
    }
#endif
    for (std::size_t i = 1; i < clock_.size(); ++i) {
        out.push_back(std::chrono::duration<double, std::nano>(clock_[i] - clock_[i - 1]).count());
    }
    clock_.clear();
    return out;
}

}  // namespace qbench::perf
