// The compute dtype a model runs in when the user names none: what the device runs fast,
// combined with what the architecture's reference implementation tolerates (docs/ARCHITECTURE.md,
// "Configuration", compute dtype). Pure decisions over plain facts, so every (device, CPU
// features, architecture) case is testable without that hardware; `probe_device` reads the facts
// of this machine.
#pragma once

#include <string>
#include <string_view>

namespace qbench::model {

// CPU instructions that make bfloat16 matmuls fast (oneDNN's bf16 GEMM): AVX512_BF16 dot
// products (vdpbf16ps) or AMX tiles with bf16.
struct CpuFeatures {
    bool avx512_bf16 = false;
    bool amx_bf16 = false;
};

// The flags of /proc/cpuinfo's first "flags" line ("avx512_bf16", "amx_bf16"); no flags line: none.
CpuFeatures cpu_features_from_cpuinfo(std::string_view cpuinfo);
// This machine's (read once from /proc/cpuinfo; none where it cannot be read).
CpuFeatures host_cpu_features();

struct DeviceFacts {
    bool cuda = false;
    int sm_major = 0;  // CUDA compute capability (cuda only)
    int sm_minor = 0;
    CpuFeatures cpu;   // cpu only
};

// "cpu" | "cuda" | "cuda:N" (already validated) -> the facts of that device on this machine.
DeviceFacts probe_device(const std::string& device);

struct DtypeChoice {
    std::string dtype;   // float32 | float16 | bfloat16
    std::string reason;  // "default for cpu with avx512_bf16", "gemma3: float16 overflows ...", "requested"
};

// Architectures whose activations overflow float16 (their reference runs bfloat16 or float32):
// Gemma 2 and 3, by HF architecture or model_type ("Gemma3ForCausalLM", "gemma3_text", "gemma2").
// Returns the short name ("gemma3") or "" for the others.
std::string float16_overflowing_family(std::string_view architecture, std::string_view model_type);

// The default: CPU bfloat16 with avx512_bf16 or amx_bf16, else float32; CUDA bfloat16 on sm80+,
// else float16, except float32 for an architecture that overflows float16.
DtypeChoice default_compute_dtype(const DeviceFacts& device, std::string_view architecture,
                                  std::string_view model_type);

// `requested` (non-empty: the user's, reason "requested"; a float16 request on an overflowing
// architecture is kept, with a warning on stderr) or the default.
DtypeChoice choose_compute_dtype(const std::string& requested, const DeviceFacts& device,
                                 std::string_view architecture, std::string_view model_type);

}  // namespace qbench::model
