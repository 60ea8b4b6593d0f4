// The integer Linear kinds (see kernels.hpp for the selection rules) and the op probes.
#include <ATen/ATen.h>

#include <map>
#include <mutex>
#include <numeric>
#include <optional>

#include "qbench/quant/kernels.hpp"
#include "qbench/quant/lowbit_gemv.hpp"
#include "qbench/util/error.hpp"

namespace qbench::quant {
namespace {

std::int64_t nbytes(const torch::Tensor& t) {
    return t.defined() ? t.numel() * static_cast<std::int64_t>(t.element_size()) : 0;
}

torch::Tensor add_bias(torch::Tensor y, const torch::Tensor& bias) {
    return bias.defined() ? y + bias : y;
}

// Flattens x to [M, K] and restores [..., N] afterwards.
template <typename F>
torch::Tensor as_2d(const torch::Tensor& x, std::int64_t K, std::int64_t N, F&& f) {
    auto shape = x.sizes().vec();
    auto y = f(x.reshape({-1, K}));
    shape.back() = N;
    return y.reshape(shape);
}

// An IntWeight over bit-packed codes (unpacked here), for dequantization.
IntWeight unpacked_weight(const torch::Tensor& packed, int bits, std::int64_t group_size, std::int64_t K,
                          const torch::Tensor& scales, const torch::Tensor& zeros) {
    IntWeight w;
    w.bits = bits;
    w.group_size = group_size;
    w.codes = unpack_bits(packed, bits, K);
    w.scales = scales;
    w.zeros = zeros;
    return w;
}

// The reference path: codes stay bit-packed; every forward unpacks and dequantizes.
class DequantLinear final : public model::Linear {
public:
    DequantLinear(const IntWeight& w, const torch::Tensor& bias, const model::LinearSpec& spec, ActQuant act)
        : bits_(w.bits), group_size_(w.group_size), K_(w.in_features()), N_(w.out_features()), act_(act) {
        packed_ = pack_bits(w.codes, w.bits).to(spec.device);
        scales_ = w.scales.to(spec.device);
        if (w.zeros.defined()) zeros_ = w.zeros.to(spec.device, torch::kUInt8);
        if (!has_trivial_groups(w)) g_idx_ = w.g_idx.to(spec.device, torch::kInt32);
        if (bias.defined()) bias_ = bias.to(spec.device, spec.dtype);
    }

    torch::Tensor forward(const torch::Tensor& x) const override {
        const auto w = dequantized_weight();
        if (act_ == ActQuant::kNone) return torch::nn::functional::linear(x, w.to(x.scalar_type()), bias_);
        const auto xf = fake_quant_activation(x, act_, torch::Tensor());
        return add_bias(torch::nn::functional::linear(xf, w).to(x.scalar_type()), bias_);
    }
    std::int64_t weight_bytes() const override {
        return nbytes(packed_) + nbytes(scales_) + nbytes(zeros_) + nbytes(g_idx_) + nbytes(bias_);
    }
    std::string kernel() const override { return "dequant_matmul"; }
    torch::Tensor dequantized_weight() const override {
        IntWeight w = unpacked_weight(packed_, bits_, group_size_, K_, scales_, zeros_);
        if (g_idx_.defined()) w.g_idx = g_idx_.to(torch::kInt64);
        return dequantize(w);
    }

private:
    int bits_;
    std::int64_t group_size_, K_, N_;
    ActQuant act_;
    torch::Tensor packed_, scales_, zeros_, g_idx_, bias_;
};

LowbitFloat lowbit_float(torch::ScalarType t) {
    switch (t) {
        case torch::kFloat32: return LowbitFloat::kFloat32;
        case torch::kBFloat16: return LowbitFloat::kBFloat16;
        case torch::kFloat16: return LowbitFloat::kFloat16;
        default: throw_bad_input("lowbit_gemv_cpu: unsupported dtype {}", c10::toString(t));
    }
}

bool lowbit_float_ok(torch::ScalarType t) {
    return t == torch::kFloat32 || t == torch::kBFloat16 || t == torch::kFloat16;
}

// CPU, weight-only, 2/3/4/8 bits: the fused kernel (lowbit_gemv.hpp) for M <= kLowbitGemvRows,
// the dequant_matmul arithmetic above that. A non-trivial g_idx is sorted away at load: the
// packed columns are permuted so every scale group is a contiguous run, and the activations'
// columns are permuted the same way at run time.
class LowbitGemvLinear final : public model::Linear {
public:
    LowbitGemvLinear(const IntWeight& w, const torch::Tensor& bias, const model::LinearSpec& spec)
        : bits_(w.bits), group_size_(w.group_size), K_(w.in_features()), N_(w.out_features()), G_(w.groups()) {
        auto codes = w.codes;
        if (!has_trivial_groups(w)) {
            const auto g = w.g_idx.to(torch::kInt64).cpu();
            const auto perm = torch::argsort(g, /*stable=*/true);
            codes = codes.index_select(1, perm);
            perm_ = perm;
            const auto sorted = g.index_select(0, perm);
            const auto* sg = sorted.data_ptr<std::int64_t>();
            for (std::int64_t k = 0; k < K_;) {
                std::int64_t e = k;
                while (e < K_ && sg[e] == sg[k]) ++e;
                segments_.push_back({k, e, sg[k]});
                k = e;
            }
        } else if (G_ == 1 || group_size_ <= 0) {
            segments_.push_back({0, K_, 0});  // per channel (or a trivial all-zero g_idx)
        } else {
            for (std::int64_t g = 0; g * group_size_ < K_; ++g) {
                segments_.push_back({g * group_size_, std::min(K_, (g + 1) * group_size_), g});
            }
        }
        packed_ = pack_bits(codes.contiguous(), w.bits).contiguous();
        scales_ = w.scales.contiguous();
        if (!lowbit_float_ok(scales_.scalar_type())) scales_ = scales_.to(torch::kFloat32);
        if (w.zeros.defined()) zeros_ = w.zeros.to(torch::kUInt8).contiguous();
        if (bias.defined()) {
            bias_ = bias.to(spec.device, spec.dtype);
            bias_f32_ = bias_.to(torch::kFloat32).contiguous();
        }
    }

    torch::Tensor forward(const torch::Tensor& x) const override {
        return as_2d(x, K_, N_, [&](torch::Tensor x2) {
            const auto M = x2.size(0);
            if (perm_.defined()) x2 = x2.index_select(1, perm_);
            if (M > kLowbitGemvRows || M == 0 || !x2.device().is_cpu() || !lowbit_float_ok(x2.scalar_type())) {
                // dequant_matmul's arithmetic (on permuted columns when g_idx was sorted).
                return torch::nn::functional::linear(x2, permuted_weight().to(x2.scalar_type()), bias_);
            }
            const auto xf = x2.to(torch::kFloat32).contiguous();
            auto y = torch::empty({M, N_}, x2.options());
            LowbitGemvArgs a;
            a.bits = bits_;
            a.M = M;
            a.N = N_;
            a.K = K_;
            a.packed = packed_.data_ptr<std::uint8_t>();
            a.row_bytes = packed_.size(1);
            a.scales = scales_.data_ptr();
            a.scale_type = lowbit_float(scales_.scalar_type());
            a.zeros = zeros_.defined() ? zeros_.data_ptr<std::uint8_t>() : nullptr;
            a.G = G_;
            a.segments = &segments_;
            a.weight_type = lowbit_float(x2.scalar_type());
            a.x = xf.data_ptr<float>();
            a.bias = bias_f32_.defined() ? bias_f32_.data_ptr<float>() : nullptr;
            a.y = y.data_ptr();
            a.out_type = a.weight_type;
            lowbit_gemv_cpu(a);
            return y;
        });
    }
    std::int64_t weight_bytes() const override {
        // The float32 bias copy the kernel reads is a second tensor for bfloat16/float16 only.
        const bool bias_copy = bias_f32_.defined() && !bias_f32_.is_same(bias_);
        return nbytes(packed_) + nbytes(scales_) + nbytes(zeros_) + nbytes(perm_) + nbytes(bias_) +
               (bias_copy ? nbytes(bias_f32_) : 0);
    }
    std::string kernel() const override { return "lowbit_gemv_cpu"; }
    torch::Tensor dequantized_weight() const override {
        auto w = permuted_weight();
        if (perm_.defined()) w = w.index_select(1, torch::argsort(perm_));
        return w;
    }

private:
    // The float32 weight with columns in packed (sorted) order.
    torch::Tensor permuted_weight() const {
        IntWeight w = unpacked_weight(packed_, bits_, group_size_, K_, scales_, zeros_);
        if (perm_.defined()) {
            auto g = torch::empty({K_}, torch::kInt64);
            for (const auto& s : segments_) g.slice(0, s.k0, s.k1).fill_(s.g);
            w.g_idx = g;
        }
        return dequantize(w);
    }

    int bits_;
    std::int64_t group_size_, K_, N_, G_;
    std::vector<LowbitSegment> segments_;
    torch::Tensor packed_, scales_, zeros_, perm_, bias_, bias_f32_;
};

// The weight every fast kind can reconstruct: forward(I) - forward(0), transposed.
torch::Tensor weight_from_forward(const model::Linear& lin, std::int64_t K, torch::ScalarType dtype,
                                  const torch::Device& device) {
    auto eye = torch::eye(K, torch::TensorOptions().dtype(dtype).device(device));
    auto zero = torch::zeros({1, K}, eye.options());
    return (lin.forward(eye) - lin.forward(zero)).to(torch::kFloat32).t().contiguous();
}

class Int4PackLinear final : public model::Linear {
public:
    Int4PackLinear(const IntWeight& w, std::int64_t kernel_group, const torch::Tensor& bias,
                   const model::LinearSpec& spec)
        : group_(kernel_group), K_(w.in_features()), N_(w.out_features()), dtype_(spec.dtype),
          cuda_(spec.device.is_cuda()) {
        auto codes = w.codes;
        auto scales = w.scales.to(torch::kFloat32);
        auto zeros = zero_points(w);
        if (!has_trivial_groups(w)) {
            auto perm = torch::argsort(w.g_idx.to(torch::kInt64), /*stable=*/true);
            codes = codes.index_select(1, perm);
            perm_ = perm.to(spec.device);
        }
        const std::int64_t ckpt_group = w.groups() == 1 ? K_ : w.group_size;
        const auto repeat = ckpt_group / group_;
        auto s = scales.repeat_interleave(repeat, 1);
        auto zt = ((8.0 - zeros) * scales).repeat_interleave(repeat, 1);
        const auto sz_dtype = cuda_ ? torch::kBFloat16 : spec.dtype;
        scale_zeros_ = torch::stack({s, zt}, 2).transpose(0, 1).contiguous().to(spec.device, sz_dtype);
        if (cuda_) {
            using torch::indexing::Slice;
            auto even = codes.index({Slice(), Slice(0, torch::indexing::None, 2)});
            auto odd = codes.index({Slice(), Slice(1, torch::indexing::None, 2)});
            auto u8 = torch::bitwise_or(torch::bitwise_left_shift(even, 4), odd).contiguous().to(spec.device);
            const std::int64_t tiles = K_ % 128 == 0 ? 8 : (K_ % 64 == 0 ? 4 : 2);
            packed_ = at::_convert_weight_to_int4pack(u8, tiles);
        } else {
            packed_ = at::_convert_weight_to_int4pack_for_cpu(codes.to(torch::kInt32).contiguous(), 1);
        }
        if (bias.defined()) bias_ = bias.to(spec.device, spec.dtype);
    }

    torch::Tensor forward(const torch::Tensor& x) const override {
        return as_2d(x, K_, N_, [&](torch::Tensor x2) {
            if (perm_.defined()) x2 = x2.index_select(1, perm_);
            torch::Tensor y;
            if (cuda_) {
                y = at::_weight_int4pack_mm(x2.to(torch::kBFloat16).contiguous(), packed_, group_, scale_zeros_);
            } else {
                y = at::_weight_int4pack_mm_for_cpu(x2.to(dtype_).contiguous(), packed_, group_, scale_zeros_);
            }
            return add_bias(y.to(x.scalar_type()), bias_);
        });
    }
    std::int64_t weight_bytes() const override {
        return nbytes(packed_) + nbytes(scale_zeros_) + nbytes(perm_) + nbytes(bias_);
    }
    std::string kernel() const override { return cuda_ ? "int4pack_mm" : "int4pack_mm_cpu"; }
    torch::Tensor dequantized_weight() const override {
        return weight_from_forward(*this, K_, dtype_, packed_.device());
    }

private:
    std::int64_t group_, K_, N_;
    torch::ScalarType dtype_;
    bool cuda_;
    torch::Tensor packed_, scale_zeros_, perm_, bias_;
};

class Int8PackLinear final : public model::Linear {
public:
    Int8PackLinear(const IntWeight& w, const torch::Tensor& bias, const model::LinearSpec& spec)
        : K_(w.in_features()), N_(w.out_features()) {
        weight_ = (w.codes.to(torch::kInt32) - 128).to(torch::kInt8).contiguous().to(spec.device);
        const auto s = w.scales.to(torch::kFloat32).reshape({N_});
        scales_ = s.to(spec.device, spec.dtype);
        if (w.zeros.defined() && !torch::all(w.zeros == 128).item<bool>()) {
            correction_ = (s * (w.zeros.to(torch::kFloat32).reshape({N_}) - 128.0)).to(spec.device);
        }
        if (bias.defined()) bias_ = bias.to(spec.device, spec.dtype);
    }

    torch::Tensor forward(const torch::Tensor& x) const override {
        return as_2d(x, K_, N_, [&](const torch::Tensor& x2) {
            const auto xc = x2.to(scales_.scalar_type()).contiguous();
            auto y = at::_weight_int8pack_mm(xc, weight_, scales_);
            if (correction_.defined()) {
                y = y - (xc.to(torch::kFloat32).sum(1, /*keepdim=*/true) * correction_).to(y.scalar_type());
            }
            return add_bias(y.to(x.scalar_type()), bias_);
        });
    }
    std::int64_t weight_bytes() const override {
        return nbytes(weight_) + nbytes(scales_) + nbytes(correction_) + nbytes(bias_);
    }
    std::string kernel() const override { return "int8pack_mm"; }
    torch::Tensor dequantized_weight() const override {
        auto w = weight_.to(torch::kFloat32) * scales_.to(torch::kFloat32).unsqueeze(1);
        if (correction_.defined()) w = w - correction_.unsqueeze(1);
        return w;
    }

private:
    std::int64_t K_, N_;
    torch::Tensor weight_, scales_, correction_, bias_;
};

// W8A8: int8 x int8 -> int32 with at::_int_mm, activations quantized per token at run time.
class IntMmLinear final : public model::Linear {
public:
    IntMmLinear(const IntWeight& w, const torch::Tensor& bias, const model::LinearSpec& spec)
        : K_(w.in_features()), N_(w.out_features()), cuda_(spec.device.is_cuda()) {
        weight_ = (w.codes.to(torch::kInt32) - 128).to(torch::kInt8).contiguous().to(spec.device);
        scales_ = w.scales.to(torch::kFloat32).reshape({N_}).to(spec.device);
        if (bias.defined()) bias_ = bias.to(spec.device, spec.dtype);
    }

    torch::Tensor forward(const torch::Tensor& x) const override {
        return as_2d(x, K_, N_, [&](const torch::Tensor& x2) {
            const auto xf = x2.to(torch::kFloat32);
            const auto sx = xf.abs().amax(1, /*keepdim=*/true).clamp_min(1e-12) / 127.0;
            auto xq = torch::round(xf / sx).clamp(-127, 127).to(torch::kInt8);
            const auto M = xq.size(0);
            if (cuda_ && M <= 16) xq = torch::cat({xq, torch::zeros({17 - M, K_}, xq.options())});
            auto acc = at::_int_mm(xq, weight_.t()).slice(0, 0, M);
            return add_bias((acc.to(torch::kFloat32) * sx * scales_).to(x.scalar_type()), bias_);
        });
    }
    std::int64_t weight_bytes() const override { return nbytes(weight_) + nbytes(scales_) + nbytes(bias_); }
    std::string kernel() const override { return "int_mm"; }
    torch::Tensor dequantized_weight() const override {
        return weight_.to(torch::kFloat32) * scales_.unsqueeze(1);
    }

private:
    std::int64_t K_, N_;
    bool cuda_;
    torch::Tensor weight_, scales_, bias_;
};

// The kernel group for the int4pack kernels, or nullopt when the layer cannot use them.
std::optional<std::int64_t> int4_kernel_group(const IntWeight& w, bool cuda) {
    const auto K = w.in_features(), N = w.out_features();
    if (w.bits != 4 || K % 2 != 0) return std::nullopt;
    if (cuda ? (N % 8 != 0 || K % 32 != 0) : (N % 16 != 0)) return std::nullopt;
    std::int64_t group = K;
    if (w.groups() > 1) {
        group = w.group_size;
        if (group <= 0 || K % group != 0 || w.groups() != K / group) return std::nullopt;
        if (!has_trivial_groups(w)) {
            auto counts = torch::bincount(w.g_idx.to(torch::kInt64).cpu(), {}, w.groups());
            if (!torch::all(counts == group).item<bool>()) return std::nullopt;
        }
    }
    for (std::int64_t g : {256, 128, 64, 32}) {
        if (group % g == 0 && K % g == 0) return g;
    }
    return std::nullopt;
}

}  // namespace

std::string act_quant_name(ActQuant a) {
    switch (a) {
        case ActQuant::kNone: return "none";
        case ActQuant::kInt8Token: return "int8 dynamic per-token";
        case ActQuant::kFp8Token: return "fp8 dynamic per-token";
        case ActQuant::kFp8Tensor: return "fp8 dynamic per-tensor";
        case ActQuant::kFp8Group128: return "fp8 dynamic per-token-group-128";
        case ActQuant::kFp8Static: return "fp8 static per-tensor";
    }
    return "none";
}

torch::Tensor fake_quant_activation(const torch::Tensor& x, ActQuant act, const torch::Tensor& input_scale) {
    const auto xf = x.to(torch::kFloat32);
    constexpr double kFp8Max = 448.0;
    switch (act) {
        case ActQuant::kNone: return xf;
        case ActQuant::kInt8Token: {
            const auto s = xf.abs().amax(-1, true).clamp_min(1e-12) / 127.0;
            return torch::round(xf / s).clamp(-127, 127) * s;
        }
        case ActQuant::kFp8Token: {
            const auto s = xf.abs().amax(-1, true).clamp_min(1e-12) / kFp8Max;
            return (xf / s).clamp(-kFp8Max, kFp8Max).to(torch::kFloat8_e4m3fn).to(torch::kFloat32) * s;
        }
        case ActQuant::kFp8Tensor: {
            const auto s = xf.abs().max().clamp_min(1e-12) / kFp8Max;
            return (xf / s).clamp(-kFp8Max, kFp8Max).to(torch::kFloat8_e4m3fn).to(torch::kFloat32) * s;
        }
        case ActQuant::kFp8Group128: {
            const auto K = xf.size(-1);
            const auto G = (K + 127) / 128;
            auto padded = torch::constant_pad_nd(xf, {0, G * 128 - K});
            auto shape = padded.sizes().vec();
            shape.back() = G;
            shape.push_back(128);
            auto g = padded.reshape(shape);
            const auto s = g.abs().amax(-1, true).clamp_min(1e-12) / kFp8Max;
            auto q = (g / s).clamp(-kFp8Max, kFp8Max).to(torch::kFloat8_e4m3fn).to(torch::kFloat32) * s;
            return q.reshape(padded.sizes()).narrow(-1, 0, K);
        }
        case ActQuant::kFp8Static: {
            const auto s = input_scale.to(xf.device(), torch::kFloat32);
            return (xf / s).clamp(-kFp8Max, kFp8Max).to(torch::kFloat8_e4m3fn).to(torch::kFloat32) * s;
        }
    }
    return xf;
}

bool op_available(const std::string& op, const torch::Device& device, torch::ScalarType dtype) {
    static std::mutex mu;
    static std::map<std::string, bool> cache;
    const std::string key = op + "|" + device.str() + "|" + std::string(c10::toString(dtype));
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
    bool ok = true;
    try {
        torch::NoGradGuard no_grad;
        const auto on = torch::TensorOptions().device(device);
        if (op == "int4pack_mm_cpu") {
            ok = device.is_cpu();
            if (ok) {
                auto b = at::_convert_weight_to_int4pack_for_cpu(torch::zeros({16, 64}, torch::kInt32), 1);
                at::_weight_int4pack_mm_for_cpu(torch::ones({1, 64}, on.dtype(dtype)), b, 32,
                                                torch::ones({2, 16, 2}, on.dtype(dtype)));
            }
        } else if (op == "int4pack_mm") {
            ok = device.is_cuda();
            if (ok) {
                auto b = at::_convert_weight_to_int4pack(torch::zeros({16, 32}, on.dtype(torch::kUInt8)), 2);
                at::_weight_int4pack_mm(torch::ones({1, 64}, on.dtype(torch::kBFloat16)), b, 32,
                                        torch::ones({2, 16, 2}, on.dtype(torch::kBFloat16)));
            }
        } else if (op == "int8pack_mm") {
            at::_weight_int8pack_mm(torch::ones({1, 32}, on.dtype(dtype)), torch::ones({16, 32}, on.dtype(torch::kInt8)),
                                    torch::ones({16}, on.dtype(dtype)));
        } else if (op == "int_mm") {
            at::_int_mm(torch::ones({17, 32}, on.dtype(torch::kInt8)), torch::ones({16, 32}, on.dtype(torch::kInt8)).t());
        } else if (op == "scaled_mm") {
            auto a = torch::ones({16, 32}, on.dtype(torch::kFloat32)).to(torch::kFloat8_e4m3fn);
            auto b = torch::ones({16, 32}, on.dtype(torch::kFloat32)).to(torch::kFloat8_e4m3fn);
            at::_scaled_mm(a, b.t(), torch::ones({16, 1}, on.dtype(torch::kFloat32)),
                           torch::ones({1, 16}, on.dtype(torch::kFloat32)), std::nullopt, std::nullopt, dtype);
        } else {
            ok = false;
        }
    } catch (const std::exception&) {
        ok = false;
    }
    cache[key] = ok;
    return ok;
}

std::unique_ptr<model::Linear> make_lowbit_gemv_linear(const IntWeight& w, const torch::Tensor& bias,
                                                       const model::LinearSpec& spec) {
    validate(w, spec.name);
    if (!spec.device.is_cpu() || !lowbit_float_ok(spec.dtype)) {
        throw_bad_input("{}: lowbit_gemv_cpu needs the CPU and float32/bfloat16/float16, got {} {}", spec.name,
                        spec.device.str(), c10::toString(spec.dtype));
    }
    return std::make_unique<LowbitGemvLinear>(w, bias, spec);
}

std::unique_ptr<model::Linear> make_int_linear(const IntWeight& w, const torch::Tensor& bias,
                                               const model::LinearSpec& spec, ActQuant act, KernelChoice choice) {
    validate(w, spec.name);
    if (w.in_features() != spec.in_features || w.out_features() != spec.out_features) {
        throw_bad_input("{}: quantized weight is [{}, {}], expected [{}, {}]", spec.name, w.out_features(),
                        w.in_features(), spec.out_features, spec.in_features);
    }
    const auto dev = spec.device;
    const bool per_channel = w.groups() == 1;
    const bool symmetric = !w.zeros.defined() || torch::all(w.zeros == 128).item<bool>();
    if (choice != KernelChoice::kDequant) {
        if (act == ActQuant::kInt8Token) {
            const bool shape_ok = !dev.is_cuda() || (w.in_features() % 8 == 0 && w.out_features() % 8 == 0);
            if (w.bits == 8 && per_channel && symmetric && shape_ok && op_available("int_mm", dev, spec.dtype)) {
                return std::make_unique<IntMmLinear>(w, bias, spec);
            }
        }
    }
    // CPU int4pack/int8pack are vectorized for bfloat16 only (see kernels.hpp).
    const bool packed_fast = dev.is_cuda() || spec.dtype == torch::kBFloat16;
    if (choice == KernelChoice::kPacked || (choice == KernelChoice::kAuto && packed_fast)) {
        if (act == ActQuant::kNone) {
            const char* int4_op = dev.is_cuda() ? "int4pack_mm" : "int4pack_mm_cpu";
            if (auto g = int4_kernel_group(w, dev.is_cuda()); g && op_available(int4_op, dev, spec.dtype)) {
                return std::make_unique<Int4PackLinear>(w, *g, bias, spec);
            }
            // LibTorch 2.13's CPU int8pack kernel reads past the row for bfloat16 when K % 16 != 0
            // (wrong results, then a crash); reduced-precision dtypes keep to K % 32 == 0.
            const bool int8_shape_ok = dev.is_cuda() || spec.dtype == torch::kFloat32 || w.in_features() % 32 == 0;
            if (w.bits == 8 && per_channel && int8_shape_ok && op_available("int8pack_mm", dev, spec.dtype)) {
                return std::make_unique<Int8PackLinear>(w, bias, spec);
            }
        }
    }
    // Everything else on the CPU, weight-only: the fused kernel (dequant+matmul above kLowbitGemvRows).
    if (choice != KernelChoice::kDequant && act == ActQuant::kNone && dev.is_cpu() && lowbit_float_ok(spec.dtype)) {
        return std::make_unique<LowbitGemvLinear>(w, bias, spec);
    }
    return std::make_unique<DequantLinear>(w, bias, spec, act);
}

}  // namespace qbench::quant
