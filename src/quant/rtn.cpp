#include "qbench/quant/rtn.hpp"

#include "qbench/util/error.hpp"

namespace qbench::quant {

IntWeight rtn_quantize(const torch::Tensor& weight, const RtnOptions& o) {
    const auto w = weight.to(torch::kFloat32);
    const auto N = w.size(0), K = w.size(1);
    const std::int64_t gs = o.group_size <= 0 ? K : o.group_size;
    const std::int64_t G = (K + gs - 1) / gs;
    const auto g = torch::constant_pad_nd(w, {0, G * gs - K}).reshape({N, G, gs});
    const double maxq = static_cast<double>((1 << o.bits) - 1);
    auto fp16_scale = [](torch::Tensor s) {
        s = s.to(torch::kFloat16);
        return torch::where(s == 0, torch::ones_like(s), s);
    };
    IntWeight out;
    out.bits = o.bits;
    out.group_size = o.group_size <= 0 ? -1 : o.group_size;
    torch::Tensor zero;
    if (o.symmetric) {
        out.scales = fp16_scale(g.abs().amax(-1) * 2.0 / maxq);
        zero = torch::full({N, G}, static_cast<double>(1 << (o.bits - 1)), w.options());
    } else {
        const auto lo = torch::clamp_max(g.amin(-1), 0.0), hi = torch::clamp_min(g.amax(-1), 0.0);
        out.scales = fp16_scale((hi - lo) / maxq);
        zero = torch::clamp(torch::round(-lo / out.scales.to(torch::kFloat32)), 0.0, maxq);
        out.zeros = zero.to(torch::kUInt8);
    }
    const auto s = out.scales.to(torch::kFloat32).unsqueeze(-1);
    const auto codes = torch::clamp(torch::round(g / s) + zero.unsqueeze(-1), 0.0, maxq);
    out.codes = codes.reshape({N, G * gs}).slice(1, 0, K).to(torch::kUInt8).contiguous();
    return out;
}

IntWeight int8_channel_quantize(const torch::Tensor& weight) {
    const auto w = weight.to(torch::kFloat32);
    auto s = w.abs().amax(1, /*keepdim=*/true) / 127.0;
    s = torch::where(s == 0, torch::ones_like(s), s);
    IntWeight out;
    out.bits = 8;
    out.group_size = -1;
    out.scales = s;
    out.codes = (torch::clamp(torch::round(w / s), -127, 127) + 128).to(torch::kUInt8);
    return out;
}

Fp8Weight fp8_quantize(const torch::Tensor& weight, bool per_channel) {
    const auto w = weight.to(torch::kFloat32);
    auto amax = per_channel ? w.abs().amax(1, /*keepdim=*/true) : w.abs().max().reshape({1, 1});
    auto s = amax / 448.0;
    s = torch::where(s == 0, torch::ones_like(s), s);
    Fp8Weight out;
    out.weight = (w / s).clamp(-448.0, 448.0).to(torch::kFloat8_e4m3fn);
    out.scale = per_channel ? s.reshape({w.size(0)}) : s.reshape({1});
    return out;
}

}  // namespace qbench::quant
