#include "qbench/report/comparison.hpp"

#include <cmath>

#include "qbench/stats/perplexity_ci.hpp"
#include "qbench/util/error.hpp"

namespace qbench::report {
namespace {

const PerplexityResult* matching(const VariantResult& baseline, const PerplexityResult& r) {
    for (const auto& b : baseline.perplexity) {
        if (b.protocol == r.protocol && b.data_sha256 == r.data_sha256 && b.max_length == r.max_length &&
            b.stride == r.stride) {
            return &b;
        }
    }
    return nullptr;
}

std::vector<stats::Block> blocks_of(const PerplexityResult& r) {
    std::vector<stats::Block> out;
    out.reserve(r.blocks.size());
    for (const auto& b : r.blocks) out.push_back({b.nll_sum, b.tokens});
    return out;
}

}  // namespace

std::vector<PerplexityComparison> compare_perplexity(const std::vector<VariantResult>& variants,
                                                     double confidence) {
    const VariantResult* baseline = nullptr;
    for (const auto& v : variants) {
        if (v.baseline && v.status == "ok") baseline = &v;
    }
    std::vector<PerplexityComparison> out;
    if (baseline == nullptr) return out;
    for (const auto& v : variants) {
        if (&v == baseline || v.status != "ok") continue;
        for (const auto& r : v.perplexity) {
            const PerplexityResult* b = matching(*baseline, r);
            if (b == nullptr) continue;
            PerplexityComparison c;
            c.variant = v.name;
            c.baseline = baseline->name;
            c.protocol = r.protocol;
            c.ppl_variant = r.ppl;
            c.ppl_baseline = b->ppl;
            c.ratio = b->ppl > 0 ? r.ppl / b->ppl : NAN;
            c.confidence = confidence;
            c.blocks = static_cast<std::int64_t>(r.blocks.size());
            c.tokens = r.tokens_scored;
            c.method = "block-t";
            c.ratio_ci_lower = NAN;
            c.ratio_ci_upper = NAN;
            try {
                const auto s = stats::ppl_ratio_ci(blocks_of(r), blocks_of(*b), confidence);
                c.ratio_ci_lower = s.ratio_ci.lower;
                c.ratio_ci_upper = s.ratio_ci.upper;
                c.significant = s.ratio_ci.lower > 1.0 || s.ratio_ci.upper < 1.0;
                if (c.blocks < 2) c.note = "one block: no interval";
            } catch (const Error& e) {
                c.note = e.what();
            }
            out.push_back(std::move(c));
        }
    }
    return out;
}

}  // namespace qbench::report
