#include "qbench/report/reporter.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "qbench/report/comparison.hpp"
#include "qbench/report/gates.hpp"
#include "qbench/report/task_comparison.hpp"
#include "qbench/util/files.hpp"

namespace qbench::report {

namespace {

// A table cell: '|' would end the cell, a newline the row.
std::string cell(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '|') out += "\\|";
        else if (c == '\n') out += ' ';
        else out += c;
    }
    return out;
}

std::string fixed4(double x) {
    return std::isfinite(x) ? fmt::format("{:.4f}", x) : fmt::format("{}", x);
}

std::string pct(double x) {
    return std::isfinite(x) ? fmt::format("{:.2f}", 100.0 * x) : "-";
}

void write_tasks(std::ostream& out, const std::vector<VariantResult>& variants) {
    const bool any = std::any_of(variants.begin(), variants.end(),
                                 [](const VariantResult& v) { return !v.tasks.empty(); });
    if (!any) return;
    out << "\n## Tasks\n\n";
    out << "Scores in percent; 95% CI: Wilson for 0/1 metrics, mean ± t·se otherwise.\n\n";
    out << "| variant | task | metric | n | score | 95% CI | stderr |\n";
    out << "|---|---|---|--:|--:|---|--:|\n";
    for (const auto& v : variants) {
        for (const auto& t : v.tasks) {
            for (const auto& m : t.metrics) {
                out << fmt::format("| {} | {} | {} | {} | {} | [{}, {}] | {} |\n", cell(v.name), cell(t.name),
                                   cell(m.name), m.n, pct(m.value), pct(m.ci_lower), pct(m.ci_upper),
                                   pct(m.stderr_value));
            }
        }
    }
    const auto cmp = compare_tasks(variants);
    if (cmp.empty()) return;
    out << "\n### Tasks against the baseline\n\n";
    out << "Paired on the same items. delta = variant − baseline (points); 95% CI: Tango score interval "
           "(0/1 metrics) or paired t; p: McNemar mid-p or paired t; significant: Holm-adjusted p <= 0.05 "
           "over the variant's task metrics; flips b/c: right→wrong / wrong→right; MDE: the smallest "
           "difference detectable at this n with 80% power.\n\n";
    out << "| variant | task | metric | baseline | variant | delta | 95% CI | significant | p | p (Holm) | "
           "flips b/c | MDE | n |\n";
    out << "|---|---|---|--:|--:|--:|---|---|--:|--:|--:|--:|--:|\n";
    for (const auto& c : cmp) {
        out << fmt::format("| {} | {} | {} | {} | {} | {:+.2f} | [{}, {}] | {} | {:.4g} | {:.4g} | {}/{} | {} | {} |\n",
                           cell(c.variant), cell(c.task), cell(c.metric), pct(c.baseline_value),
                           pct(c.variant_value), 100.0 * c.difference, pct(c.ci_lower), pct(c.ci_upper),
                           c.significant ? "yes" : "no", c.p_value, c.p_holm, c.b, c.c, pct(c.mde), c.n);
    }
}

void write_gates(std::ostream& out, const std::vector<GateResult>& gates) {
    if (gates.empty()) return;
    std::size_t failed = 0;
    for (const auto& g : gates) failed += g.passed ? 0 : 1;
    out << "\n## Quality gates\n\n";
    out << (failed == 0 ? fmt::format("All {} gate checks passed.\n\n", gates.size())
                        : fmt::format("**{} of {} gate checks FAILED.**\n\n", failed, gates.size()));
    out << "| result | variant | gate | detail |\n|---|---|---|---|\n";
    for (const auto& g : gates)
        out << fmt::format("| {} | {} | {} | {} |\n", g.passed ? "pass" : "**FAIL**", cell(g.variant), cell(g.gate),
                           cell(g.detail));
}

}  // namespace

std::vector<GateSpec> gate_specs(const RunContext& context) {
    if (!context.config.is_object() || !context.config.contains("gates")) return {};
    return gate_specs_from_json(context.config.at("gates"));
}

void JsonReporter::report_context(const RunContext& context) {
    report_.context = context;
}

void JsonReporter::report_variants(const std::vector<VariantResult>& variants) {
    report_.variants = variants;
}

void JsonReporter::finalize() {
    nlohmann::json j = report_;
    // Derived from the variants (recomputed by readers, never parsed back).
    nlohmann::json ppl = nlohmann::json::array();
    for (const auto& c : compare_perplexity(report_.variants)) {
        ppl.push_back({{"variant", c.variant},
                       {"baseline", c.baseline},
                       {"protocol", c.protocol},
                       {"ppl_variant", c.ppl_variant},
                       {"ppl_baseline", c.ppl_baseline},
                       {"ratio", c.ratio},
                       {"ratio_ci", {c.ratio_ci_lower, c.ratio_ci_upper}},
                       {"confidence", c.confidence},
                       {"blocks", c.blocks},
                       {"tokens", c.tokens},
                       {"significant", c.significant},
                       {"method", c.method},
                       {"note", c.note}});
    }
    j["comparisons"] = {{"perplexity", ppl}, {"tasks", compare_tasks(report_.variants)}};
    j["gates"] = evaluate_gates(report_.variants, gate_specs(report_.context));
    out() << j.dump(2) << '\n';
}

void MarkdownReporter::report_context(const RunContext& c) {
    const std::string name =
        c.config.is_object() && c.config.contains("name") && c.config["name"].is_string()
            ? c.config["name"].get<std::string>()
            : std::string("run");
    out() << fmt::format("# qbench report: {}\n\n", name);
    out() << fmt::format("- qbench {} ({}, {}, {})\n", c.qbench_version, c.git_commit,
                         c.build_type, c.compiler);
    out() << fmt::format("- LibTorch {}, CUDA {}\n", c.libtorch_version,
                         c.cuda_version.empty() ? "none" : c.cuda_version);
    out() << fmt::format("- device {}{}; CPU {}, {} threads; seed {}\n", c.device,
                         c.gpu_name.empty() ? "" : " (" + c.gpu_name + ")", c.cpu_model,
                         c.threads, c.seed);
    out() << fmt::format("- config sha256 {}\n", c.config_sha256);
    out() << fmt::format("- started {}, last written {}\n\n", c.start_time, c.end_time);
    gates_ = gate_specs(c);
}

void MarkdownReporter::report_variants(const std::vector<VariantResult>& variants) {
    write_perplexity(variants);
    write_tasks(out(), variants);
    write_gates(out(), evaluate_gates(variants, gates_));
}

void MarkdownReporter::write_perplexity(const std::vector<VariantResult>& variants) {
    out() << "## Variants\n\n";
    out() << "| variant | quantization | dtype | weight MiB | status |\n";
    out() << "|---|---|---|--:|---|\n";
    for (const auto& v : variants) {
        const double weight_mib = static_cast<double>(v.model.weight_bytes) / 1048576.0;
        out() << fmt::format("| {}{} | {} | {} | {:.1f} | {} |\n", cell(v.name),
                             v.baseline ? " (baseline)" : "", cell(v.model.quantization),
                             cell(v.model.dtype), weight_mib,
                             v.status == "ok" ? "ok" : cell(v.status + ": " + v.error));
    }

    out() << "\n## Perplexity\n\n";
    const bool any = std::any_of(variants.begin(), variants.end(),
                                 [](const VariantResult& v) { return !v.perplexity.empty(); });
    if (!any) {
        out() << "No perplexity results.\n";
        return;
    }
    out() << "| variant | protocol | PPL | tokens scored |\n";
    out() << "|---|---|--:|--:|\n";
    for (const auto& v : variants) {
        for (const auto& r : v.perplexity) {
            out() << fmt::format("| {} | {} | {} | {} |\n", cell(v.name), cell(r.protocol), fixed4(r.ppl),
                                 r.tokens_scored);
        }
    }
    const auto comparisons = compare_perplexity(variants);
    if (comparisons.empty()) return;
    out() << "\n### Perplexity against the baseline\n\n";
    out() << "PPL ratio = PPL(variant) / PPL(baseline) on the same protocol, data and windows; the "
             "95% CI is computed over the scored windows (documents for lm-eval-rolling), not over "
             "tokens.\n\n";
    out() << "| variant | protocol | PPL baseline | PPL variant | ratio | 95% CI | significant |\n";
    out() << "|---|---|--:|--:|--:|---|---|\n";
    for (const auto& c : comparisons) {
        const std::string ci = std::isfinite(c.ratio_ci_lower) && std::isfinite(c.ratio_ci_upper)
                                   ? fmt::format("[{:.4f}, {:.4f}]", c.ratio_ci_lower, c.ratio_ci_upper)
                                   : (c.note.empty() ? std::string("-") : cell(c.note));
        out() << fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", cell(c.variant), cell(c.protocol),
                             fixed4(c.ppl_baseline), fixed4(c.ppl_variant), fixed4(c.ratio), ci,
                             c.significant ? "yes" : "no");
    }
}

void MarkdownReporter::finalize() {
    out().flush();
}

void render(const Report& report, Reporter& reporter) {
    reporter.report_context(report.context);
    reporter.report_variants(report.variants);
    reporter.finalize();
}

void write_report(const Report& report, const std::filesystem::path& out_dir) {
    std::ostringstream json_text;
    JsonReporter json(json_text);
    render(report, json);
    write_file_atomic(out_dir / "report.json", json_text.str());

    std::ostringstream md_text;
    MarkdownReporter md(md_text);
    render(report, md);
    write_file_atomic(out_dir / "report.md", md_text.str());
}

}  // namespace qbench::report
