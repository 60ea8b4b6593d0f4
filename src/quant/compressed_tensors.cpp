#include <fmt/ranges.h>

#include "qbench/quant/formats.hpp"
#include "qbench/util/error.hpp"

namespace qbench::quant {
namespace {

torch::Tensor need(const model::WeightSource& src, const std::string& name) {
    if (!src.contains(name)) throw_bad_input("{}: missing tensor '{}'", src.describe(), name);
    return src.raw(name, torch::kCPU);
}

std::string shape_of(const torch::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes().vec(), ", ")); }

}  // namespace

IntWeight read_compressed_int(const model::WeightSource& src, const model::LinearSpec& spec, const LayerScheme& s,
                              const std::string& format) {
    const auto K = spec.in_features, N = spec.out_features;
    const int b = s.bits;
    const int offset = 1 << (b - 1);
    const std::int64_t G = s.group_size > 0 ? (K + s.group_size - 1) / s.group_size : 1;
    const auto p = spec.name + ".";
    IntWeight w;
    w.bits = b;
    w.group_size = s.group_size > 0 ? s.group_size : -1;
    if (format == "pack-quantized") {
        const auto packed = need(src, p + "weight_packed");
        if (packed.scalar_type() != torch::kInt32 || packed.sizes().vec() != std::vector<std::int64_t>{N, (K * b + 31) / 32}) {
            throw_bad_input("{}: '{}' must be int32 [{}, {}], got {}", src.describe(), p + "weight_packed", N,
                            (K * b + 31) / 32, shape_of(packed));
        }
        if (src.contains(p + "weight_shape")) {
            const auto shape = src.raw(p + "weight_shape", torch::kCPU).to(torch::kInt64);
            if (shape.numel() != 2 || shape[0].item<std::int64_t>() != N || shape[1].item<std::int64_t>() != K) {
                throw_bad_input("{}: '{}' does not match the layer [{}, {}]", src.describe(), p + "weight_shape", N, K);
            }
        }
        w.codes = unpack_bits(int32_words_as_bytes(packed), b, K);  // already offset to unsigned
    } else {
        const auto q = need(src, p + "weight");
        if (q.scalar_type() != torch::kInt8 || q.sizes().vec() != std::vector<std::int64_t>{N, K}) {
            throw_bad_input("{}: '{}' must be int8 [{}, {}], got {}", src.describe(), p + "weight", N, K, shape_of(q));
        }
        w.codes = (q.to(torch::kInt32) + offset).to(torch::kUInt8);
    }
    const auto scale = need(src, p + "weight_scale");
    if (!scale.is_floating_point() || scale.numel() != N * G) {
        throw_bad_input("{}: '{}' must hold [{}, {}] floating values, got {}", src.describe(), p + "weight_scale", N,
                        G, shape_of(scale));
    }
    w.scales = scale.reshape({N, G}).contiguous();
    if (!s.symmetric) {
        const auto zp = need(src, p + "weight_zero_point");
        if (format == "pack-quantized") {
            if (zp.scalar_type() != torch::kInt32 || zp.sizes().vec() != std::vector<std::int64_t>{(N * b + 31) / 32, G}) {
                throw_bad_input("{}: '{}' must be int32 [{}, {}], got {}", src.describe(), p + "weight_zero_point",
                                (N * b + 31) / 32, G, shape_of(zp));
            }
            // Packed along the output dimension: each column is a bit stream of N offset values.
            w.zeros = unpack_bits(int32_words_as_bytes(zp.t().contiguous()), b, N).t().contiguous();
        } else {
            if (zp.numel() != N * G) {
                throw_bad_input("{}: '{}' must hold [{}, {}] values", src.describe(), p + "weight_zero_point", N, G);
            }
            w.zeros = (zp.reshape({N, G}).to(torch::kInt32) + offset).to(torch::kUInt8);
        }
    }
    if (src.contains(p + "weight_g_idx")) {
        w.g_idx = src.raw(p + "weight_g_idx", torch::kCPU).to(torch::kInt64);
        if (w.g_idx.numel() != K) throw_bad_input("{}: '{}' must have {} entries", src.describe(), p + "weight_g_idx", K);
        if (has_trivial_groups(w)) w.g_idx = torch::Tensor();
    }
    validate(w, spec.name);
    return w;
}

Fp8Weight read_fp8(const model::WeightSource& src, const model::LinearSpec& spec, const LayerScheme& s) {
    const auto K = spec.in_features, N = spec.out_features;
    const auto p = spec.name + ".";
    Fp8Weight w;
    w.weight = need(src, p + "weight");
    if (w.weight.scalar_type() != torch::kFloat8_e4m3fn || w.weight.sizes().vec() != std::vector<std::int64_t>{N, K}) {
        throw_bad_input("{}: '{}' must be F8_E4M3 [{}, {}], got {} {}", src.describe(), p + "weight", N, K,
                        c10::toString(w.weight.scalar_type()), shape_of(w.weight));
    }
    const bool inv = src.contains(p + "weight_scale_inv");
    const auto scale_name = p + (inv ? "weight_scale_inv" : "weight_scale");
    const auto scale = need(src, scale_name).to(torch::kFloat32);
    if (s.strategy == "block") {
        w.block = s.block;
        const auto rows = (N + s.block[0] - 1) / s.block[0], cols = (K + s.block[1] - 1) / s.block[1];
        if (scale.sizes().vec() != std::vector<std::int64_t>{rows, cols}) {
            throw_bad_input("{}: '{}' must be [{}, {}] for blocks [{}, {}], got {}", src.describe(), scale_name, rows,
                            cols, s.block[0], s.block[1], shape_of(scale));
        }
        w.scale = scale;
    } else if (scale.numel() == 1) {
        w.scale = scale.reshape({1});
    } else if (scale.numel() == N) {
        w.scale = scale.reshape({N});
    } else {
        throw_bad_input("{}: '{}' must hold 1 or {} values, got {}", src.describe(), scale_name, N, shape_of(scale));
    }
    if (s.act == ActQuant::kFp8Static) {
        const auto in = need(src, p + "input_scale").to(torch::kFloat32);
        // vLLM-style per-shard scales: one activation scale is the largest.
        w.input_scale = in.max().reshape({1});
    }
    return w;
}

}  // namespace qbench::quant
