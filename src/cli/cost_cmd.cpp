// `qbench cost`: dollars per million tokens from a price and a throughput, optionally
// quality-adjusted and with an amortized calibration cost (DESIGN.md, "The command line").
#include <fmt/format.h>

#include <memory>
#include <string>
#include <nlohmann/json.hpp>

#include "qbench/cli/commands.hpp"
#include "qbench/cost/cost.hpp"

namespace qbench::cli {

namespace {

struct CostOptions {
    cost::CostInput input;
    bool json = false;
};

void run_cost(const CostOptions& o) {
    const cost::CostBreakdown b = cost::cost_breakdown(o.input);
    const cost::Calibration& cal = o.input.calibration;
    if (o.json) {
        const nlohmann::json j = {
            {"usd_per_hour", o.input.usd_per_hour},
            {"tokens_per_s", o.input.tokens_per_s},
            {"usd_per_million_tokens", b.usd_per_million_tokens},
            {"calibration_gpu_hours", cal.gpu_hours},
            {"calibration_usd_per_gpu_hour", cal.usd_per_gpu_hour},
            {"served_tokens", cal.served_tokens},
            {"calibration_usd", b.calibration_usd},
            {"calibration_usd_per_million_tokens", b.calibration_usd_per_million_tokens},
            {"total_usd_per_million_tokens", b.total_usd_per_million_tokens},
            {"quality_factor", o.input.quality_factor},
            {"quality_adjusted_usd_per_million_tokens", b.quality_adjusted_usd_per_million_tokens}};
        fmt::print("{}\n", j.dump(2));
        return;
    }
    const auto row = [](const std::string& label, const std::string& value) {
        fmt::print("  {:<34} {}\n", label, value);
    };
    fmt::print("serving cost at {:g} $/hour and {:g} tokens/s\n", o.input.usd_per_hour,
               o.input.tokens_per_s);
    row("$ per million tokens", fmt::format("{:.4f}", b.usd_per_million_tokens));
    if (b.calibration_usd > 0.0) {
        row("calibration $", fmt::format("{:.2f}   ({:g} GPU-hours, amortized over {:g} tokens)",
                                         b.calibration_usd, cal.gpu_hours, cal.served_tokens));
        row("calibration $ per million tokens",
            fmt::format("{:.4f}", b.calibration_usd_per_million_tokens));
        row("total $ per million tokens", fmt::format("{:.4f}", b.total_usd_per_million_tokens));
    }
    if (o.input.quality_factor != 1.0) {
        row(fmt::format("quality-adjusted (x{:.4f})", o.input.quality_factor),
            fmt::format("{:.4f}", b.quality_adjusted_usd_per_million_tokens));
    }
}

}  // namespace

void add_cost_command(CLI::App& app, Context& ctx) {
    auto o = std::make_shared<CostOptions>();
    CLI::App* cmd = app.add_subcommand("cost", "Dollars per million tokens served");
    cmd->add_option("--usd-per-hour", o->input.usd_per_hour, "Instance price ($/hour)")
        ->required();
    cmd->add_option("--tokens-per-s", o->input.tokens_per_s, "Sustained throughput (tokens/s)")
        ->required();
    cmd->add_option("--quality-factor", o->input.quality_factor,
                    "Multiplier for quality-adjusted cost (baseline score / variant score)")
        ->capture_default_str();
    cmd->add_option("--calibration-gpu-hours", o->input.calibration.gpu_hours,
                    "GPU-hours spent producing the quantized checkpoint");
    cmd->add_option("--calibration-usd-per-gpu-hour", o->input.calibration.usd_per_gpu_hour,
                    "Price of a calibration GPU-hour ($)");
    cmd->add_option("--served-tokens", o->input.calibration.served_tokens,
                    "Tokens the checkpoint is expected to serve (amortizes calibration)");
    cmd->add_flag("--json", o->json, "Print one JSON object");
    cmd->callback([o, &ctx] {
        run_cost(*o);
        ctx.exit_code = 0;
    });
}

}  // namespace qbench::cli
