// The fused low-bit GEMV kernel (see lowbit_gemv.hpp): three clones of lowbit_gemv_body.inc and
// the run-time choice between them.
#include "qbench/quant/lowbit_gemv.hpp"

#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define QB_LOWBIT_X86_CLONE 1
#endif

namespace qbench::quant {

namespace lowbit_portable {
#include "lowbit_gemv_body.inc"
}  // namespace lowbit_portable

#ifdef QB_LOWBIT_X86_CLONE
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace lowbit_avx2 {
#include "lowbit_gemv_body.inc"
}  // namespace lowbit_avx2
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,fma,prefer-vector-width=512")
namespace lowbit_avx512 {
#include "lowbit_gemv_body.inc"
}  // namespace lowbit_avx512
#pragma GCC pop_options
#endif

namespace {

using RowsFn = void (*)(const LowbitGemvArgs&, std::int64_t, std::int64_t);

std::atomic<int> g_forced{-1};  // -1: best supported; else an index into kIsas

constexpr const char* kIsas[] = {"avx512", "avx2", "portable"};

bool cpu_supports(int isa) {
#ifdef QB_LOWBIT_X86_CLONE
    static const bool avx512 = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    }();
    static const bool avx2 = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }();
    if (isa == 0) return avx512;
    if (isa == 1) return avx2;
#endif
    return isa == 2;
}

int current_isa() {
    const int forced = g_forced.load(std::memory_order_relaxed);
    if (forced >= 0) return forced;
    for (int i = 0; i < 3; ++i) {
        if (cpu_supports(i)) return i;
    }
    return 2;
}

RowsFn rows_fn() {
    switch (current_isa()) {
#ifdef QB_LOWBIT_X86_CLONE
        case 0: return &lowbit_avx512::gemv_rows;
        case 1: return &lowbit_avx2::gemv_rows;
#endif
        default: return &lowbit_portable::gemv_rows;
    }
}

}  // namespace

void lowbit_gemv_cpu(const LowbitGemvArgs& args) {
    const RowsFn fn = rows_fn();
    // At least 128k weights (~20-40 us) per task: smaller layers stay on one thread, where a
    // fork/join costs more than it saves (and far more when the cores are oversubscribed).
    const std::int64_t grain = std::max<std::int64_t>(1, 131072 / std::max<std::int64_t>(1, args.K));
    const std::int64_t out_size = args.out_type == LowbitFloat::kFloat32 ? 4 : 2;
    at::parallel_for(0, args.N, grain, [&](std::int64_t n0, std::int64_t n1) {
        // Up to kLowbitGemvMaxRows activation rows per pass over the weights.
        for (std::int64_t m0 = 0; m0 < args.M; m0 += kLowbitGemvMaxRows) {
            LowbitGemvArgs chunk = args;
            chunk.M = std::min(kLowbitGemvMaxRows, args.M - m0);
            chunk.x = args.x + m0 * args.K;
            chunk.y = static_cast<char*>(args.y) + m0 * args.N * out_size;
            fn(chunk, n0, n1);
        }
    });
}

std::string lowbit_gemv_isa() { return kIsas[current_isa()]; }

bool force_lowbit_gemv_isa(const std::string& isa) {
    if (isa.empty() || isa == "auto") {
        g_forced.store(-1);
        return true;
    }
    for (int i = 0; i < 3; ++i) {
        if (isa == kIsas[i]) {
            if (!cpu_supports(i)) return false;
            g_forced.store(i);
            return true;
        }
    }
    return false;
}

}  // namespace qbench::quant
