#include "qbench/tokenizer/llama_split.hpp"

#include <utf8proc.h>

#include <array>
#include <regex>

#include "qbench/util/error.hpp"

namespace qbench::tokenizer::llama {

namespace {

constexpr char32_t kMaxCodePoints = 0x110000;

std::uint16_t category_flag(utf8proc_category_t c) {
    switch (c) {
        case UTF8PROC_CATEGORY_CN:
            return kUndefined;
        case UTF8PROC_CATEGORY_LU:
        case UTF8PROC_CATEGORY_LL:
        case UTF8PROC_CATEGORY_LT:
        case UTF8PROC_CATEGORY_LM:
        case UTF8PROC_CATEGORY_LO:
            return kLetter;
        case UTF8PROC_CATEGORY_MN:
        case UTF8PROC_CATEGORY_MC:
        case UTF8PROC_CATEGORY_ME:
            return kMark;
        case UTF8PROC_CATEGORY_ND:
        case UTF8PROC_CATEGORY_NL:
        case UTF8PROC_CATEGORY_NO:
            return kNumber;
        case UTF8PROC_CATEGORY_PC:
        case UTF8PROC_CATEGORY_PD:
        case UTF8PROC_CATEGORY_PS:
        case UTF8PROC_CATEGORY_PE:
        case UTF8PROC_CATEGORY_PI:
        case UTF8PROC_CATEGORY_PF:
        case UTF8PROC_CATEGORY_PO:
            return kPunctuation;
        case UTF8PROC_CATEGORY_SM:
        case UTF8PROC_CATEGORY_SC:
        case UTF8PROC_CATEGORY_SK:
        case UTF8PROC_CATEGORY_SO:
            return kSymbol;
        case UTF8PROC_CATEGORY_ZS:
        case UTF8PROC_CATEGORY_ZL:
        case UTF8PROC_CATEGORY_ZP:
            return kSeparator;
        default:  // Cc Cf Cs Co
            return kControl;
    }
}

// utf8proc holds Unicode 15.0; llama.cpp's table is 15.1, which assigned these.
struct Assigned151 {
    char32_t first, last;
    std::uint16_t flag;
};
constexpr std::array<Assigned151, 3> kUnicode151{{
    {0x2FFC, 0x2FFF, kSymbol},   // ideographic description characters
    {0x31EF, 0x31EF, kSymbol},   // CJK stroke HXG
    {0x2EBF0, 0x2EE5D, kLetter}, // CJK Unified Ideographs Extension I
}};

// llama.cpp's White_Space list.
constexpr std::array<char32_t, 25> kWhitespaceList{
    0x09,   0x0A,   0x0B,   0x0C,   0x0D,   0x20,   0x85,   0xA0,   0x1680,
    0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008,
    0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000};

const std::vector<std::uint16_t>& flag_table() {
    static const std::vector<std::uint16_t> table = [] {
        std::vector<std::uint16_t> t(kMaxCodePoints);
        for (char32_t cp = 0; cp < kMaxCodePoints; ++cp) {
            t[cp] = category_flag(utf8proc_category(static_cast<utf8proc_int32_t>(cp)));
        }
        for (const auto& r : kUnicode151) {
            for (char32_t cp = r.first; cp <= r.last; ++cp) t[cp] = r.flag;
        }
        for (char32_t cp : kWhitespaceList) t[cp] |= kWhitespace;
        return t;
    }();
    return table;
}

}  // namespace

std::uint16_t cpt_flags(char32_t cp) {
    return cp < kMaxCodePoints ? flag_table()[cp] : static_cast<std::uint16_t>(kUndefined);
}

char32_t cpt_tolower(char32_t cp) {
    if (cp >= kMaxCodePoints) return cp;
    return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
}

char32_t cpt_nfd_first(char32_t cp) {
    if (cp >= kMaxCodePoints) return cp;
    std::array<utf8proc_int32_t, 8> buf{};
    int last_boundclass = 0;
    const auto n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buf.data(), buf.size(),
                                           UTF8PROC_DECOMPOSE, &last_boundclass);
    return n > 0 ? static_cast<char32_t>(buf[0]) : cp;
}

std::vector<char32_t> decode_utf8(std::string_view s) {
    std::vector<char32_t> out;
    out.reserve(s.size());
    const auto at = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const auto cont = [&](std::size_t i) { return i < s.size() && (at(i) & 0xC0) == 0x80; };
    for (std::size_t i = 0; i < s.size();) {
        const unsigned char b = at(i);
        if ((b & 0x80) == 0) {
            out.push_back(b);
            i += 1;
        } else if ((b & 0x40) == 0) {
            out.push_back(0xFFFD);
            i += 1;
        } else if ((b & 0x20) == 0 && cont(i + 1)) {
            out.push_back((static_cast<char32_t>(b & 0x1F) << 6) | (at(i + 1) & 0x3F));
            i += 2;
        } else if ((b & 0x20) != 0 && (b & 0x10) == 0 && cont(i + 1) && cont(i + 2)) {
            out.push_back((static_cast<char32_t>(b & 0x0F) << 12) |
                          (static_cast<char32_t>(at(i + 1) & 0x3F) << 6) | (at(i + 2) & 0x3F));
            i += 3;
        } else if ((b & 0x30) == 0x30 && (b & 0x08) == 0 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
            out.push_back((static_cast<char32_t>(b & 0x07) << 18) |
                          (static_cast<char32_t>(at(i + 1) & 0x3F) << 12) |
                          (static_cast<char32_t>(at(i + 2) & 0x3F) << 6) | (at(i + 3) & 0x3F));
            i += 4;
        } else {
            out.push_back(0xFFFD);
            i += 1;
        }
    }
    return out;
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
    } else if (cp < kMaxCodePoints) {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        throw_bad_input("text holds a code point beyond U+10FFFF (0x{:X}), which llama.cpp rejects",
                        static_cast<std::uint32_t>(cp));
    }
}

namespace {

using Lengths = std::vector<std::size_t>;  // consecutive fragment lengths, in code points

constexpr char32_t kOutOfRange = 0xFFFFFFFF;

// One fragment [ini, end) of the code points, read as the hand-written splitters read it: outside
// the fragment there is no code point (kOutOfRange) and no flag.
struct Fragment {
    const std::vector<char32_t>& cpts;
    std::size_t ini, end;
    std::size_t prev_end;
    Lengths& out;

    char32_t cpt(std::size_t pos) const { return pos >= ini && pos < end ? cpts[pos] : kOutOfRange; }
    std::uint16_t flags(std::size_t pos) const { return pos >= ini && pos < end ? cpt_flags(cpts[pos]) : 0; }
    // Closes the word that ends at `at`; returns its length.
    std::size_t add(std::size_t at) {
        const std::size_t len = at - prev_end;
        if (len > 0) out.push_back(len);
        prev_end = at;
        return len;
    }
    // 's 't 're 've 'm 'll 'd at pos (case folded when `fold`): their length, or 0.
    std::size_t contraction(std::size_t pos, bool fold) const {
        if (cpt(pos) != U'\'' || pos + 1 >= end) return 0;
        const auto lower = [&](char32_t c) { return fold ? cpt_tolower(c) : c; };
        const char32_t n1 = lower(cpt(pos + 1));
        if (n1 == U's' || n1 == U't' || n1 == U'm' || n1 == U'd') return 2;
        if (pos + 2 >= end) return 0;
        const char32_t n2 = lower(cpt(pos + 2));
        if ((n1 == U'r' && n2 == U'e') || (n1 == U'v' && n2 == U'e') || (n1 == U'l' && n2 == U'l')) return 3;
        return 0;
    }
    // The whitespace tail shared by the splitters: \s*[\r\n]+ (when `newlines`), \s+(?!\S), \s+,
    // else one code point.
    void whitespace_or_one(std::size_t& pos, bool newlines) {
        std::size_t n = 0;
        std::size_t last_newline_end = 0;
        while (flags(pos + n) & kWhitespace) {
            const char32_t c = cpt(pos + n);
            if (c == U'\r' || c == U'\n') last_newline_end = pos + n + 1;
            ++n;
        }
        if (newlines && last_newline_end > 0) {
            pos = last_newline_end;
        } else if (n > 1 && cpt(pos + n) != kOutOfRange) {
            pos += n - 1;
        } else if (n > 0) {
            pos += n;
        } else {
            ++pos;
        }
        add(pos);
    }
};

template <typename Body>
Lengths for_each_fragment(const std::vector<char32_t>& cpts, const Lengths& in, Body body) {
    Lengths out;
    out.reserve(in.size());
    std::size_t start = 0;
    for (const std::size_t len : in) {
        Fragment f{cpts, start, start + len, start, out};
        body(f);
        start += len;
    }
    return out;
}

constexpr bool letter(std::uint16_t f) { return (f & kLetter) != 0; }
constexpr bool number(std::uint16_t f) { return (f & kNumber) != 0; }
constexpr bool space(std::uint16_t f) { return (f & kWhitespace) != 0; }
constexpr bool mark(std::uint16_t f) { return (f & kMark) != 0; }

// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
Lengths split_gpt2(const std::vector<char32_t>& cpts, const Lengths& in) {
    return for_each_fragment(cpts, in, [](Fragment& f) {
        for (std::size_t pos = f.ini; pos < f.end;) {
            const char32_t c = f.cpt(pos);
            if (const auto n = f.contraction(pos, false)) {
                pos += f.add(pos + n);
                continue;
            }
            auto flags2 = c == U' ' ? f.flags(pos + 1) : f.flags(pos);
            if (letter(flags2) || number(flags2)) {
                const bool as_letter = letter(flags2);
                pos += c == U' ';
                while (as_letter ? letter(flags2) : number(flags2)) flags2 = f.flags(++pos);
                f.add(pos);
                continue;
            }
            if (!(space(flags2) || letter(flags2) || number(flags2)) && flags2 != 0) {
                pos += c == U' ';
                while (!(space(flags2) || letter(flags2) || number(flags2)) && flags2 != 0) flags2 = f.flags(++pos);
                f.add(pos);
                continue;
            }
            f.whitespace_or_one(pos, false);
        }
    });
}

// Llama 3 (max_digits 3), Qwen 2 (1) and Qwen 3.5 (1, letters take marks):
// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
// \s*[\r\n]+|\s+(?!\S)|\s+
Lengths split_llama3(const std::vector<char32_t>& cpts, const Lengths& in, std::size_t max_digits, bool marks) {
    const auto wordish = [marks](std::uint16_t f) { return letter(f) || (marks && mark(f)); };
    return for_each_fragment(cpts, in, [&](Fragment& f) {
        for (std::size_t pos = f.ini; pos < f.end;) {
            const char32_t c = f.cpt(pos);
            const auto flags = f.flags(pos);
            if (const auto n = f.contraction(pos, true)) {
                pos += f.add(pos + n);
                continue;
            }
            if (!(c == U'\r' || c == U'\n' || number(flags)) && (wordish(flags) || wordish(f.flags(pos + 1)))) {
                ++pos;
                while (wordish(f.flags(pos))) ++pos;
                f.add(pos);
                continue;
            }
            if (number(flags)) {
                std::size_t ini = pos;
                while (number(f.flags(pos))) {
                    if (++pos - ini >= max_digits) {
                        f.add(pos);
                        ini = pos;
                    }
                }
                f.add(pos);
                continue;
            }
            auto flags2 = c == U' ' ? f.flags(pos + 1) : flags;
            const auto other = [&](std::uint16_t g) { return !(space(g) || letter(g) || number(g) || (marks && mark(g))); };
            if (other(flags2) && flags != 0) {
                pos += c == U' ';
                while (other(flags2) && flags2 != 0) flags2 = f.flags(++pos);
                for (char32_t c2 = f.cpt(pos); c2 == U'\r' || c2 == U'\n'; c2 = f.cpt(++pos)) {
                }
                f.add(pos);
                continue;
            }
            f.whitespace_or_one(pos, true);
        }
    });
}

bool is_han(char32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
           (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0x2CEB0 && cp <= 0x2EBEF) || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// Kimi-K2: [\p{Han}]+ | letter words without Han, with contractions | \p{N}{1,3} | the Llama 3 tail.
Lengths split_kimi_k2(const std::vector<char32_t>& cpts, const Lengths& in) {
    return for_each_fragment(cpts, in, [](Fragment& f) {
        const auto word_letter = [&](std::size_t p) { return letter(f.flags(p)) && !is_han(f.cpt(p)); };
        for (std::size_t pos = f.ini; pos < f.end;) {
            const char32_t c = f.cpt(pos);
            const auto flags = f.flags(pos);
            if (is_han(c)) {
                while (is_han(f.cpt(pos))) ++pos;
                f.add(pos);
                continue;
            }
            const bool may_lead = !(c == U'\r' || c == U'\n' || letter(flags) || number(flags));
            if ((letter(flags) && !is_han(c)) || (may_lead && word_letter(pos + 1))) {
                if (may_lead) ++pos;
                bool has_letters = false;
                while (word_letter(pos)) {
                    has_letters = true;
                    ++pos;
                }
                if (has_letters || (!may_lead && word_letter(pos))) {
                    if (!has_letters) ++pos;
                    while (word_letter(pos)) ++pos;
                    pos += f.contraction(pos, true);
                    f.add(pos);
                    continue;
                }
                if (may_lead) --pos;
            }
            if (number(flags)) {
                std::size_t ini = pos;
                while (number(f.flags(pos))) {
                    if (++pos - ini >= 3) {
                        f.add(pos);
                        ini = pos;
                    }
                }
                f.add(pos);
                continue;
            }
            auto flags2 = c == U' ' ? f.flags(pos + 1) : flags;
            if (!(space(flags2) || letter(flags2) || number(flags2)) && flags2 != 0) {
                pos += c == U' ';
                while (!(space(flags2) || letter(flags2) || number(flags2)) && flags2 != 0) flags2 = f.flags(++pos);
                for (char32_t c2 = f.cpt(pos); c2 == U'\r' || c2 == U'\n'; c2 = f.cpt(++pos)) {
                }
                f.add(pos);
                continue;
            }
            f.whitespace_or_one(pos, true);
        }
    });
}

// AFMoE / tiny_aya digits: a digit run splits into groups of three from the right; the text
// before a run joins its first group (llama.cpp closes the word only at digit-group ends).
Lengths split_digit_groups(const std::vector<char32_t>& cpts, const Lengths& in) {
    return for_each_fragment(cpts, in, [](Fragment& f) {
        for (std::size_t pos = f.ini; pos < f.end;) {
            if (!number(f.flags(pos))) {
                ++pos;
                continue;
            }
            const std::size_t first = pos;
            while (pos < f.end && number(f.flags(pos))) ++pos;
            const std::size_t count = pos - first;
            std::size_t current = first;
            if (count % 3 > 0) {
                current += count % 3;
                f.add(current);
            }
            for (; current < first + count; current += 3) f.add(current + 3);
        }
        if (f.prev_end < f.end) f.add(f.end);
    });
}

// [^\n]+|[\n]+
Lengths split_newline_runs(const std::vector<char32_t>& cpts, const Lengths& in) {
    return for_each_fragment(cpts, in, [](Fragment& f) {
        for (std::size_t pos = f.ini; pos < f.end;) {
            const bool newline = f.cpts[pos] == U'\n';
            while (pos < f.end && (f.cpts[pos] == U'\n') == newline) ++pos;
            f.add(pos);
        }
    });
}

enum class Custom { kNone, kGpt2, kLlama3, kQwen2, kQwen35, kKimiK2, kDigitGroups, kNewlineRuns };

Custom custom_splitter(const std::string& r) {
    if (r == R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))") return Custom::kGpt2;
    if (r == R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)" ||
        r == R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)") {
        return Custom::kLlama3;
    }
    if (r == R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)") {
        return Custom::kQwen2;
    }
    if (r == R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)") {
        return Custom::kQwen35;
    }
    if (r == R"(\p{Han}+)") return Custom::kKimiK2;
    if (r == R"(\p{AFMoE_digits})" || r == R"(\d{1,3}(?=(?:\d{3})*\b))") return Custom::kDigitGroups;
    if (r == R"([^\n]+|[\n]+)") return Custom::kNewlineRuns;
    return Custom::kNone;
}

// The \p{..} names llama.cpp collapses, with the byte that stands for the class and the class's
// ASCII members (as a bracket-expression body).
struct Category {
    std::string_view name;
    char byte;
    std::string_view ascii;
};
constexpr std::string_view kNumberAscii = "0-9";
constexpr std::string_view kLetterAscii = "A-Za-z";
constexpr std::string_view kPunctAscii = R"(!-#%-*,-/:-;?-@\[-\]_\{\})";
constexpr std::string_view kSymbolAscii = R"(\$\+<->^`\|\~)";
constexpr std::array<Category, 10> kCategories{{
    {R"(\p{N})", '\xD1', kNumberAscii},
    {R"(\p{L})", '\xD2', kLetterAscii},
    {R"(\p{P})", '\xD3', kPunctAscii},
    {R"(\p{M})", '\xD4', ""},
    {R"(\p{S})", '\xD5', kSymbolAscii},
    {R"(\p{Lu})", '\xD2', kLetterAscii},
    {R"(\p{Ll})", '\xD2', kLetterAscii},
    {R"(\p{Lt})", '\xD2', kLetterAscii},
    {R"(\p{Lm})", '\xD2', kLetterAscii},
    {R"(\p{Lo})", '\xD2', kLetterAscii},
}};

bool uses_categories(const std::string& r) {
    for (const auto& c : kCategories) {
        if (r.find(c.name) != std::string::npos) return true;
    }
    return false;
}

// The regex over the collapsed text: each \p{..} above becomes [<byte><ascii>] (inside a
// bracket expression, just <byte><ascii>).
std::string collapse_regex(const std::string& r) {
    std::string out;
    bool inside = false;
    for (std::size_t i = 0; i < r.size(); ++i) {
        if (r[i] == '[' && (i == 0 || r[i - 1] != '\\')) {
            out += '[';
            inside = true;
            continue;
        }
        if (inside && r[i] == ']' && r[i - 1] != '\\') {
            out += ']';
            inside = false;
            continue;
        }
        if (r[i] == '\\' && i + 3 < r.size() && r[i + 1] == 'p' && r[i + 2] == '{') {
            const std::size_t close = r.find('}', i + 3);
            if (close != std::string::npos && close <= i + 10) {
                const std::string_view name(r.data() + i, close - i + 1);
                const Category* cat = nullptr;
                for (const auto& c : kCategories) {
                    if (c.name == name) cat = &c;
                }
                if (cat != nullptr) {
                    if (!inside) out += '[';
                    out += cat->byte;
                    out += cat->ascii;
                    if (!inside) out += ']';
                    i = close;
                    continue;
                }
            }
        }
        out += r[i];
    }
    return out;
}

// The collapsed text: ASCII as is, other whitespace as \v, other code points as their class byte
// (0xD0 for classes without one).
std::string collapse_text(const std::vector<char32_t>& cpts) {
    std::string out(cpts.size(), '\0');
    for (std::size_t i = 0; i < cpts.size(); ++i) {
        const char32_t cp = cpts[i];
        if (cp < 128) {
            out[i] = static_cast<char>(cp);
            continue;
        }
        const auto f = cpt_flags(cp);
        char b = '\xD0';
        if (f & kWhitespace) {
            b = '\x0B';
        } else {
            switch (f & kCategoryMask) {
                case kNumber: b = '\xD1'; break;
                case kLetter: b = '\xD2'; break;
                case kPunctuation: b = '\xD3'; break;
                case kMark: b = '\xD4'; break;
                case kSymbol: b = '\xD5'; break;
                default: break;
            }
        }
        out[i] = b;
    }
    return out;
}

// Matches of `re` in each fragment of `text`; the gaps between matches are words too.
template <typename CharT>
Lengths split_std_regex(const std::basic_string<CharT>& text, const std::basic_regex<CharT>& re, const Lengths& in) {
    using It = typename std::basic_string<CharT>::const_iterator;
    Lengths out;
    out.reserve(in.size());
    std::size_t start = 0;
    for (const std::size_t len : in) {
        std::regex_iterator<It> it(text.begin() + static_cast<std::ptrdiff_t>(start),
                                   text.begin() + static_cast<std::ptrdiff_t>(start + len), re);
        std::size_t done = 0;
        for (; it != std::regex_iterator<It>(); ++it) {
            const auto pos = static_cast<std::size_t>(it->position());
            const auto n = static_cast<std::size_t>(it->length());
            if (pos > done) out.push_back(pos - done);
            out.push_back(n);
            done = pos + n;
        }
        if (done < len) out.push_back(len - done);
        start += len;
    }
    return out;
}

constexpr auto kRegexFlags = std::regex_constants::optimize | std::regex_constants::nosubs;

}  // namespace

struct WordSplitter::Impl {
    struct Step {
        Custom custom = Custom::kNone;
        std::regex collapsed;  // over the collapsed text
        std::wregex wide;      // over the code points
        bool use_collapsed = false;
    };
    std::vector<Step> steps;
    bool need_collapse = false;
};

WordSplitter::WordSplitter(const std::vector<std::string>& regexes) : impl_(std::make_unique<Impl>()) {
    for (const auto& r : regexes) {
        Impl::Step step;
        step.custom = custom_splitter(r);
        impl_->need_collapse = impl_->need_collapse || uses_categories(r);
        if (step.custom == Custom::kNone) {
            try {
                step.use_collapsed = uses_categories(r);
                const auto cps = decode_utf8(r);
                if (step.use_collapsed) {
                    for (char32_t cp : cps) {
                        if (cp >= 128) throw_bad_input("pre-tokenizer regex '{}' mixes \\p{{..}} and non-ASCII characters", r);
                    }
                    step.collapsed = std::regex(collapse_regex(r), kRegexFlags);
                } else {
                    step.wide = std::wregex(std::wstring(cps.begin(), cps.end()), kRegexFlags);
                }
            } catch (const std::regex_error& e) {
                throw_bad_input("pre-tokenizer regex '{}': {}", r, e.what());
            }
        }
        impl_->steps.push_back(std::move(step));
    }
}

WordSplitter::~WordSplitter() = default;
WordSplitter::WordSplitter(WordSplitter&&) noexcept = default;
WordSplitter& WordSplitter::operator=(WordSplitter&&) noexcept = default;

std::vector<std::pair<std::size_t, std::size_t>> WordSplitter::split(const std::vector<char32_t>& cpts) const {
    std::vector<std::pair<std::size_t, std::size_t>> words;
    if (cpts.empty()) return words;
    std::string collapsed;
    if (impl_->need_collapse) collapsed = collapse_text(cpts);
    std::wstring wide;
    Lengths lengths{cpts.size()};
    for (const auto& step : impl_->steps) {
        switch (step.custom) {
            case Custom::kGpt2: lengths = split_gpt2(cpts, lengths); continue;
            case Custom::kLlama3: lengths = split_llama3(cpts, lengths, 3, false); continue;
            case Custom::kQwen2: lengths = split_llama3(cpts, lengths, 1, false); continue;
            case Custom::kQwen35: lengths = split_llama3(cpts, lengths, 1, true); continue;
            case Custom::kKimiK2: lengths = split_kimi_k2(cpts, lengths); continue;
            case Custom::kDigitGroups: lengths = split_digit_groups(cpts, lengths); continue;
            case Custom::kNewlineRuns: lengths = split_newline_runs(cpts, lengths); continue;
            case Custom::kNone: break;
        }
        if (step.use_collapsed) {
            lengths = split_std_regex(collapsed, step.collapsed, lengths);
        } else {
            if (wide.empty()) {
                wide.resize(cpts.size());
                for (std::size_t i = 0; i < cpts.size(); ++i) {
                    const char32_t cp = cpts[i];
                    wide[i] = static_cast<wchar_t>(cp > 0x7F && (cpt_flags(cp) & kWhitespace) ? 0x0B : cp);
                }
            }
            lengths = split_std_regex(wide, step.wide, lengths);
        }
    }
    words.reserve(lengths.size());
    std::size_t start = 0;
    for (const std::size_t len : lengths) {
        words.emplace_back(start, start + len);
        start += len;
    }
    return words;
}

}  // namespace qbench::tokenizer::llama
