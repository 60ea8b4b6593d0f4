// Serving cost: dollars per million tokens from an instance's price and its sustained throughput,
// by price tier, quality-adjusted, with the calibration cost of a quantized checkpoint amortized
// over the tokens it is expected to serve (the seed's "Cost Analysis" and anti-pattern 4).
// Every function throws qbench::Error(kBadInput) for a negative or non-finite price, a
// throughput <= 0 and the other conditions it lists.
#pragma once

namespace qbench::cost {

inline constexpr double kSecondsPerHour = 3600.0;
inline constexpr double kTokensPerMillion = 1e6;

// usd_per_hour / (tokens_per_s · 3600) · 1e6, the seed's cost_per_million_tokens.
// Seed table (Llama-2-70B): 7.00 $/h at 2150 tok/s -> 0.90439 (the seed prints 0.905); 3.50 at
// 3400 -> 0.28595; 3.50 at 5800 -> 0.16762; 3.50 at 5500 -> 0.17677; 0.40 at 1200 -> 0.09259.
double usd_per_million_tokens(double usd_per_hour, double tokens_per_s);

// How many times cheaper the variant is: baseline / variant (e.g. 0.90439 / 0.16762 = 5.40).
// Throws unless both costs are > 0.
double cost_ratio(double baseline_usd_per_million, double variant_usd_per_million);

// The hourly prices of one instance under the usual cloud price tiers.
struct PriceTiers {
    double on_demand_usd_per_hour = 0.0;
    double reserved_usd_per_hour = 0.0;
    double spot_usd_per_hour = 0.0;
};

struct TierCosts {
    double on_demand_usd_per_million_tokens = 0.0;
    double reserved_usd_per_million_tokens = 0.0;
    double spot_usd_per_million_tokens = 0.0;
};

// usd_per_million_tokens() at each tier's price.
TierCosts usd_per_million_tokens_by_tier(const PriceTiers& tiers, double tokens_per_s);

// The quality-adjusted multiplier: baseline_score / variant_score for a higher-is-better score,
// so a variant that keeps 95 % of the baseline's score costs 1/0.95 = 1.053 times as much per
// unit of quality. Throws unless both scores are > 0.
double quality_factor(double baseline_score, double variant_score);

// The one-off cost of producing a quantized checkpoint (e.g. GPTQ on 70B: 4 GPU-hours; AQLM:
// 128 GPU-hours), spread over the tokens the checkpoint is expected to serve before it is
// replaced.
struct Calibration {
    double gpu_hours = 0.0;
    double usd_per_gpu_hour = 0.0;
    double served_tokens = 0.0;  // expected tokens served by this checkpoint
};

// gpu_hours · usd_per_gpu_hour. Throws for negative hours or price.
double calibration_usd(const Calibration& calibration);

// calibration_usd / (served_tokens / 1e6). Zero when the calibration costs nothing. Throws when
// it costs something and served_tokens <= 0.
double calibration_usd_per_million_tokens(const Calibration& calibration);

struct CostInput {
    double usd_per_hour = 0.0;
    double tokens_per_s = 0.0;
    double quality_factor = 1.0;  // see quality_factor(); 1 for the baseline
    Calibration calibration;      // all zero for no calibration (e.g. the FP16 baseline)
};

struct CostBreakdown {
    double usd_per_million_tokens = 0.0;                   // serving only
    double calibration_usd = 0.0;
    double calibration_usd_per_million_tokens = 0.0;       // amortized
    double total_usd_per_million_tokens = 0.0;             // serving + amortized calibration
    double quality_adjusted_usd_per_million_tokens = 0.0;  // total · quality_factor
};

// The whole breakdown. Throws as the functions above, and unless quality_factor > 0.
CostBreakdown cost_breakdown(const CostInput& input);

}  // namespace qbench::cost
