#include "qbench/tokenizer/regex.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <memory>

#include "qbench/tokenizer/unicode.hpp"
#include "qbench/util/error.hpp"

namespace qbench::tokenizer {

namespace {

// White_Space as a class body: what `\s` means in Oniguruma and Rust's regex crate. PCRE2's UCP
// `\s` leaves out U+0085.
constexpr std::string_view kSpaceClassBody =
    "\\t-\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}"
    "\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}";

// Rewrites `\s` / `\S` into explicit White_Space classes; everything else is passed through.
std::string translate_pattern(std::string_view p) {
    std::string out;
    out.reserve(p.size() + 64);
    int class_depth = 0;
    for (std::size_t i = 0; i < p.size(); ++i) {
        const char c = p[i];
        if (c == '\\' && i + 1 < p.size()) {
            const char n = p[i + 1];
            if (n == 's') {
                if (class_depth > 0) {
                    out += kSpaceClassBody;
                } else {
                    out += '[';
                    out += kSpaceClassBody;
                    out += ']';
                }
            } else if (n == 'S' && class_depth == 0) {
                out += "[^";
                out += kSpaceClassBody;
                out += ']';
            } else {
                out += c;
                out += n;
            }
            ++i;
            continue;
        }
        if (c == '[') {
            ++class_depth;
            out += c;
            // A ']' right after '[' or '[^' is a literal.
            if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
            if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
            continue;
        }
        if (c == ']' && class_depth > 0) --class_depth;
        out += c;
    }
    return out;
}

struct MatchData {
    pcre2_match_data* data;
    pcre2_match_context* context;
    pcre2_jit_stack* stack;

    MatchData()
        : data(pcre2_match_data_create(1, nullptr)),
          context(pcre2_match_context_create(nullptr)),
          stack(pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr)) {
        pcre2_jit_stack_assign(context, nullptr, stack);
    }
    ~MatchData() {
        pcre2_jit_stack_free(stack);
        pcre2_match_context_free(context);
        pcre2_match_data_free(data);
    }
};

MatchData& thread_match_data() {
    thread_local MatchData data;
    return data;
}

}  // namespace

Regex::Regex(std::string_view pattern) : pattern_(pattern) {
    const std::string translated = translate_pattern(pattern);
    int error = 0;
    PCRE2_SIZE offset = 0;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                          PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
    if (code_ == nullptr) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(error, message, sizeof(message));
        throw_bad_input("invalid regex '{}' at offset {}: {}", pattern_, offset,
                        reinterpret_cast<const char*>(message));
    }
    pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE);  // falls back to the interpreter on failure
}

Regex::~Regex() { pcre2_code_free(code_); }

Regex::Regex(Regex&& other) noexcept : pattern_(std::move(other.pattern_)), code_(other.code_) {
    other.code_ = nullptr;
}

Regex& Regex::operator=(Regex&& other) noexcept {
    if (this != &other) {
        pcre2_code_free(code_);
        pattern_ = std::move(other.pattern_);
        code_ = other.code_;
        other.code_ = nullptr;
    }
    return *this;
}

std::vector<std::pair<std::size_t, std::size_t>> Regex::find_all(std::string_view s) const {
    std::vector<std::pair<std::size_t, std::size_t>> matches;
    MatchData& md = thread_match_data();
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(s.data());
    std::size_t pos = 0;
    std::size_t last_match_end = std::string_view::npos;
    while (pos <= s.size()) {
        const int rc =
            pcre2_match(code_, subject, s.size(), pos, PCRE2_NO_UTF_CHECK, md.data, md.context);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR message[256];
            pcre2_get_error_message(rc, message, sizeof(message));
            throw_runtime("regex '{}' failed: {}", pattern_,
                          reinterpret_cast<const char*>(message));
        }
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.data);
        const std::size_t begin = ov[0];
        const std::size_t end = ov[1];
        if (begin == end && last_match_end == end) {
            if (pos >= s.size()) break;
            std::size_t len = 0;
            next_code_point(s, pos, len);
            pos += len;
            continue;
        }
        matches.emplace_back(begin, end);
        pos = end;
        last_match_end = end;
    }
    return matches;
}

Pattern::Pattern(std::string_view text, bool is_regex)
    : literal_(is_regex ? "" : text), regex_(is_regex ? std::make_unique<Regex>(text) : nullptr) {}

std::vector<std::pair<std::size_t, std::size_t>> Pattern::find_all(std::string_view s) const {
    if (regex_) return regex_->find_all(s);
    std::vector<std::pair<std::size_t, std::size_t>> matches;
    if (literal_.empty()) return matches;
    for (std::size_t pos = s.find(literal_); pos != std::string_view::npos;
         pos = s.find(literal_, pos + literal_.size())) {
        matches.emplace_back(pos, pos + literal_.size());
    }
    return matches;
}

std::string Pattern::replace_all(std::string_view s, std::string_view content) const {
    std::string out;
    out.reserve(s.size());
    std::size_t prev = 0;
    for (const auto& [begin, end] : find_all(s)) {
        out.append(s.substr(prev, begin - prev));
        out.append(content);
        prev = end;
    }
    out.append(s.substr(prev));
    return out;
}

}  // namespace qbench::tokenizer
