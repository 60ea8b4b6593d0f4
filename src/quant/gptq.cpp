#include <fmt/ranges.h>

#include "qbench/quant/formats.hpp"
#include "qbench/util/error.hpp"

namespace qbench::quant {
namespace {

torch::Tensor tensor(const model::WeightSource& src, const std::string& name, torch::ScalarType dtype,
                     std::vector<std::int64_t> shape) {
    if (!src.contains(name)) throw_bad_input("{}: missing tensor '{}'", src.describe(), name);
    auto t = src.raw(name, torch::kCPU);
    if (t.scalar_type() != dtype) {
        throw_bad_input("{}: tensor '{}' has dtype {}, expected {}", src.describe(), name,
                        c10::toString(t.scalar_type()), c10::toString(dtype));
    }
    if (t.sizes().vec() != shape) {
        throw_bad_input("{}: tensor '{}' has shape [{}], expected [{}]", src.describe(), name,
                        fmt::join(t.sizes().vec(), ", "), fmt::join(shape, ", "));
    }
    return t;
}

}  // namespace

torch::Tensor read_bias(const model::WeightSource& src, const model::LinearSpec& spec) {
    const auto name = spec.name + ".bias";
    if (!src.contains(name)) {
        if (spec.bias) throw_bad_input("{}: missing tensor '{}'", src.describe(), name);
        return {};
    }
    return src.load(name, spec.dtype, torch::kCPU, {spec.out_features});
}

IntWeight read_gptq(const model::WeightSource& src, const model::LinearSpec& spec, const LayerScheme& s, bool v1) {
    const auto K = spec.in_features, N = spec.out_features;
    const int b = s.bits;
    const std::int64_t G = s.group_size <= 0 ? 1 : (K + s.group_size - 1) / s.group_size;
    const auto p = spec.name + ".";
    const auto qweight = tensor(src, p + "qweight", torch::kInt32, {(K * b + 31) / 32, N});
    const auto qzeros = tensor(src, p + "qzeros", torch::kInt32, {G, (N * b + 31) / 32});
    if (!src.contains(p + "scales")) throw_bad_input("{}: missing tensor '{}'", src.describe(), p + "scales");
    const auto scales = src.raw(p + "scales", torch::kCPU);
    if (scales.sizes().vec() != std::vector<std::int64_t>{G, N} || !scales.is_floating_point()) {
        throw_bad_input("{}: tensor '{}' must be floating [{}, {}]", src.describe(), p + "scales", G, N);
    }
    IntWeight w;
    w.bits = b;
    w.group_size = s.group_size <= 0 ? -1 : s.group_size;
    // Each column of qweight is a little-endian bit stream of K codes.
    w.codes = unpack_bits(int32_words_as_bytes(qweight.t().contiguous()), b, K);
    auto z = unpack_bits(int32_words_as_bytes(qzeros), b, N);  // [G, N]
    if (v1) z = torch::bitwise_and(z.to(torch::kInt32) + 1, (1 << b) - 1).to(torch::kUInt8);
    w.zeros = z.t().contiguous();
    if (torch::all(w.zeros == (1 << (b - 1))).item<bool>()) w.zeros = torch::Tensor();
    w.scales = scales.t().contiguous();
    if (src.contains(p + "g_idx")) {
        w.g_idx = src.raw(p + "g_idx", torch::kCPU).to(torch::kInt64);
        if (w.g_idx.numel() != K) throw_bad_input("{}: '{}' must have {} entries", src.describe(), p + "g_idx", K);
        if (has_trivial_groups(w)) w.g_idx = torch::Tensor();
    }
    validate(w, spec.name);
    return w;
}

IntWeight read_awq(const model::WeightSource& src, const model::LinearSpec& spec, const LayerScheme& s, bool gemv) {
    const auto K = spec.in_features, N = spec.out_features;
    const auto gs = s.group_size;
    const std::int64_t G = (K + gs - 1) / gs;
    const auto p = spec.name + ".";
    IntWeight w;
    w.bits = 4;
    w.group_size = gs;
    if (!src.contains(p + "scales")) throw_bad_input("{}: missing tensor '{}'", src.describe(), p + "scales");
    const auto scales = src.raw(p + "scales", torch::kCPU);
    if (!gemv) {
        if (N % 8 != 0 || K % gs != 0) {
            throw_bad_input("{}: AWQ GEMM needs out_features % 8 == 0 and in_features % group_size == 0",
                            spec.name);
        }
        const auto qweight = tensor(src, p + "qweight", torch::kInt32, {K, N / 8});
        const auto qzeros = tensor(src, p + "qzeros", torch::kInt32, {G, N / 8});
        // Nibble i of word c holds column c*8 + [0,2,4,6,1,3,5,7][i]: logical column c*8 + j is
        // nibble [0,4,1,5,2,6,3,7][j].
        const std::int64_t reverse[8] = {0, 4, 1, 5, 2, 6, 3, 7};
        auto idx = torch::empty({N}, torch::kInt64);
        for (std::int64_t n = 0; n < N; ++n) idx[n] = (n / 8) * 8 + reverse[n % 8];
        auto unpack = [&](const torch::Tensor& words) {
            return unpack_bits(int32_words_as_bytes(words), 4, N).index_select(1, idx);
        };
        w.codes = unpack(qweight).t().contiguous();
        w.zeros = unpack(qzeros).t().contiguous();
        if (scales.sizes().vec() != std::vector<std::int64_t>{G, N}) {
            throw_bad_input("{}: tensor '{}' must be [{}, {}]", src.describe(), p + "scales", G, N);
        }
        w.scales = scales.t().contiguous();
    } else {
        if (K % 8 != 0) throw_bad_input("{}: AWQ GEMV needs in_features % 8 == 0", spec.name);
        const auto qweight = tensor(src, p + "qweight", torch::kInt32, {N, K / 8});
        if (!src.contains(p + "qzeros")) throw_bad_input("{}: missing tensor '{}'", src.describe(), p + "qzeros");
        const auto qzeros = src.raw(p + "qzeros", torch::kCPU);
        if (qzeros.dim() != 2 || qzeros.size(0) != N || qzeros.size(1) * 8 < G || scales.dim() != 2 ||
            scales.size(0) != N || scales.size(1) < G) {
            throw_bad_input("{}: AWQ GEMV zeros/scales of '{}' do not cover {} groups", src.describe(), spec.name, G);
        }
        w.codes = unpack_bits(int32_words_as_bytes(qweight), 4, K);
        w.zeros = unpack_bits(int32_words_as_bytes(qzeros), 4, G);
        w.scales = scales.slice(1, 0, G).contiguous();
    }
    validate(w, spec.name);
    return w;
}

}  // namespace qbench::quant
