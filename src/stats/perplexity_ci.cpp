#include "qbench/stats/perplexity_ci.hpp"

#include <cmath>
#include <cstddef>
#include <limits>
#include <random>

#include "qbench/stats/percentile.hpp"
#include "qbench/util/error.hpp"

namespace qbench::stats {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Validates the blocks and fills the point estimates.
PerplexityRatio point_estimate(const std::vector<Block>& a, const std::vector<Block>& b,
                               double confidence) {
    check_confidence(confidence);
    if (a.size() != b.size()) {
        throw_bad_input("a perplexity ratio needs the same blocks: {} blocks vs {}", a.size(),
                        b.size());
    }
    if (a.empty()) {
        throw_bad_input("a perplexity ratio needs at least one block");
    }
    PerplexityRatio r;
    r.blocks = static_cast<std::int64_t>(a.size());
    r.confidence = confidence;
    double nll_a = 0.0;
    double nll_b = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].tokens != b[i].tokens || a[i].tokens < 0) {
            throw_bad_input("block {} has {} tokens in one variant and {} in the other (the blocks "
                            "must be the same windows)", i, a[i].tokens, b[i].tokens);
        }
        if (!std::isfinite(a[i].nll_sum) || !std::isfinite(b[i].nll_sum)) {
            throw_bad_input("block {} has a non-finite NLL sum", i);
        }
        r.tokens += a[i].tokens;
        nll_a += a[i].nll_sum;
        nll_b += b[i].nll_sum;
    }
    if (r.tokens < 1) {
        throw_bad_input("a perplexity ratio needs at least one scored token");
    }
    const double t = static_cast<double>(r.tokens);
    r.ppl_a = std::exp(nll_a / t);
    r.ppl_b = std::exp(nll_b / t);
    r.ln_ratio = (nll_a - nll_b) / t;
    r.ratio = std::exp(r.ln_ratio);
    return r;
}

void set_ln_interval(PerplexityRatio& r, Interval ln_ci) {
    r.ln_ratio_ci = ln_ci;
    r.ratio_ci = Interval{std::exp(ln_ci.lower), std::exp(ln_ci.upper)};
}

void set_undefined_interval(PerplexityRatio& r) {
    r.se_ln_ratio = std::numeric_limits<double>::quiet_NaN();
    set_ln_interval(r, Interval{-kInf, kInf});
}

// A uniform index in [0, n) from the 64-bit generator, by rejection (no modulo bias).
std::size_t uniform_index(std::mt19937_64& rng, std::uint64_t n) {
    const std::uint64_t threshold = (0 - n) % n;
    std::uint64_t x = rng();
    while (x < threshold) {
        x = rng();
    }
    return static_cast<std::size_t>(x % n);
}

}  // namespace

PerplexityRatio ppl_ratio_ci(const std::vector<Block>& blocks_a, const std::vector<Block>& blocks_b,
                             double confidence) {
    PerplexityRatio r = point_estimate(blocks_a, blocks_b, confidence);
    r.method = "block-t";
    if (r.blocks == 1) {
        set_undefined_interval(r);
        return r;
    }
    double ss = 0.0;
    for (std::size_t i = 0; i < blocks_a.size(); ++i) {
        const double d = blocks_a[i].nll_sum - blocks_b[i].nll_sum;
        const double resid = d - r.ln_ratio * static_cast<double>(blocks_a[i].tokens);
        ss += resid * resid;
    }
    const double c = static_cast<double>(r.blocks);
    r.se_ln_ratio = std::sqrt(c / (c - 1.0) * ss) / static_cast<double>(r.tokens);
    const double half = t_critical(confidence, c - 1.0) * r.se_ln_ratio;
    set_ln_interval(r, Interval{r.ln_ratio - half, r.ln_ratio + half});
    return r;
}

PerplexityRatio ppl_ratio_bootstrap(const std::vector<Block>& blocks_a,
                                    const std::vector<Block>& blocks_b, double confidence,
                                    std::int64_t resamples, std::uint64_t seed) {
    PerplexityRatio r = point_estimate(blocks_a, blocks_b, confidence);
    if (resamples < 2) {
        throw_bad_input("a bootstrap needs at least 2 resamples, got {}", resamples);
    }
    r.method = "block-bootstrap";
    r.resamples = resamples;
    r.seed = seed;
    if (r.blocks == 1) {
        set_undefined_interval(r);
        return r;
    }
    const std::size_t c = blocks_a.size();
    std::vector<double> diffs(c);
    for (std::size_t i = 0; i < c; ++i) {
        diffs[i] = blocks_a[i].nll_sum - blocks_b[i].nll_sum;
    }
    std::mt19937_64 rng(seed);
    std::vector<double> stats;
    stats.reserve(static_cast<std::size_t>(resamples));
    while (static_cast<std::int64_t>(stats.size()) < resamples) {
        double d_sum = 0.0;
        std::int64_t t_sum = 0;
        for (std::size_t k = 0; k < c; ++k) {
            const std::size_t i = uniform_index(rng, c);
            d_sum += diffs[i];
            t_sum += blocks_a[i].tokens;
        }
        if (t_sum > 0) {
            stats.push_back(d_sum / static_cast<double>(t_sum));
        }
    }
    double mean = 0.0;
    for (double s : stats) {
        mean += s;
    }
    mean /= static_cast<double>(stats.size());
    double ss = 0.0;
    for (double s : stats) {
        ss += (s - mean) * (s - mean);
    }
    r.se_ln_ratio = std::sqrt(ss / static_cast<double>(stats.size() - 1));
    const double alpha = 1.0 - confidence;
    set_ln_interval(r, Interval{percentile(stats, alpha / 2.0),
                                percentile(stats, 1.0 - alpha / 2.0)});
    return r;
}

}  // namespace qbench::stats
