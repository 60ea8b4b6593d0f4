// `qbench compare REPORT.json... [--baseline NAME] [--out DIR] [--json]`: rebuilds the
// comparisons of every variant against the baseline (perplexity ratios, paired task metrics
// with Holm across tasks) and the quality gates from report files and their sample logs alone,
// without loading a model. Exit code 1 when a gate fails or a value is failed (a failed variant,
// a null where a number belongs: report::failed_values).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "qbench/cli/commands.hpp"
#include "qbench/report/comparison.hpp"
#include "qbench/report/gates.hpp"
#include "qbench/report/reporter.hpp"
#include "qbench/report/task_comparison.hpp"
#include "qbench/util/error.hpp"

namespace qbench::cli {
namespace {

namespace fs = std::filesystem;

struct CompareOptions {
    std::vector<std::string> reports;
    std::string baseline;
    std::string out;
    bool json = false;
};

int run_compare(const CompareOptions& o) {
    std::vector<report::VariantResult> variants;
    std::vector<report::GateSpec> gates;
    std::string first_baseline;
    std::map<std::string, int> seen;
    for (std::size_t i = 0; i < o.reports.size(); ++i) {
        const fs::path path = o.reports[i];
        report::Report rep = report::read_report(path);
        if (i == 0) gates = report::gate_specs(rep.context);
        for (auto& v : rep.variants) {
            if (v.baseline && first_baseline.empty()) first_baseline = v.name;
            for (auto& t : v.tasks) report::load_item_scores(t, path.parent_path());
            if (seen[v.name]++ > 0) v.name += fmt::format("@{}", i + 1);  // same name in two reports
            variants.push_back(std::move(v));
        }
    }
    const std::string baseline = o.baseline.empty() ? first_baseline : o.baseline;
    bool found = false;
    std::vector<std::string> names;
    for (auto& v : variants) {
        v.baseline = v.name == baseline;
        found = found || v.baseline;
        names.push_back(v.name);
    }
    if (!found) throw_bad_input("--baseline: no variant named '{}' among {}", baseline, fmt::join(names, ", "));

    const report::Derived derived = report::derive(variants, gates);
    const auto& gate_results = derived.gates;
    if (!o.out.empty()) {
        fs::create_directories(o.out);
        report::write_gate_files(gate_results, derived.tasks, o.out);
    }
    bool gate_failed = false;
    for (const auto& g : gate_results) gate_failed = gate_failed || !g.passed;
    const auto failed_values = report::failed_values(variants);
    if (o.json) {
        nlohmann::json p = nlohmann::json::array();
        for (const auto& c : derived.perplexity)
            p.push_back({{"variant", c.variant}, {"protocol", c.protocol}, {"ratio", c.ratio},
                         {"ratio_ci", {c.ratio_ci_lower, c.ratio_ci_upper}}, {"significant", c.significant},
                         {"failed", c.failed}, {"note", c.note}});
        nlohmann::json f = nlohmann::json::array();
        for (const auto& x : failed_values) f.push_back({{"variant", x.variant}, {"what", x.what}, {"detail", x.detail}});
        fmt::print("{}\n", nlohmann::json{{"baseline", baseline},
                                          {"comparisons", {{"perplexity", p}, {"kld", report::kld_comparisons_json(variants)}, {"tasks", derived.tasks}}},
                                          {"failed", f},
                                          {"gates", gate_results},
                                          {"gates_passed", !gate_failed}}
                               .dump(2));
    } else {
        std::ostringstream md;
        report::MarkdownReporter r(md);
        report::Derived tables = derived;
        tables.gates.clear();  // printed below, in the CI summary
        r.report_variants(variants, tables);
        fmt::print("{}", md.str());
        if (!gate_results.empty()) fmt::print("\n{}", report::ci_summary_markdown(gate_results, derived.tasks));
    }
    return gate_failed || !failed_values.empty() ? 1 : 0;
}

}  // namespace

void add_compare_command(CLI::App& app, Context& ctx) {
    auto o = std::make_shared<CompareOptions>();
    CLI::App* cmd = app.add_subcommand(
        "compare", "Compare variants against a baseline from report files (and their sample logs) alone");
    cmd->add_option("REPORTS", o->reports, "report.json files")->required()->check(CLI::ExistingFile);
    cmd->add_option("--baseline", o->baseline, "The baseline variant (default: the first report's)");
    cmd->add_option("--out", o->out, "Write junit.xml and ci_summary.md (the gates) into this directory");
    cmd->add_flag("--json", o->json, "Print one JSON object");
    cmd->callback([o, &ctx] { ctx.exit_code = run_compare(*o); });
}

}  // namespace qbench::cli
