#include "qbench/model/compute_dtype.hpp"


#include <fstream>
#include <sstream>

#include "qbench/util/log.hpp"

#ifdef QBENCH_HAS_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

namespace qbench::model {

CpuFeatures cpu_features_from_cpuinfo(std::string_view cpuinfo) {
    CpuFeatures f;
    std::size_t at = 0;
    while (at < cpuinfo.size()) {
        std::size_t end = cpuinfo.find('\n', at);
        if (end == std::string_view::npos) end = cpuinfo.size();
        const std::string_view line = cpuinfo.substr(at, end - at);
        at = end + 1;
        if (line.rfind("flags", 0) != 0) continue;
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::istringstream words{std::string(line.substr(colon + 1))};
        for (std::string w; words >> w;) {
            if (w == "avx512_bf16") f.avx512_bf16 = true;
            if (w == "amx_bf16") f.amx_bf16 = true;
        }
        break;  // every core reports the same flags
    }
    return f;
}

CpuFeatures host_cpu_features() {
    static const CpuFeatures features = [] {
        std::ifstream in("/proc/cpuinfo");
        if (!in) return CpuFeatures{};
        std::ostringstream text;
        text << in.rdbuf();
        return cpu_features_from_cpuinfo(text.str());
    }();
    return features;
}

DeviceFacts probe_device(const std::string& device) {
    DeviceFacts d;
    if (device.rfind("cuda", 0) != 0) {
        d.cpu = host_cpu_features();
        return d;
    }
    d.cuda = true;
#ifdef QBENCH_HAS_CUDA
    const int index = device.size() > 5 ? std::stoi(device.substr(5)) : 0;
    const auto* props = at::cuda::getDeviceProperties(index);
    d.sm_major = props->major;
    d.sm_minor = props->minor;
#endif
    return d;
}

std::string float16_overflowing_family(std::string_view architecture, std::string_view model_type) {
    for (const char* family : {"gemma2", "gemma3"}) {
        const std::string_view f = family;
        if (model_type.rfind(f, 0) == 0) return std::string(f);
        // "Gemma2ForCausalLM", "Gemma3ForCausalLM", "Gemma3ForConditionalGeneration"
        const std::string cap = "Gemma" + std::string(f.substr(5));
        if (architecture.rfind(cap, 0) == 0) return std::string(f);
    }
    return "";
}

DtypeChoice default_compute_dtype(const DeviceFacts& d, std::string_view architecture, std::string_view model_type) {
    const std::string family = float16_overflowing_family(architecture, model_type);
    if (!d.cuda) {
        if (d.cpu.amx_bf16) return {"bfloat16", "default for cpu with amx_bf16"};
        if (d.cpu.avx512_bf16) return {"bfloat16", "default for cpu with avx512_bf16"};
        return {"float32", "default for cpu without avx512_bf16 or amx_bf16 (bfloat16 would be emulated)"};
    }
    const std::string sm = "sm" + std::to_string(d.sm_major) + std::to_string(d.sm_minor);
    if (d.sm_major >= 8) return {"bfloat16", "default for cuda " + sm};
    if (!family.empty()) {
        return {"float32", family + ": float16 overflows, and cuda " + sm + " has no fast bfloat16"};
    }
    return {"float16", "default for cuda " + sm + " (no fast bfloat16 before sm80)"};
}

DtypeChoice choose_compute_dtype(const std::string& requested, const DeviceFacts& device,
                                 std::string_view architecture, std::string_view model_type) {
    if (requested.empty()) return default_compute_dtype(device, architecture, model_type);
    const std::string family = float16_overflowing_family(architecture, model_type);
    if (!family.empty() && (requested == "float16" || requested == "fp16" || requested == "half")) {
        log::warn("{} in float16: its activations overflow float16 (past 65504), expect inf/NaN; its reference "
                  "runs bfloat16 or float32 (the default without --dtype)",
                  family);
    }
    return {requested, "requested"};
}

}  // namespace qbench::model
