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
    const auto opts = torch::TensorOptions().dtype(torch::kInt64).device(packed.device());
    const auto bit = torch::arange(length, opts) * bits;
    const auto byte = torch::div(bit, 8, "floor");
    const auto shift = torch::remainder(bit, 8).to(torch::kInt32);
    const auto last = packed.size(1) - 1;
    const auto lo = packed.index_select(1, byte).to(torch::kInt32);
    const auto hi = packed.index_select(1, torch::clamp_max(byte + 1, last)).to(torch::kInt32);
    const auto word = torch::bitwise_or(lo, torch::bitwise_left_shift(hi, 8));
    return torch::bitwise_and(torch::bitwise_right_shift(word, shift), (1 << bits) - 1).to(torch::kUInt8);
}

torch::Tensor int32_words_as_bytes(const torch::Tensor& words) {
    TORCH_CHECK(words.scalar_type() == torch::kInt32 && words.dim() == 2, "int32 [R, C] words expected");
    return words.contiguous().view(torch::kUInt8);
}

}  // namespace qbench::quant
