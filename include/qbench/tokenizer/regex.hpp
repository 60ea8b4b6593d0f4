// A compiled PCRE2 regex (UTF + UCP, JIT when available) with the match iteration of the Oniguruma
// binding that HF `tokenizers` uses for its Split / ByteLevel / Replace patterns.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct pcre2_real_code_8;

namespace qbench::tokenizer {

class Regex {
public:
    // Compiles `pattern` (Oniguruma / Rust syntax as written in tokenizer.json; `\s` and `\S`
    // mean Unicode White_Space as there). Throws a kBadInput Error naming the pattern.
    explicit Regex(std::string_view pattern);
    ~Regex();
    Regex(Regex&& other) noexcept;
    Regex& operator=(Regex&& other) noexcept;
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    // Successive non-overlapping matches [begin, end) in the valid UTF-8 string `s`, left to
    // right. An empty match right after the previous match is skipped (one character on).
    std::vector<std::pair<std::size_t, std::size_t>> find_all(std::string_view s) const;

    const std::string& pattern() const { return pattern_; }

private:
    std::string pattern_;
    pcre2_real_code_8* code_ = nullptr;
};

// The pattern of a Split pre-tokenizer or a Replace normalizer / decoder: a literal string (as
// HF does, an escaped regex) or a regex.
class Pattern {
public:
    Pattern(std::string_view text, bool is_regex);

    // Non-overlapping matches, left to right (see Regex::find_all).
    std::vector<std::pair<std::size_t, std::size_t>> find_all(std::string_view s) const;
    // `s` with every match replaced by `content`.
    std::string replace_all(std::string_view s, std::string_view content) const;

private:
    std::string literal_;
    std::unique_ptr<Regex> regex_;
};

}  // namespace qbench::tokenizer
