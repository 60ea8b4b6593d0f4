#include "qbench/quant/int_weight.hpp"

#include <fmt/ranges.h>

#include "qbench/util/error.hpp"

namespace qbench::quant {
namespace {

std::string shape(const torch::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes().vec(), ", ")); }

}  // namespace

torch::Tensor group_index(const IntWeight& w) {
    if (w.g_idx.defined()) return w.g_idx.to(torch::kInt64);
    const auto K = w.in_features();
    auto k = torch::arange(K, torch::TensorOptions().dtype(torch::kInt64).device(w.codes.device()));
    if (w.group_size <= 0) return torch::zeros_like(k);
    return torch::div(k, w.group_size, "floor");
}

bool has_trivial_groups(const IntWeight& w) {
    if (!w.g_idx.defined()) return true;
    IntWeight plain = w;
    plain.g_idx = torch::Tensor();
    return torch::equal(w.g_idx.to(torch::kInt64).cpu(), group_index(plain).cpu());
}

torch::Tensor zero_points(const IntWeight& w) {
    if (w.zeros.defined()) return w.zeros.to(torch::kFloat32);
    return torch::full_like(w.scales, static_cast<double>(1 << (w.bits - 1)),
                            torch::TensorOptions().dtype(torch::kFloat32));
}

torch::Tensor dequantize(const IntWeight& w) {
    const auto N = w.out_features(), K = w.in_features(), G = w.groups();
    if (!w.g_idx.defined() && (G == 1 || (w.group_size > 0 && K == G * w.group_size))) {
        // Contiguous whole groups: broadcast [N, G, 1] against [N, G, K / G] (same arithmetic).
        const auto s = w.scales.to(torch::kFloat32).unsqueeze(-1);
        const auto z = zero_points(w).unsqueeze(-1);
        return (s * (w.codes.to(torch::kFloat32).reshape({N, G, K / G}) - z)).reshape({N, K});
    }
    const auto g = group_index(w);
    const auto s = w.scales.to(torch::kFloat32).index_select(1, g);
    const auto z = zero_points(w).index_select(1, g);
    return s * (w.codes.to(torch::kFloat32) - z);
}

void validate(const IntWeight& w, const std::string& what) {
    if (w.bits < 1 || w.bits > 8) throw_bad_input("{}: {} bits is not supported (1 to 8)", what, w.bits);
    if (w.codes.dim() != 2 || w.codes.scalar_type() != torch::kUInt8) {
        throw_bad_input("{}: codes must be uint8 [N, K]", what);
    }
    const auto N = w.out_features(), K = w.in_features();
    if (w.scales.dim() != 2 || w.scales.size(0) != N) {
        throw_bad_input("{}: scales must be [{}, groups], got {}", what, N, shape(w.scales));
    }
    const auto G = w.groups();
    if (w.zeros.defined() && (w.zeros.sizes() != w.scales.sizes())) {
        throw_bad_input("{}: zero points {} do not match scales {}", what, shape(w.zeros), shape(w.scales));
    }
    if (w.g_idx.defined()) {
        if (w.g_idx.numel() != K) throw_bad_input("{}: g_idx has {} entries, expected {}", what, w.g_idx.numel(), K);
        if (K > 0 && (w.g_idx.min().item<std::int64_t>() < 0 || w.g_idx.max().item<std::int64_t>() >= G)) {
            throw_bad_input("{}: g_idx values must lie in [0, {})", what, G);
        }
    } else {
        const std::int64_t expect = w.group_size <= 0 ? 1 : (K + w.group_size - 1) / w.group_size;
        if (G != expect) {
            throw_bad_input("{}: {} scale groups for in_features {} and group_size {} (expected {})", what, G,
                            K, w.group_size, expect);
        }
    }
    const int max_code = (1 << w.bits) - 1;
    if (w.codes.numel() > 0 && w.codes.max().item<int>() > max_code) {
        throw_bad_input("{}: codes exceed {} bits", what, w.bits);
    }
}

torch::Tensor pack_bits(const torch::Tensor& codes, int bits) {
    TORCH_CHECK(codes.dim() == 2 && bits >= 1 && bits <= 8, "pack_bits: uint8 [R, L] and 1..8 bits");
    const auto c = codes.to(torch::kCPU, torch::kUInt8).contiguous();
    const std::int64_t R = c.size(0), L = c.size(1);
    const std::int64_t bytes = (L * bits + 7) / 8;
    auto out = torch::zeros({R, bytes}, torch::kUInt8);
    const auto* src = c.data_ptr<std::uint8_t>();
    auto* dst = out.data_ptr<std::uint8_t>();
    for (std::int64_t r = 0; r < R; ++r) {
        auto* row = dst + r * bytes;
        for (std::int64_t i = 0; i < L; ++i) {
            const unsigned v = src[r * L + i] & ((1u << bits) - 1);
            const std::int64_t bit = i * bits;
            const unsigned shifted = v << (bit % 8);
            row[bit / 8] |= static_cast<std::uint8_t>(shifted & 0xFF);
            if ((bit % 8) + bits > 8) row[bit / 8 + 1] |= static_cast<std::uint8_t>(shifted >> 8);
        }
    }
    return out.to(codes.device());
}

torch::Tensor unpack_bits(const torch::Tensor& packed, int bits, std::int64_t length) {
    TORCH_CHECK(packed.dim() == 2 && bits >= 1 && bits <= 8, "unpack_bits: uint8 [R, bytes] and 1..8 bits");
    TORCH_CHECK(packed.size(1) * 8 >= length * bits, "unpack_bits: ", packed.size(1), " bytes hold fewer than ",
                length, " values of ", bits, " bits");
    if (bits == 8) return packed.slice(1, 0, length).contiguous();
    const auto R = packed.size(0);
    if (8 % bits == 0) {
        // 1, 2 or 4 bits: every byte holds 8 / bits whole values, lowest bits first (the same
        // order as the word path below), so the shifts can stay on uint8 — several times faster
        // than widening to int64, and this runs on every forward of the dequant kernel.
        const std::int64_t per = 8 / bits, need = (length + per - 1) / per;
        const auto bytes = packed.slice(1, 0, need);
        const auto shifts = torch::arange(per, torch::TensorOptions().dtype(torch::kUInt8).device(packed.device())) * bits;
        const auto values = torch::bitwise_and(torch::bitwise_right_shift(bytes.unsqueeze(-1), shifts),
                                               static_cast<std::int64_t>((1 << bits) - 1));
        return values.reshape({R, need * per}).slice(1, 0, length).contiguous();
    }
    // Every 8 values fill exactly `bits` bytes: read each such run as one little-endian word and
    // shift the values out of it.
    const std::int64_t runs = (length + 7) / 8, need = runs * bits;
    auto bytes = packed.size(1) >= need ? packed.slice(1, 0, need)
                                        : torch::constant_pad_nd(packed, {0, need - packed.size(1)});
    const auto b = bytes.reshape({R, runs, bits}).to(torch::kInt64);
    auto word = b.select(2, 0);
    for (int i = 1; i < bits; ++i) word = torch::bitwise_or(word, torch::bitwise_left_shift(b.select(2, i), 8 * i));
    const auto shifts = torch::arange(8, torch::TensorOptions().dtype(torch::kInt64).device(packed.device())) * bits;
    const auto values = torch::bitwise_and(torch::bitwise_right_shift(word.unsqueeze(-1), shifts), (1 << bits) - 1);
    return values.reshape({R, runs * 8}).slice(1, 0, length).to(torch::kUInt8);
}

torch::Tensor int32_words_as_bytes(const torch::Tensor& words) {
    TORCH_CHECK(words.scalar_type() == torch::kInt32 && words.dim() == 2, "int32 [R, C] words expected");
    return words.contiguous().view(torch::kUInt8);
}

}  // namespace qbench::quant
