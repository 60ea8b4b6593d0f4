// Comparisons of each variant against the baseline, derived from the variants' results alone
// (so `qbench compare` can rebuild them from report files). Perplexity: the ratio of PPLs on the
// same protocol, data and windows, with a confidence interval over the per-window (or
// per-document) blocks — never over tokens as if they were independent.
#pragma once

#include <string>
#include <vector>

#include "qbench/report/results.hpp"

namespace qbench::report {

struct PerplexityComparison {
    std::string variant;
    std::string baseline;
    std::string protocol;
    double ppl_variant = 0.0;
    double ppl_baseline = 0.0;
    double ratio = 0.0;           // PPL(variant) / PPL(baseline)
    double ratio_ci_lower = 0.0;  // block-clustered t interval (stats::ppl_ratio_ci)
    double ratio_ci_upper = 0.0;
    double confidence = 0.95;
    std::int64_t blocks = 0;
    std::int64_t tokens = 0;
    bool significant = false;     // the interval excludes 1
    bool failed = false;          // a PPL is null (non-finite or missing): no ratio
    std::string method;           // "block-t"
    std::string note;             // why no interval could be computed (e.g. one block)
};

// A value a reader found failed: a variant that failed, or a null (non-finite or missing) number
// where a result belongs (a PPL, the mean KLD, a task score, a throughput). Never read as zero,
// never passing a gate; `qbench compare` lists them and exits 1.
struct FailedValue {
    std::string variant;
    std::string what;    // "variant", "perplexity (sliding)", "kld_mean", "task arc acc", "decode batch 1 tokens/s"
    std::string detail;  // the variant's error, or "null"
};
std::vector<FailedValue> failed_values(const std::vector<VariantResult>& variants);

// One comparison per (non-baseline variant, protocol) whose blocks line up with the baseline's
// (same protocol, data sha256, max_length, stride, block count and tokens per block).
std::vector<PerplexityComparison> compare_perplexity(const std::vector<VariantResult>& variants,
                                                     double confidence = 0.95);

}  // namespace qbench::report
