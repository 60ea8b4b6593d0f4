#include "qbench/perf/environment.hpp"

#include <dlfcn.h>
#include <fmt/format.h>

#include "qbench/model/runtime.hpp"
#include "qbench/perf/timer.hpp"
#include "qbench/util/build_info.hpp"

namespace qbench::perf {
namespace {

// The few NVML entry points used, declared here so no NVML header is needed to build.
using nvmlDevice_t = void*;
using NvmlInit = int (*)();
using NvmlHandle = int (*)(unsigned, nvmlDevice_t*);
using NvmlName = int (*)(nvmlDevice_t, char*, unsigned);
using NvmlDriver = int (*)(char*, unsigned);
using NvmlClock = int (*)(nvmlDevice_t, int, unsigned*);
using NvmlTemperature = int (*)(nvmlDevice_t, int, unsigned*);
constexpr int kNvmlClockSm = 1;
constexpr int kNvmlClockMem = 2;
constexpr int kNvmlTemperatureGpu = 0;

struct Nvml {
    void* lib = nullptr;
    NvmlHandle handle = nullptr;
    NvmlName name = nullptr;
    NvmlDriver driver = nullptr;
    NvmlClock clock = nullptr;
    NvmlClock max_clock = nullptr;
    NvmlTemperature temperature = nullptr;

    // Loaded and initialized once per process; null members when the library is absent.
    static const Nvml& get() {
        static const Nvml nvml = [] {
            Nvml n;
            n.lib = dlopen("libnvidia-ml.so.1", RTLD_LAZY | RTLD_LOCAL);
            if (n.lib == nullptr) return n;
            auto init = reinterpret_cast<NvmlInit>(dlsym(n.lib, "nvmlInit_v2"));
            if (init == nullptr || init() != 0) {
                n.lib = nullptr;
                return n;
            }
            n.handle = reinterpret_cast<NvmlHandle>(dlsym(n.lib, "nvmlDeviceGetHandleByIndex_v2"));
            n.name = reinterpret_cast<NvmlName>(dlsym(n.lib, "nvmlDeviceGetName"));
            n.driver = reinterpret_cast<NvmlDriver>(dlsym(n.lib, "nvmlSystemGetDriverVersion"));
            n.clock = reinterpret_cast<NvmlClock>(dlsym(n.lib, "nvmlDeviceGetClockInfo"));
            n.max_clock = reinterpret_cast<NvmlClock>(dlsym(n.lib, "nvmlDeviceGetMaxClockInfo"));
            n.temperature = reinterpret_cast<NvmlTemperature>(dlsym(n.lib, "nvmlDeviceGetTemperature"));
            return n;
        }();
        return nvml;
    }
};

}  // namespace

GpuSample sample_gpu(int index) {
    GpuSample s;
    const Nvml& n = Nvml::get();
    if (n.lib == nullptr || n.handle == nullptr) return s;
    nvmlDevice_t dev = nullptr;
    if (n.handle(static_cast<unsigned>(index), &dev) != 0) return s;
    char buf[128] = {};
    if (n.name != nullptr && n.name(dev, buf, sizeof buf) == 0) s.name = buf;
    if (n.driver != nullptr && n.driver(buf, sizeof buf) == 0) s.driver_version = buf;
    unsigned v = 0;
    if (n.clock != nullptr && n.clock(dev, kNvmlClockSm, &v) == 0) s.sm_clock_mhz = v;
    if (n.clock != nullptr && n.clock(dev, kNvmlClockMem, &v) == 0) s.memory_clock_mhz = v;
    if (n.max_clock != nullptr && n.max_clock(dev, kNvmlClockSm, &v) == 0) s.sm_clock_max_mhz = v;
    if (n.temperature != nullptr && n.temperature(dev, kNvmlTemperatureGpu, &v) == 0) s.temperature_c = v;
    return s;
}

report::EnvironmentResult environment_at_start(const torch::Device& device, std::vector<std::string>& warnings) {
    report::EnvironmentResult e;
    const auto info = model::runtime_info(device);
    e.device = device.str();
    e.timing = timing_method(device);
    e.build_type = build_info().build_type;
    e.cpu_model = cpu_model();
    e.threads = info.threads;
    e.cuda_version = info.cuda_version;
    e.gpu_name = info.gpu_name;
    if (e.build_type == "Debug") warnings.push_back("debug build: timings are not representative");
    if (!device.is_cuda()) return e;
    const auto g = sample_gpu(device.has_index() ? device.index() : 0);
    if (!g.name.empty()) e.gpu_name = g.name;
    e.driver_version = g.driver_version;
    e.sm_clock_mhz_start = g.sm_clock_mhz;
    e.sm_clock_max_mhz = g.sm_clock_max_mhz;
    e.memory_clock_mhz_start = g.memory_clock_mhz;
    e.temperature_c_start = g.temperature_c;
    if (g.name.empty()) warnings.push_back("NVML not available: no GPU clocks or temperature recorded");
    if (g.sm_clock_mhz > 0 && g.sm_clock_max_mhz > 0 && g.sm_clock_mhz < 0.8 * g.sm_clock_max_mhz) {
        warnings.push_back(fmt::format("GPU SM clock at start {} MHz is far under its maximum {} MHz (idle or "
                                       "throttled; consider locking clocks)",
                                       g.sm_clock_mhz, g.sm_clock_max_mhz));
    }
    return e;
}

void environment_at_end(const torch::Device& device, report::EnvironmentResult& e) {
    if (!device.is_cuda()) return;
    const auto g = sample_gpu(device.has_index() ? device.index() : 0);
    e.sm_clock_mhz_end = g.sm_clock_mhz;
    e.temperature_c_end = g.temperature_c;
}

}  // namespace qbench::perf
