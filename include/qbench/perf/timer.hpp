// Timing of device work (DESIGN.md "Throughput"): CUDA events on a GPU, which time the work on
// the device without host overhead; a steady clock read after a device synchronize on a CPU.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace qbench::perf {

// "cuda_events" on a CUDA device, else "steady_clock".
std::string timing_method(const torch::Device& device);

// Marks points in the stream of work queued on a device; laps are the gaps between consecutive
// marks. On a GPU a mark records an event (no synchronize: queued work keeps flowing); on a CPU
// it synchronizes and reads the clock.
class LapTimer {
public:
    explicit LapTimer(const torch::Device& device);
    ~LapTimer();
    LapTimer(const LapTimer&) = delete;
    LapTimer& operator=(const LapTimer&) = delete;

    void mark();
    // Synchronizes and returns the laps in nanoseconds (marks - 1 of them); clears the marks.
    std::vector<double> laps_ns();

private:
    struct Events;
    torch::Device device_;
    std::vector<std::chrono::steady_clock::time_point> clock_;
    std::unique_ptr<Events> events_;
};

// Host seconds since `start`.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace qbench::perf
