// UTF-8 and Unicode helpers for the tokenizers. Character properties and normalization come from
// utf8proc; the predicates mirror the Rust `char` methods that HF `tokenizers` uses.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace qbench::tokenizer {

// Decodes the code point at s[pos] of a valid UTF-8 string; `len` receives its byte length.
char32_t next_code_point(std::string_view s, std::size_t pos, std::size_t& len);

// Appends the UTF-8 encoding of `cp` to `out`.
void append_utf8(std::string& out, char32_t cp);

// `bytes` as valid UTF-8: each maximal invalid subpart becomes one U+FFFD, exactly as Rust's
// String::from_utf8_lossy and Python's bytes.decode("utf-8", errors="replace") do. Valid input
// is returned unchanged.
std::string utf8_lossy(std::string_view bytes);
bool is_valid_utf8(std::string_view bytes);

// Rust char::is_whitespace (the White_Space property).
bool is_whitespace(char32_t cp);
// Rust char::is_numeric (general category Nd, Nl or No).
bool is_numeric(char32_t cp);
// HF's punctuation test: ASCII punctuation or general category P*.
bool is_punctuation(char32_t cp);
// The Unicode `\w` of Rust's regex crate (Alphabetic, marks, Nd, Pc, joiners).
bool is_word_char(char32_t cp);

enum class NormalForm { kNfc, kNfd, kNfkc, kNfkd };
// `s` (valid UTF-8) in the given normalization form.
std::string normalize_unicode(std::string_view s, NormalForm form);
// Rust char::to_lowercase applied to each character (no context-dependent final sigma).
std::string lowercase(std::string_view s);

// GPT-2's byte-to-unicode table: the UTF-8 text of the character that stands for byte b.
const std::string& byte_level_char(std::uint8_t b);
// The byte that code point cp stands for in the byte-level alphabet, or -1.
int byte_level_byte(char32_t cp);

}  // namespace qbench::tokenizer
