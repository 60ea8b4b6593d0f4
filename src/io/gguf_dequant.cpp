#include "qbench/io/gguf_dequant.hpp"

#include <cstring>

#include "qbench/util/error.hpp"

namespace qbench::io {

float fp16_to_float(std::uint16_t h) {
    const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
    std::uint32_t exp = (h >> 10) & 0x1Fu;
    std::uint32_t mant = h & 0x3FFu;
    std::uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: normalize
            std::uint32_t e = 113;  // 127 - 15 + 1
            while ((mant & 0x400u) == 0) {
                mant <<= 1;
                --e;
            }
            bits = sign | (e << 23) | ((mant & 0x3FFu) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7F800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

float bf16_to_float(std::uint16_t h) {
    const std::uint32_t bits = static_cast<std::uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

namespace {

float half_at(const std::uint8_t* p) {
    std::uint16_t h;
    std::memcpy(&h, p, 2);
    return fp16_to_float(h);
}

// One function per block format: decodes one block at `b` into `y` (block_size floats). The
// float operations and their order are those of ggml-quants.c / gguf-py.

void block_q4_0(const std::uint8_t* b, float* y) {
    const float d = half_at(b);
    const std::uint8_t* qs = b + 2;
    for (int j = 0; j < 16; ++j) {
        y[j] = d * static_cast<float>((qs[j] & 0xF) - 8);
        y[j + 16] = d * static_cast<float>((qs[j] >> 4) - 8);
    }
}

void block_q4_1(const std::uint8_t* b, float* y) {
    const float d = half_at(b);
    const float m = half_at(b + 2);
    const std::uint8_t* qs = b + 4;
    for (int j = 0; j < 16; ++j) {
        y[j] = d * static_cast<float>(qs[j] & 0xF) + m;
        y[j + 16] = d * static_cast<float>(qs[j] >> 4) + m;
    }
}

void block_q5_0(const std::uint8_t* b, float* y) {
    const float d = half_at(b);
    std::uint32_t qh;
    std::memcpy(&qh, b + 2, 4);
    const std::uint8_t* qs = b + 6;
    for (int j = 0; j < 16; ++j) {
        const int h0 = static_cast<int>((qh >> j) & 1u) << 4;
        const int h1 = static_cast<int>((qh >> (j + 16)) & 1u) << 4;
        y[j] = d * static_cast<float>(((qs[j] & 0xF) | h0) - 16);
        y[j + 16] = d * static_cast<float>(((qs[j] >> 4) | h1) - 16);
    }
}

void block_q5_1(const std::uint8_t* b, float* y) {
    const float d = half_at(b);
    const float m = half_at(b + 2);
    std::uint32_t qh;
    std::memcpy(&qh, b + 4, 4);
    const std::uint8_t* qs = b + 8;
    for (int j = 0; j < 16; ++j) {
        const int h0 = static_cast<int>((qh >> j) & 1u) << 4;
        const int h1 = static_cast<int>((qh >> (j + 16)) & 1u) << 4;
        y[j] = d * static_cast<float>((qs[j] & 0xF) | h0) + m;
        y[j + 16] = d * static_cast<float>((qs[j] >> 4) | h1) + m;
    }
}

void block_q8_0(const std::uint8_t* b, float* y) {
    const float d = half_at(b);
    for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(static_cast<std::int8_t>(b[2 + j])) * d;
}

// K-quants: 256 elements; element e lies in half h = e / 128 and, inside it, in column l of
// group k = (e % 128) / 32; its 16-element scale group is e / 16.

void block_q2_k(const std::uint8_t* b, float* y) {
    const std::uint8_t* scales = b;
    const std::uint8_t* qs = b + 16;
    const float d = half_at(b + 80);
    const float dmin = half_at(b + 82);
    for (int e = 0; e < 256; ++e) {
        const int h = e / 128, k = (e % 128) / 32, l = e % 32;
        const std::uint8_t sc = scales[e / 16];
        const float dl = d * static_cast<float>(sc & 0xF);
        const float ml = dmin * static_cast<float>(sc >> 4);
        const int q = (qs[32 * h + l] >> (2 * k)) & 3;
        y[e] = dl * static_cast<float>(q) - ml;
    }
}

void block_q3_k(const std::uint8_t* b, float* y) {
    const std::uint8_t* hmask = b;
    const std::uint8_t* qs = b + 32;
    const std::uint8_t* sc = b + 96;
    const float d = half_at(b + 108);
    float dl[16];
    for (int i = 0; i < 16; ++i) {
        const int low = i < 8 ? (sc[i] & 0xF) : (sc[i - 8] >> 4);
        const int high = (sc[8 + i % 4] >> (2 * (i / 4))) & 3;
        dl[i] = d * static_cast<float>(static_cast<std::int8_t>((low | (high << 4)) - 32));
    }
    for (int e = 0; e < 256; ++e) {
        const int h = e / 128, k = (e % 128) / 32, l = e % 32;
        const int ql = (qs[32 * h + l] >> (2 * k)) & 3;
        const int hbit = (hmask[l] >> (4 * h + k)) & 1;
        y[e] = dl[e / 16] * static_cast<float>(ql - (hbit ? 0 : 4));
    }
}

// get_scale_min_k4 of ggml-quants.c: the 6-bit scale and min of sub-block j (0..7).
void scale_min_k4(int j, const std::uint8_t* q, int& sc, int& m) {
    if (j < 4) {
        sc = q[j] & 63;
        m = q[j + 4] & 63;
    } else {
        sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

// Q4_K and Q5_K: 8 sub-blocks of 32; chunk c (64 elements) holds sub-block 2c in the low nibbles
// of qs[32c..32c+31] and sub-block 2c+1 in the high nibbles; Q5_K's fifth bit of sub-block s is
// bit s of qh[l].
void block_q45_k(const std::uint8_t* b, float* y, bool five) {
    const float d = half_at(b);
    const float dmin = half_at(b + 2);
    const std::uint8_t* scales = b + 4;
    const std::uint8_t* qh = b + 16;
    const std::uint8_t* qs = five ? b + 48 : b + 16;
    for (int s = 0; s < 8; ++s) {
        int sc, m;
        scale_min_k4(s, scales, sc, m);
        const float d1 = d * static_cast<float>(sc);
        const float m1 = dmin * static_cast<float>(m);
        const int c = s / 2;
        for (int l = 0; l < 32; ++l) {
            int q = (s % 2) ? (qs[32 * c + l] >> 4) : (qs[32 * c + l] & 0xF);
            if (five) q |= ((qh[l] >> s) & 1) << 4;
            y[32 * s + l] = d1 * static_cast<float>(q) - m1;
        }
    }
}

void block_q6_k(const std::uint8_t* b, float* y) {
    const std::uint8_t* ql = b;
    const std::uint8_t* qh = b + 128;
    const auto* scales = reinterpret_cast<const std::int8_t*>(b + 192);
    const float d = half_at(b + 208);
    for (int e = 0; e < 256; ++e) {
        const int h = e / 128, k = (e % 128) / 32, l = e % 32;
        const std::uint8_t lb = ql[64 * h + l + 32 * (k & 1)];
        const int low = k < 2 ? (lb & 0xF) : (lb >> 4);
        const int high = (qh[32 * h + l] >> (2 * k)) & 3;
        const float dd = d * static_cast<float>(scales[e / 16]);
        y[e] = dd * static_cast<float>((low | (high << 4)) - 32);
    }
}

using BlockFn = void (*)(const std::uint8_t*, float*);

BlockFn block_fn(GgmlType type) {
    switch (type) {
        case GgmlType::kQ4_0: return block_q4_0;
        case GgmlType::kQ4_1: return block_q4_1;
        case GgmlType::kQ5_0: return block_q5_0;
        case GgmlType::kQ5_1: return block_q5_1;
        case GgmlType::kQ8_0: return block_q8_0;
        case GgmlType::kQ2_K: return block_q2_k;
        case GgmlType::kQ3_K: return block_q3_k;
        case GgmlType::kQ4_K: return [](const std::uint8_t* b, float* y) { block_q45_k(b, y, false); };
        case GgmlType::kQ5_K: return [](const std::uint8_t* b, float* y) { block_q45_k(b, y, true); };
        case GgmlType::kQ6_K: return block_q6_k;
        default: return nullptr;
    }
}

}  // namespace

bool can_dequantize(GgmlType type) {
    return type == GgmlType::kF32 || type == GgmlType::kF16 || type == GgmlType::kBF16 ||
           block_fn(type) != nullptr;
}

void dequantize(GgmlType type, std::span<const std::uint8_t> src, std::span<float> dst) {
    const auto* traits = ggml_type_traits(static_cast<std::uint32_t>(type));
    if (!traits || !can_dequantize(type)) {
        throw_bad_input("GGUF type {} cannot be dequantized (supported: F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 "
                        "Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K)", ggml_type_name(type));
    }
    const auto n = static_cast<std::int64_t>(dst.size());
    if (n % traits->block_size != 0 ||
        static_cast<std::int64_t>(src.size()) != n / traits->block_size * traits->type_size) {
        throw_bad_input("GGUF {} data of {} bytes does not hold {} elements", traits->name, src.size(), n);
    }
    if (n == 0) return;
    switch (type) {
        case GgmlType::kF32: std::memcpy(dst.data(), src.data(), src.size()); return;
        case GgmlType::kF16:
            for (std::int64_t i = 0; i < n; ++i) {
                std::uint16_t h;
                std::memcpy(&h, src.data() + 2 * i, 2);
                dst[i] = fp16_to_float(h);
            }
            return;
        case GgmlType::kBF16:
            for (std::int64_t i = 0; i < n; ++i) {
                std::uint16_t h;
                std::memcpy(&h, src.data() + 2 * i, 2);
                dst[i] = bf16_to_float(h);
            }
            return;
        default: break;
    }
    const BlockFn fn = block_fn(type);
    const std::int64_t blocks = n / traits->block_size;
    for (std::int64_t i = 0; i < blocks; ++i) {
        fn(src.data() + i * traits->type_size, dst.data() + i * traits->block_size);
    }
}

}  // namespace qbench::io
