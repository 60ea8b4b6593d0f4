#include "qbench/tokenizer/unicode.hpp"

#include <utf8proc.h>

#include <array>
#include <cstdlib>
#include <memory>

#include "qbench/util/error.hpp"

namespace qbench::tokenizer {

namespace {

// Length of the valid UTF-8 sequence at s[pos], or 0 with `bad_len` = bytes of the maximal
// invalid subpart (at least 1).
std::size_t valid_sequence_length(std::string_view s, std::size_t pos, std::size_t& bad_len) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char lead = byte(pos);
    if (lead < 0x80) return 1;
    std::size_t need = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        need = 1;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        need = 2;
        if (lead == 0xE0) lo = 0xA0;
        if (lead == 0xED) hi = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        need = 3;
        if (lead == 0xF0) lo = 0x90;
        if (lead == 0xF4) hi = 0x8F;
    } else {
        bad_len = 1;
        return 0;
    }
    for (std::size_t k = 1; k <= need; ++k) {
        if (pos + k >= s.size()) {
            bad_len = k;
            return 0;
        }
        const unsigned char c = byte(pos + k);
        const unsigned char l = k == 1 ? lo : 0x80;
        const unsigned char h = k == 1 ? hi : 0xBF;
        if (c < l || c > h) {
            bad_len = k;
            return 0;
        }
    }
    return need + 1;
}

}  // namespace

char32_t next_code_point(std::string_view s, std::size_t pos, std::size_t& len) {
    const auto c0 = static_cast<unsigned char>(s[pos]);
    if (c0 < 0x80) {
        len = 1;
        return c0;
    }
    const auto cont = [&](std::size_t i) { return static_cast<char32_t>(s[pos + i] & 0x3F); };
    if (c0 < 0xE0) {
        len = 2;
        return (static_cast<char32_t>(c0 & 0x1F) << 6) | cont(1);
    }
    if (c0 < 0xF0) {
        len = 3;
        return (static_cast<char32_t>(c0 & 0x0F) << 12) | (cont(1) << 6) | cont(2);
    }
    len = 4;
    return (static_cast<char32_t>(c0 & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3);
}

void append_utf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

bool is_valid_utf8(std::string_view bytes) {
    std::size_t bad = 0;
    for (std::size_t pos = 0; pos < bytes.size();) {
        const std::size_t n = valid_sequence_length(bytes, pos, bad);
        if (n == 0) return false;
        pos += n;
    }
    return true;
}

std::string utf8_lossy(std::string_view bytes) {
    if (is_valid_utf8(bytes)) return std::string(bytes);
    std::string out;
    out.reserve(bytes.size() + 16);
    std::size_t bad = 0;
    for (std::size_t pos = 0; pos < bytes.size();) {
        const std::size_t n = valid_sequence_length(bytes, pos, bad);
        if (n == 0) {
            out += "\xEF\xBF\xBD";
            pos += bad;
        } else {
            out.append(bytes.substr(pos, n));
            pos += n;
        }
    }
    return out;
}

bool is_whitespace(char32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

bool is_numeric(char32_t cp) {
    const auto c = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
    return c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
}

bool is_punctuation(char32_t cp) {
    if (cp < 0x80) {
        return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) ||
               (cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E);
    }
    const auto c = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
    return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

bool is_word_char(char32_t cp) {
    if (cp < 0x80) {
        return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
               cp == '_';
    }
    if (cp == 0x200C || cp == 0x200D) return true;
    // Other_Alphabetic symbols: circled and squared Latin letters.
    if ((cp >= 0x24B6 && cp <= 0x24E9) || (cp >= 0x1F130 && cp <= 0x1F189)) return true;
    const auto c = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
    return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_ND) || c == UTF8PROC_CATEGORY_NL ||
           c == UTF8PROC_CATEGORY_PC;
}

std::string normalize_unicode(std::string_view s, NormalForm form) {
    bool ascii = true;
    for (const char c : s) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
    if (ascii) return std::string(s);
    int options = UTF8PROC_STABLE;
    switch (form) {
        case NormalForm::kNfc:
            options |= UTF8PROC_COMPOSE;
            break;
        case NormalForm::kNfd:
            options |= UTF8PROC_DECOMPOSE;
            break;
        case NormalForm::kNfkc:
            options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
            break;
        case NormalForm::kNfkd:
            options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
            break;
    }
    utf8proc_uint8_t* out = nullptr;
    const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                            static_cast<utf8proc_ssize_t>(s.size()), &out,
                                            static_cast<utf8proc_option_t>(options));
    if (n < 0) throw_runtime("unicode normalization failed: {}", utf8proc_errmsg(n));
    std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(out, &std::free);
    return std::string(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
}

std::string lowercase(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t pos = 0; pos < s.size();) {
        std::size_t len = 0;
        const char32_t cp = next_code_point(s, pos, len);
        if (cp < 0x80) {
            out += static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
        } else if (cp == 0x130) {  // the one unconditional multi-character lowercase mapping
            out += "i\xCC\x87";
        } else {
            append_utf8(out,
                        static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
        }
        pos += len;
    }
    return out;
}

namespace {

struct ByteLevelTables {
    std::array<std::string, 256> to_char;
    std::array<int, 324> to_byte{};

    ByteLevelTables() {
        to_byte.fill(-1);
        int extra = 0;
        for (int b = 0; b < 256; ++b) {
            const bool printable =
                (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            const int cp = printable ? b : 256 + extra++;
            append_utf8(to_char[b], static_cast<char32_t>(cp));
            to_byte[cp] = b;
        }
    }
};

const ByteLevelTables& byte_level_tables() {
    static const ByteLevelTables tables;
    return tables;
}

}  // namespace

const std::string& byte_level_char(std::uint8_t b) { return byte_level_tables().to_char[b]; }

int byte_level_byte(char32_t cp) {
    return cp < byte_level_tables().to_byte.size() ? byte_level_tables().to_byte[cp] : -1;
}

}  // namespace qbench::tokenizer
