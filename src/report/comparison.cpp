#include "qbench/report/comparison.hpp"

#include <fmt/format.h>

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
            if (!std::isfinite(r.ppl) || !std::isfinite(b->ppl)) {
                c.failed = true;
                c.ratio = NAN;
                c.note = fmt::format("failed: the {} perplexity is null", std::isfinite(r.ppl) ? "baseline's" : "variant's");
                out.push_back(std::move(c));
                continue;
            }
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

std::vector<FailedValue> failed_values(const std::vector<VariantResult>& variants) {
    std::vector<FailedValue> out;
    for (const auto& v : variants) {
        if (v.status != "ok") {
            out.push_back({v.name, "variant", v.status + ": " + v.error});
            continue;
        }
        auto check = [&](double x, std::string what) {
            if (!std::isfinite(x)) out.push_back({v.name, std::move(what), "null"});
        };
        for (const auto& p : v.perplexity) check(p.ppl, "perplexity (" + p.protocol + ")");
        if (v.kld) check(v.kld->kld_mean, "kld_mean (" + v.kld->protocol + ")");
        for (const auto& t : v.tasks)
            for (const auto& m : t.metrics) check(m.value, "task " + t.name + " " + m.name);
        if (v.throughput) {
            for (const auto& d : v.throughput->decode)
                check(d.tokens_per_s, fmt::format("decode batch {} tokens/s", d.batch_size));
            for (const auto& p : v.throughput->prefill)
                check(p.tokens_per_s, fmt::format("prefill {} tokens/s", p.sequence_tokens));
            if (v.throughput->end_to_end) check(v.throughput->end_to_end->output_tokens_per_s, "end-to-end tokens/s");
        }
    }
    return out;
}

}  // namespace qbench::report
