#include "qbench/cost/cost.hpp"

#include <cmath>

#include "qbench/util/error.hpp"

namespace qbench::cost {

namespace {

void check_non_negative(const char* name, double value) {
    if (!(value >= 0.0) || !std::isfinite(value)) {
        throw_bad_input("{} must be a finite number >= 0, got {}", name, value);
    }
}

void check_positive(const char* name, double value) {
    if (!(value > 0.0) || !std::isfinite(value)) {
        throw_bad_input("{} must be a finite number > 0, got {}", name, value);
    }
}

}  // namespace

double usd_per_million_tokens(double usd_per_hour, double tokens_per_s) {
    check_non_negative("the price ($/hour)", usd_per_hour);
    check_positive("the throughput (tokens/s)", tokens_per_s);
    return usd_per_hour / (tokens_per_s * kSecondsPerHour) * kTokensPerMillion;
}

double cost_ratio(double baseline_usd_per_million, double variant_usd_per_million) {
    check_positive("the baseline cost ($/M tokens)", baseline_usd_per_million);
    check_positive("the variant cost ($/M tokens)", variant_usd_per_million);
    return baseline_usd_per_million / variant_usd_per_million;
}

TierCosts usd_per_million_tokens_by_tier(const PriceTiers& tiers, double tokens_per_s) {
    return TierCosts{usd_per_million_tokens(tiers.on_demand_usd_per_hour, tokens_per_s),
                     usd_per_million_tokens(tiers.reserved_usd_per_hour, tokens_per_s),
                     usd_per_million_tokens(tiers.spot_usd_per_hour, tokens_per_s)};
}

double quality_factor(double baseline_score, double variant_score) {
    check_positive("the baseline score", baseline_score);
    check_positive("the variant score", variant_score);
    return baseline_score / variant_score;
}

double calibration_usd(const Calibration& calibration) {
    check_non_negative("calibration GPU-hours", calibration.gpu_hours);
    check_non_negative("the calibration price ($/GPU-hour)", calibration.usd_per_gpu_hour);
    return calibration.gpu_hours * calibration.usd_per_gpu_hour;
}

double calibration_usd_per_million_tokens(const Calibration& calibration) {
    const double usd = calibration_usd(calibration);
    if (usd == 0.0) {
        return 0.0;
    }
    check_positive("the expected served tokens", calibration.served_tokens);
    return usd / (calibration.served_tokens / kTokensPerMillion);
}

CostBreakdown cost_breakdown(const CostInput& input) {
    check_positive("the quality factor", input.quality_factor);
    CostBreakdown b;
    b.usd_per_million_tokens = usd_per_million_tokens(input.usd_per_hour, input.tokens_per_s);
    b.calibration_usd = calibration_usd(input.calibration);
    b.calibration_usd_per_million_tokens = calibration_usd_per_million_tokens(input.calibration);
    b.total_usd_per_million_tokens =
        b.usd_per_million_tokens + b.calibration_usd_per_million_tokens;
    b.quality_adjusted_usd_per_million_tokens =
        b.total_usd_per_million_tokens * input.quality_factor;
    return b;
}

}  // namespace qbench::cost
