#include "qbench/quant/bench.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "qbench/model/runtime.hpp"
#include "qbench/quant/kernels.hpp"
#include "qbench/quant/rtn.hpp"

namespace qbench::quant {
namespace {

// Writing 256 MiB evicts the layer's weights from every cache level before each timed call (more
// than the L3 a CPU core sees, or a GPU's L2), so a kernel is timed reading its weights from
// memory, as in a model whose layers together exceed the caches. Without it, a 4096 x 4096 int4 or
// int8 weight (8-16 MB) stays in L3 between calls while the float32 one (64 MB) does not.
void evict_caches(const torch::Device& device) {
    static std::map<std::string, torch::Tensor> buffers;
    auto& b = buffers[device.str()];
    if (!b.defined()) b = torch::empty({std::int64_t{256} << 20}, torch::TensorOptions().dtype(torch::kUInt8).device(device));
    b.fill_(static_cast<std::uint8_t>(b.numel() & 0xff));
    model::synchronize(device);
}

double median_us(const std::function<void()>& f, const torch::Device& device, int warmup, int reps) {
    for (int i = 0; i < warmup; ++i) f();
    model::synchronize(device);
    std::vector<double> samples;
    for (int i = 0; i < reps; ++i) {
        evict_caches(device);
        const auto t0 = std::chrono::steady_clock::now();
        f();
        model::synchronize(device);
        samples.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(samples.begin(), samples.end());
    return samples[samples.size() / 2];
}

}  // namespace

std::vector<KernelTiming> bench_kernels(const BenchKernelsOptions& o) {
    return model::guard_torch("bench-kernels", [&] {
        torch::NoGradGuard no_grad;
        model::set_threads(o.threads);
        const auto device = model::parse_device(o.device);
        const auto dtype = model::parse_dtype(o.dtype);
        const auto N = o.out_features, K = o.in_features;
        torch::manual_seed(0);
        const auto w = torch::randn({N, K}) / std::sqrt(static_cast<double>(K));
        const model::LinearSpec spec{"bench", K, N, false, dtype, device};
        const model::DenseLinear dense(w.to(device, dtype), std::nullopt);

        struct Candidate {
            std::string scheme;
            std::unique_ptr<model::Linear> linear;
        };
        std::vector<Candidate> kinds;
        constexpr auto kPacked = KernelChoice::kPacked;
        kinds.push_back({"rtn int4 g128", make_int_linear(rtn_quantize(w, {4, 128, true}), {}, spec, ActQuant::kNone, kPacked)});
        kinds.push_back({"rtn int4 g128 (dequant path)",
                         make_int_linear(rtn_quantize(w, {4, 128, true}), {}, spec, ActQuant::kNone, KernelChoice::kDequant)});
        kinds.push_back({"rtn int8 per-channel",
                         make_int_linear(rtn_quantize(w, {8, -1, true}), {}, spec, ActQuant::kNone, kPacked)});
        kinds.push_back({"rtn int3 g128", make_int_linear(rtn_quantize(w, {3, 128, true}), {}, spec)});
        if (device.is_cpu()) {  // the fused CPU kernel whatever kAuto picks (dequant+matmul above M = 8)
            kinds.push_back({"rtn int4 g128 (fused)", make_lowbit_gemv_linear(rtn_quantize(w, {4, 128, true}), {}, spec)});
            kinds.push_back({"rtn int8 g32 (fused)", make_lowbit_gemv_linear(rtn_quantize(w, {8, 32, true}), {}, spec)});
            kinds.push_back({"rtn int8 g32 (dequant path)", make_int_linear(rtn_quantize(w, {8, 32, true}), {}, spec,
                                                                            ActQuant::kNone, KernelChoice::kDequant)});
            kinds.push_back({"rtn int2 g32 (fused)", make_lowbit_gemv_linear(rtn_quantize(w, {2, 32, true}), {}, spec)});
        }
        kinds.push_back({"w8a8 int8", make_int_linear(int8_channel_quantize(w), {}, spec, ActQuant::kInt8Token)});
        kinds.push_back({"fp8 channel w8a8", make_fp8_linear(fp8_quantize(w, true), {}, spec, ActQuant::kFp8Token)});
        kinds.push_back({"fp8 channel weight-only", make_fp8_linear(fp8_quantize(w, true), {}, spec, ActQuant::kNone)});

        std::vector<KernelTiming> out;
        for (const auto M : o.batch) {
            const auto x = torch::randn({M, K}).to(device, dtype);
            const double dense_us = median_us([&] { dense.forward(x); }, device, o.warmup, o.repetitions);
            for (const auto& c : kinds) {
                KernelTiming t;
                t.scheme = c.scheme;
                t.kernel = c.linear->kernel();
                t.m = M;
                t.dense_us = dense_us;
                t.quant_us = median_us([&] { c.linear->forward(x); }, device, o.warmup, o.repetitions);
                t.speedup = dense_us / t.quant_us;
                t.weight_bytes = c.linear->weight_bytes();
                t.dense_weight_bytes = dense.weight_bytes();
                out.push_back(t);
            }
        }
        return out;
    });
}

}  // namespace qbench::quant
