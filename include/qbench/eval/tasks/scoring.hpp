// Filters and metrics of lm-evaluation-harness, exactly (reference/lm-eval-harness.md §3, §4.2,
// §4.4, §6.1). Pure functions over strings and numbers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "qbench/eval/tasks/task.hpp"

namespace qbench::eval::tasks {

// A Python-`re`-like regex on PCRE2 (UTF + UCP): findall with groups, sub.
class PyRegex {
public:
    explicit PyRegex(std::string_view pattern);  // kBadInput naming the pattern
    ~PyRegex();
    PyRegex(const PyRegex&) = delete;
    PyRegex& operator=(const PyRegex&) = delete;
    // re.findall: per match, the groups (unmatched groups as ""); with no groups, the whole match.
    std::vector<std::vector<std::string>> findall(std::string_view s) const;
    // re.sub(pattern, replacement, s) with a literal replacement.
    std::string sub(std::string_view s, std::string_view replacement) const;
    // re.split(pattern, s) for a pattern without groups.
    std::vector<std::string> split(std::string_view s) const;
    // bool(re.search(pattern, s)).
    bool search(std::string_view s) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// One filter chain over one response (lm-eval's filters: regex -> findall, match[group_select],
// a tuple becomes its first non-empty group, strip; no match -> fallback; take_first keeps the
// first response, which is the identity on a single response).
std::string apply_filters(const std::vector<FilterStep>& steps, const std::string& response);

// exact_match_hf_evaluate on one (prediction, reference): regexes_to_ignore deleted in order,
// then lowercase, then ASCII punctuation removed; 1.0 when equal.
double exact_match(const MetricConfig& m, const std::string& prediction, const std::string& reference);

// Multiple-choice scores from per-choice loglikelihoods (lm-eval's process_results): acc =
// argmax ll; acc_norm = argmax ll / len(choice in characters, without the delimiter);
// acc_bytes = argmax ll / UTF-8 bytes. Ties go to the first (numpy argmax). `gold` holds one
// index or several (any matches); -100 is never right.
struct ChoiceScores {
    std::int64_t pred = 0, pred_norm = 0, pred_bytes = 0;
    double acc = 0, acc_norm = 0, acc_bytes = 0;
};
ChoiceScores score_choices(const std::vector<double>& lls, const std::vector<std::string>& choices,
                           const std::vector<std::int64_t>& gold);

// Unbiased pass@k (Chen et al. 2021, HF code_eval): 1 − Π_{i=n−c+1}^{n} (1 − k/i), 1 when
// n − c < k. Throws kBadInput unless 0 <= c <= n and 1 <= k <= n.
double pass_at_k(std::int64_t n, std::int64_t c, std::int64_t k);

// Unicode code points in a UTF-8 string (Python len()).
std::int64_t code_points(std::string_view s);

}  // namespace qbench::eval::tasks
