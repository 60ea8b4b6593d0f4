// The machine a measurement ran on: GPU name, driver, CUDA version, clocks and temperature
// through NVML when the driver's libnvidia-ml.so.1 can be loaded at run time (no build
// dependency), and the CPU model and threads.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "qbench/report/results.hpp"

namespace qbench::perf {

// GPU readings at one moment; -1 / empty where NVML is absent or does not answer.
struct GpuSample {
    std::string name;
    std::string driver_version;
    std::int64_t sm_clock_mhz = -1;
    std::int64_t sm_clock_max_mhz = -1;
    std::int64_t memory_clock_mhz = -1;
    std::int64_t temperature_c = -1;
};
GpuSample sample_gpu(int index);

// The environment block of a throughput result at the start of a run (clocks and temperature
// "start" fields), with a warning appended to `warnings` when the GPU clock is far (< 80 %)
// under its maximum.
report::EnvironmentResult environment_at_start(const torch::Device& device, std::vector<std::string>& warnings);
// Fills the "end" readings.
void environment_at_end(const torch::Device& device, report::EnvironmentResult& env);

}  // namespace qbench::perf
