// The FP8 Linear kinds (see kernels.hpp for the selection rules).
#include <ATen/ATen.h>

#include "qbench/quant/kernels.hpp"
#include "qbench/util/error.hpp"

namespace qbench::quant {
namespace {

std::int64_t nbytes(const torch::Tensor& t) {
    return t.defined() ? t.numel() * static_cast<std::int64_t>(t.element_size()) : 0;
}

enum class ScaleKind { kTensor, kChannel, kBlock };

ScaleKind scale_kind(const Fp8Weight& w) {
    if (!w.block.empty()) return ScaleKind::kBlock;
    return w.scale.numel() == 1 ? ScaleKind::kTensor : ScaleKind::kChannel;
}

class Fp8Linear final : public model::Linear {
public:
    Fp8Linear(const Fp8Weight& w, const torch::Tensor& bias, const model::LinearSpec& spec, ActQuant act,
              bool scaled_mm)
        : K_(w.weight.size(1)), N_(w.weight.size(0)), act_(act), scaled_mm_(scaled_mm), block_(w.block) {
        weight_ = w.weight.to(spec.device).contiguous();
        scale_ = w.scale.to(spec.device, torch::kFloat32);
        if (w.input_scale.defined()) input_scale_ = w.input_scale.to(spec.device, torch::kFloat32).reshape({1});
        if (bias.defined()) bias_ = bias.to(spec.device, spec.dtype);
        if (scaled_mm_) {
            // Row-wise scale of the weight as _scaled_mm wants it: float32 [1, N].
            scale_b_ = (scale_.numel() == 1 ? scale_.reshape({1, 1}).expand({1, N_}) : scale_.reshape({1, N_}))
                           .contiguous();
        }
    }

    torch::Tensor forward(const torch::Tensor& x) const override {
        auto shape = x.sizes().vec();
        shape.back() = N_;
        const auto x2 = x.reshape({-1, K_});
        torch::Tensor y;
        if (scaled_mm_) {
            const auto xf = x2.to(torch::kFloat32);
            torch::Tensor sx;
            if (act_ == ActQuant::kFp8Static) {
                sx = input_scale_.reshape({1, 1}).expand({xf.size(0), 1}).contiguous();
            } else if (act_ == ActQuant::kFp8Tensor) {
                sx = (xf.abs().max().clamp_min(1e-12) / 448.0).reshape({1, 1}).expand({xf.size(0), 1}).contiguous();
            } else {
                sx = xf.abs().amax(1, /*keepdim=*/true).clamp_min(1e-12) / 448.0;
            }
            const auto xq = (xf / sx).clamp(-448.0, 448.0).to(torch::kFloat8_e4m3fn);
            y = at::_scaled_mm(xq, weight_.t(), sx, scale_b_, std::nullopt, std::nullopt, x.scalar_type());
        } else {
            const auto w = dequantized_weight();
            if (act_ == ActQuant::kNone) {
                y = torch::nn::functional::linear(x2, w.to(x.scalar_type()));
            } else {
                y = torch::nn::functional::linear(fake_quant_activation(x2, act_, input_scale_), w)
                        .to(x.scalar_type());
            }
        }
        if (bias_.defined()) y = y + bias_;
        return y.reshape(shape);
    }
    std::int64_t weight_bytes() const override {
        return nbytes(weight_) + nbytes(scale_) + nbytes(input_scale_) + nbytes(bias_);
    }
    std::string kernel() const override { return scaled_mm_ ? "scaled_mm" : "dequant_matmul"; }
    torch::Tensor dequantized_weight() const override {
        Fp8Weight w{weight_, scale_, block_, input_scale_};
        return dequantize(w);
    }

private:
    std::int64_t K_, N_;
    ActQuant act_;
    bool scaled_mm_;
    std::vector<std::int64_t> block_;
    torch::Tensor weight_, scale_, scale_b_, input_scale_, bias_;
};

}  // namespace

torch::Tensor dequantize(const Fp8Weight& w) {
    const auto N = w.weight.size(0), K = w.weight.size(1);
    const auto q = w.weight.to(torch::kFloat32);
    const auto s = w.scale.to(w.weight.device(), torch::kFloat32);
    switch (scale_kind(w)) {
        case ScaleKind::kTensor: return q * s.reshape({1, 1});
        case ScaleKind::kChannel: return q * s.reshape({N, 1});
        case ScaleKind::kBlock: {
            const auto full = s.repeat_interleave(w.block[0], 0).repeat_interleave(w.block[1], 1);
            return q * full.slice(0, 0, N).slice(1, 0, K);
        }
    }
    return q;
}

std::unique_ptr<model::Linear> make_fp8_linear(const Fp8Weight& w, const torch::Tensor& bias,
                                               const model::LinearSpec& spec, ActQuant act, KernelChoice choice) {
    if (w.weight.dim() != 2 || w.weight.scalar_type() != torch::kFloat8_e4m3fn) {
        throw_bad_input("{}: FP8 weight must be float8_e4m3fn [N, K]", spec.name);
    }
    const auto N = w.weight.size(0), K = w.weight.size(1);
    if (N != spec.out_features || K != spec.in_features) {
        throw_bad_input("{}: FP8 weight is [{}, {}], expected [{}, {}]", spec.name, N, K, spec.out_features,
                        spec.in_features);
    }
    const auto kind = scale_kind(w);
    if (kind == ScaleKind::kBlock) {
        if (w.block.size() != 2 || w.block[0] <= 0 || w.block[1] <= 0) {
            throw_bad_input("{}: weight block size must be two positive integers", spec.name);
        }
        const auto rows = (N + w.block[0] - 1) / w.block[0], cols = (K + w.block[1] - 1) / w.block[1];
        if (w.scale.dim() != 2 || w.scale.size(0) != rows || w.scale.size(1) != cols) {
            throw_bad_input("{}: block scales must be [{}, {}] for blocks [{}, {}]", spec.name, rows, cols,
                            w.block[0], w.block[1]);
        }
    } else if (kind == ScaleKind::kChannel && w.scale.numel() != N) {
        throw_bad_input("{}: FP8 weight scale has {} values, expected 1 or {}", spec.name, w.scale.numel(), N);
    }
    if (act == ActQuant::kFp8Static && (!w.input_scale.defined() || w.input_scale.numel() != 1)) {
        throw_bad_input("{}: static FP8 activations need one input_scale", spec.name);
    }
    const bool fast = choice != KernelChoice::kDequant && kind != ScaleKind::kBlock &&
                      (act == ActQuant::kFp8Token || act == ActQuant::kFp8Tensor || act == ActQuant::kFp8Static) && K % 16 == 0 && N % 16 == 0 &&
                      op_available("scaled_mm", spec.device, spec.dtype);
    return std::make_unique<Fp8Linear>(w, bias, spec, act, fast);
}

}  // namespace qbench::quant
