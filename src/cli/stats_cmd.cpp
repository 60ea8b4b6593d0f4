// `qbench stats two-proportion | mcnemar | wilson`: the statistics module on numbers given on the
// command line (DESIGN.md, "The command line").
#include <fmt/format.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <nlohmann/json.hpp>

#include "qbench/cli/commands.hpp"
#include "qbench/stats/mcnemar.hpp"
#include "qbench/stats/paired.hpp"
#include "qbench/stats/proportion.hpp"
#include "qbench/stats/unpaired.hpp"

namespace qbench::cli {

namespace {

nlohmann::json interval_json(const stats::Interval& ci) {
    return {{"lower", ci.lower}, {"upper", ci.upper}};
}

nlohmann::json interval_json(const stats::Interval& ci, const char* method) {
    return {{"lower", ci.lower}, {"upper", ci.upper}, {"method", method}};
}

void print_json(const nlohmann::json& j) {
    fmt::print("{}\n", j.dump(2));
}

// One line of a human-readable table: an indented label column, then the value.
void row(const std::string& label, const std::string& value) {
    fmt::print("  {:<26} {}\n", label, value);
}

std::string ci_label(double confidence, const char* method) {
    return fmt::format("{:g}% CI ({})", 100.0 * confidence, method);
}

std::string signed_interval(const stats::Interval& ci) {
    return fmt::format("[{:+.4f}, {:+.4f}]", ci.lower, ci.upper);
}

std::string mde_label(double power) {
    return fmt::format("MDE at {:g}% power", 100.0 * power);
}

struct TwoProportionOptions {
    double p1 = 0.0;
    double p2 = 0.0;
    std::int64_t n = 0;
    double confidence = 0.95;
    double power = 0.8;
    bool json = false;
};

void run_two_proportion(const TwoProportionOptions& o) {
    const stats::TwoProportion r = stats::two_proportion(o.p1, o.p2, o.n, o.confidence, o.power);
    if (o.json) {
        print_json({{"design", "unpaired"},
                    {"test", "pooled two-proportion z-test"},
                    {"p1", r.p1},
                    {"p2", r.p2},
                    {"n", r.n},
                    {"confidence", r.confidence},
                    {"difference", r.difference},
                    {"pooled", r.pooled},
                    {"se", r.se},
                    {"z", r.z},
                    {"p_value", r.p_value},
                    {"significant", r.significant},
                    {"critical_difference", r.critical_difference},
                    {"mde", r.mde},
                    {"mde_power", r.mde_power},
                    {"ci", interval_json(r.ci, "newcombe-hybrid-score")},
                    {"wald_ci", interval_json(r.wald_ci)}});
        return;
    }
    fmt::print("pooled two-proportion z-test (unpaired: for the same items, prefer mcnemar)\n");
    row("p1 - p2", fmt::format("{:+.4f}   (p1 = {:.4f}, p2 = {:.4f}, n = {} per arm)",
                               r.difference, r.p1, r.p2, r.n));
    row("z", fmt::format("{:.4f}", r.z));
    row("p-value", fmt::format("{:.4g}   ({})", r.p_value,
                               r.significant ? "significant" : "not significant"));
    row(ci_label(r.confidence, "Newcombe"), signed_interval(r.ci));
    row(ci_label(r.confidence, "Wald"), signed_interval(r.wald_ci));
    row("z_crit * se", fmt::format("{:.4f}   (detected with 50% power only)",
                                   r.critical_difference));
    row(mde_label(r.mde_power), fmt::format("{:.4f}", r.mde));
}

struct McNemarOptions {
    std::int64_t b = 0;
    std::int64_t c = 0;
    std::int64_t n = 0;
    bool with_n = false;  // --n given: add the interval, flips and MDE
    double confidence = 0.95;
    bool json = false;
};

void run_mcnemar(const McNemarOptions& o) {
    const stats::McNemar m = stats::mcnemar(o.b, o.c);
    nlohmann::json j = {{"b", m.b},           {"c", m.c},
                        {"exact_p", m.exact_p}, {"mid_p", m.mid_p},
                        {"chi2", m.chi2},       {"chi2_p", m.chi2_p},
                        {"chi2_cc", m.chi2_cc}, {"chi2_cc_p", m.chi2_cc_p}};
    std::optional<stats::PairedComparison> paired;
    if (o.with_n) {
        paired = stats::paired_binary_counts(o.n, o.b, o.c, o.confidence);
        const stats::PairedComparison& r = *paired;
        j["n"] = r.n;
        j["confidence"] = r.confidence;
        j["difference"] = r.difference;
        j["ci"] = interval_json(r.ci, "tango");
        j["wald_ci"] = interval_json(r.wald_ci);
        j["flips"] = r.flips;
        j["flips_correct_to_incorrect"] = r.flips_correct_to_incorrect;
        j["flips_incorrect_to_correct"] = r.flips_incorrect_to_correct;
        j["flips_ci"] = interval_json(r.flips_ci, "wilson");
        j["mde"] = r.mde;
        j["mde_power"] = r.mde_power;
    }
    if (o.json) {
        print_json(j);
        return;
    }
    fmt::print("McNemar test, b = {} (correct -> incorrect), c = {} (incorrect -> correct)\n",
               m.b, m.c);
    row("exact p", fmt::format("{:.4g}", m.exact_p));
    row("mid-p", fmt::format("{:.4g}   (recommended)", m.mid_p));
    row("chi2 p", fmt::format("{:.4g}   (chi2 = {:.4f})", m.chi2_p, m.chi2));
    row("chi2 p, corrected", fmt::format("{:.4g}   (chi2 = {:.4f})", m.chi2_cc_p, m.chi2_cc));
    if (paired) {
        const stats::PairedComparison& r = *paired;
        row("difference (c - b)/n", fmt::format("{:+.4f}   (n = {})", r.difference, r.n));
        row(ci_label(r.confidence, "Tango"), signed_interval(r.ci));
        row(ci_label(r.confidence, "Wald"), signed_interval(r.wald_ci));
        row("flips (b + c)/n", fmt::format("{:.4f}   (b/n = {:.4f}, c/n = {:.4f})", r.flips,
                                           r.flips_correct_to_incorrect,
                                           r.flips_incorrect_to_correct));
        row(ci_label(r.confidence, "flips, Wilson"),
            fmt::format("[{:.4f}, {:.4f}]", r.flips_ci.lower, r.flips_ci.upper));
        row(mde_label(r.mde_power), fmt::format("{:.4f}", r.mde));
    }
}

struct WilsonOptions {
    std::int64_t k = 0;
    std::int64_t n = 0;
    double confidence = 0.95;
    bool json = false;
};

void run_wilson(const WilsonOptions& o) {
    const stats::Interval w = stats::wilson(o.k, o.n, o.confidence);
    const stats::Interval cp = stats::clopper_pearson(o.k, o.n, o.confidence);
    const double p = static_cast<double>(o.k) / static_cast<double>(o.n);
    if (o.json) {
        print_json({{"k", o.k},
                    {"n", o.n},
                    {"proportion", p},
                    {"confidence", o.confidence},
                    {"wilson", interval_json(w)},
                    {"clopper_pearson", interval_json(cp)}});
        return;
    }
    fmt::print("proportion k/n = {}/{} = {:.4f}\n", o.k, o.n, p);
    row(ci_label(o.confidence, "Wilson"), fmt::format("[{:.4f}, {:.4f}]", w.lower, w.upper));
    row(ci_label(o.confidence, "Clopper-Pearson"),
        fmt::format("[{:.4f}, {:.4f}]", cp.lower, cp.upper));
}

}  // namespace

void add_stats_command(CLI::App& app, Context& ctx) {
    CLI::App* stats_cmd = app.add_subcommand("stats", "Statistical tests on given numbers");
    stats_cmd->require_subcommand(1);

    auto tp = std::make_shared<TwoProportionOptions>();
    CLI::App* two = stats_cmd->add_subcommand(
        "two-proportion", "Pooled two-proportion z-test (unpaired, the seed's is_significant)");
    two->add_option("--p1", tp->p1, "First proportion, in [0, 1]")->required();
    two->add_option("--p2", tp->p2, "Second proportion, in [0, 1]")->required();
    two->add_option("--n", tp->n, "Items per arm")->required();
    two->add_option("--confidence", tp->confidence, "Confidence level")->capture_default_str();
    two->add_option("--power", tp->power, "Power of the minimum detectable effect")
        ->capture_default_str();
    two->add_flag("--json", tp->json, "Print one JSON object");
    two->callback([tp, &ctx] {
        run_two_proportion(*tp);
        ctx.exit_code = 0;
    });

    auto mc = std::make_shared<McNemarOptions>();
    CLI::App* mcn = stats_cmd->add_subcommand(
        "mcnemar", "McNemar test on discordant counts (paired); with --n also the CI and flips");
    mcn->add_option("--b", mc->b, "Items the baseline got right and the variant wrong")
        ->required();
    mcn->add_option("--c", mc->c, "Items the baseline got wrong and the variant right")
        ->required();
    CLI::Option* n_opt =
        mcn->add_option("--n", mc->n, "Total items (adds the Tango CI, flips and MDE)");
    mcn->add_option("--confidence", mc->confidence, "Confidence level")->capture_default_str();
    mcn->add_flag("--json", mc->json, "Print one JSON object");
    mcn->callback([mc, n_opt, &ctx] {
        mc->with_n = n_opt->count() > 0;
        run_mcnemar(*mc);
        ctx.exit_code = 0;
    });

    auto wo = std::make_shared<WilsonOptions>();
    CLI::App* wil = stats_cmd->add_subcommand(
        "wilson", "Wilson and Clopper-Pearson intervals for k successes in n");
    wil->add_option("--k", wo->k, "Successes")->required();
    wil->add_option("--n", wo->n, "Trials")->required();
    wil->add_option("--confidence", wo->confidence, "Confidence level")->capture_default_str();
    wil->add_flag("--json", wo->json, "Print one JSON object");
    wil->callback([wo, &ctx] {
        run_wilson(*wo);
        ctx.exit_code = 0;
    });
}

}  // namespace qbench::cli
