// GGUF Q8_0 / Q4_0 blocks -> IntWeight, and the LinearFactory of GGUF models (quant/gguf.hpp).
#include "qbench/quant/gguf.hpp"

#include <cstring>

#include "qbench/model/gguf_model.hpp"
#include "qbench/quant/formats.hpp"
#include "qbench/util/error.hpp"

namespace qbench::quant {

bool gguf_keeps_low_bit(io::GgmlType type) {
    return type == io::GgmlType::kQ8_0 || type == io::GgmlType::kQ4_0;
}

IntWeight gguf_int_weight(io::GgmlType type, std::span<const std::uint8_t> blocks, std::int64_t rows,
                          std::int64_t cols, const std::string& what) {
    constexpr std::int64_t kBlock = 32;
    if (!gguf_keeps_low_bit(type)) {
        throw_bad_input("{}: GGUF type {} has no integer-weight form (Q8_0, Q4_0)", what, io::ggml_type_name(type));
    }
    const bool q8 = type == io::GgmlType::kQ8_0;
    const std::int64_t block_bytes = q8 ? 34 : 18;
    if (rows <= 0 || cols <= 0 || cols % kBlock != 0 ||
        static_cast<std::int64_t>(blocks.size()) != rows * (cols / kBlock) * block_bytes) {
        throw_bad_input("{}: {} bytes of {} do not hold a [{}, {}] tensor", what, blocks.size(),
                        io::ggml_type_name(type), rows, cols);
    }
    const std::int64_t n_blocks = rows * (cols / kBlock);
    auto codes = torch::empty({rows, cols}, torch::kUInt8);
    auto scales = torch::empty({rows, cols / kBlock}, torch::kFloat16);
    auto* c = codes.data_ptr<std::uint8_t>();
    auto* s = reinterpret_cast<std::uint16_t*>(scales.data_ptr<at::Half>());
    const std::uint8_t* b = blocks.data();
    // Blocks run along each row, rows one after another: block i covers codes[32 i, 32 i + 32)
    // of the flattened [rows, cols] tensor, and its scale is scales.flatten()[i].
    for (std::int64_t i = 0; i < n_blocks; ++i, b += block_bytes, c += kBlock) {
        std::memcpy(&s[i], b, 2);
        const std::uint8_t* q = b + 2;
        if (q8) {
            // int8 q -> q + 128, i.e. the two's-complement byte with its sign bit flipped.
            for (int j = 0; j < 32; ++j) c[j] = static_cast<std::uint8_t>(q[j] ^ 0x80);
        } else {
            for (int j = 0; j < 16; ++j) {
                c[j] = q[j] & 0x0F;
                c[j + 16] = q[j] >> 4;
            }
        }
    }
    IntWeight w;
    w.bits = q8 ? 8 : 4;
    w.group_size = kBlock;
    w.codes = codes;
    w.scales = scales;  // symmetric: zero = 2^(bits - 1) = 128 / 8
    return w;
}

model::LinearFactory make_gguf_linear_factory(KernelChoice choice) {
    return [choice](const model::LinearSpec& spec, const model::WeightSource& src) -> std::unique_ptr<model::Linear> {
        const auto* gguf = dynamic_cast<const model::GgufWeightSource*>(&src);
        const auto name = spec.name + ".weight";
        if (!gguf || !gguf->contains(name)) return model::make_dense_linear(spec, src);
        const auto& t = gguf->info(name);
        if (!gguf_keeps_low_bit(t.ggml_type())) return model::make_dense_linear(spec, src);
        const auto shape = t.shape();
        if (shape != std::vector<std::int64_t>{spec.out_features, spec.in_features}) {
            // The dense path names the mismatch.
            return model::make_dense_linear(spec, src);
        }
        const auto raw = gguf->raw(name, torch::kCPU);
        const std::span<const std::uint8_t> bytes(raw.data_ptr<std::uint8_t>(), static_cast<std::size_t>(raw.numel()));
        auto w = gguf_int_weight(t.ggml_type(), bytes, shape[0], shape[1], src.describe() + ": " + t.name);
        w.codes = gguf->unpermute_rows(name, w.codes);
        w.scales = gguf->unpermute_rows(name, w.scales);
        return make_int_linear(w, read_bias(src, spec), spec, ActQuant::kNone, choice);
    };
}

}  // namespace qbench::quant
