// Small string helpers shared by config validation, CLI parsing and reports.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qbench {

std::vector<std::string> split(std::string_view s, char sep);
// The offset of the first byte that is not part of well-formed UTF-8 (no overlong forms, no
// surrogates, nothing above U+10FFFF, no truncated sequence), or nullopt for valid text.
std::optional<std::size_t> first_invalid_utf8(std::string_view s);
std::string_view trim(std::string_view s);
std::string join(const std::vector<std::string>& parts, std::string_view sep);

// Levenshtein edit distance.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` when it is a plausible misspelling (distance <= max(1, len/3)).
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "" — for error messages.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace qbench
