#include "qbench/report/gates.hpp"
#include "qbench/report/markdown.hpp"

#include <fmt/format.h>

#include <cmath>

#include "qbench/report/comparison.hpp"
#include "qbench/report/task_comparison.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"

namespace qbench::report {

namespace {

std::optional<double> opt_number(const nlohmann::json& j, const char* key) {
    if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
    return j.at(key).get<double>();
}

std::string xml_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string cell(std::string_view s) { return markdown_cell(s); }

std::string pct(double x) { return std::isfinite(x) ? fmt::format("{:.2f}", 100.0 * x) : "-"; }

}  // namespace

std::vector<GateSpec> gate_specs_from_json(const nlohmann::json& gates) {
    std::vector<GateSpec> out;
    if (gates.is_null()) return out;
    try {
        for (const auto& g : gates) {
            GateSpec s;
            s.name = g.value("name", "");
            s.metric = g.at("metric").get<std::string>();
            s.task = g.value("task", "");
            s.protocol = g.value("protocol", "");
            s.max_drop = opt_number(g, "max_drop");
            s.significant = g.value("significant", false);
            s.max = opt_number(g, "max");
            s.min = opt_number(g, "min");
            if (s.name.empty()) s.name = s.task.empty() ? s.metric : s.task + " " + s.metric;
            out.push_back(std::move(s));
        }
    } catch (const nlohmann::json::exception& e) {
        throw_bad_input("gates: {}", e.what());
    }
    return out;
}

std::vector<GateResult> evaluate_gates(const std::vector<VariantResult>& variants, const std::vector<GateSpec>& gates) {
    if (gates.empty()) return {};
    return evaluate_gates(variants, gates, compare_tasks(variants), compare_perplexity(variants));
}

std::vector<GateResult> evaluate_gates(const std::vector<VariantResult>& variants, const std::vector<GateSpec>& gates,
                                       const std::vector<MetricComparison>& task_cmp,
                                       const std::vector<PerplexityComparison>& ppl_cmp) {
    std::vector<GateResult> out;
    for (const auto& g : gates) {
        for (const auto& v : variants) {
            if (v.baseline) continue;
            GateResult r;
            r.gate = g.name;
            r.variant = v.name;
            if (v.status != "ok") {  // no value to check: the gate fails
                r.passed = false;
                r.detail = "the variant failed: " + v.error;
                out.push_back(std::move(r));
                continue;
            }
            std::vector<std::string> problems, facts;
            auto bound = [&](double value, const char* what) {
                if (!std::isfinite(value)) {
                    problems.push_back(fmt::format("{} failed (null: not a finite number)", what));
                    return;
                }
                if (g.max && !(value <= *g.max)) problems.push_back(fmt::format("{} {:.6g} > max {:.6g}", what, value, *g.max));
                if (g.min && !(value >= *g.min)) problems.push_back(fmt::format("{} {:.6g} < min {:.6g}", what, value, *g.min));
                facts.push_back(fmt::format("{} {:.6g}", what, value));
            };
            if (g.metric == "perplexity_ratio") {
                bool any = false;
                for (const auto& c : ppl_cmp) {
                    if (c.variant != v.name || (!g.protocol.empty() && c.protocol != g.protocol)) continue;
                    any = true;
                    bound(c.ratio, ("PPL ratio (" + c.protocol + ")").c_str());
                }
                if (!any) problems.push_back("no perplexity comparison with the baseline in the report");
            } else if (g.metric == "kld") {
                const VariantResult* base = nullptr;
                for (const auto& x : variants)
                    if (x.baseline && x.status == "ok") base = &x;
                if (!v.kld) {
                    problems.push_back("no KLD result for this variant in the report (perplexity.kld off, or the "
                                       "baseline's distributions were missing)");
                } else if (!g.protocol.empty() && v.kld->protocol != g.protocol) {
                    problems.push_back(fmt::format("KLD was measured on protocol '{}', the gate asks for '{}'",
                                                   v.kld->protocol, g.protocol));
                } else if (base != nullptr && base->name != v.kld->baseline) {
                    problems.push_back(fmt::format("KLD was measured against '{}', not against the baseline '{}'",
                                                   v.kld->baseline, base->name));
                } else {
                    bound(v.kld->kld_mean, "mean KLD");
                    facts.push_back(fmt::format("95% CI [{:.6g}, {:.6g}], {} tokens, top-{}{}, same top {:.2f}%",
                                                v.kld->kld_ci_lower, v.kld->kld_ci_upper, v.kld->tokens,
                                                v.kld->top_k, v.kld->exact ? " (exact)" : " + tail (lower bound)",
                                                100 * v.kld->same_top));
                }
            } else {
                const MetricComparison* c = nullptr;
                for (const auto& x : task_cmp)
                    if (x.variant == v.name && x.task == g.task && x.metric == g.metric) c = &x;
                if (c == nullptr) {
                    problems.push_back(fmt::format("no paired result for task '{}' metric '{}' in the report", g.task, g.metric));
                } else {
                    bound(c->variant_value, g.metric.c_str());
                    if (!std::isfinite(c->baseline_value)) {
                        problems.push_back(fmt::format("baseline {} failed (null: not a finite number)", g.metric));
                    } else if (g.max_drop && std::isfinite(c->variant_value)) {
                        const double drop = c->baseline_value - c->variant_value;
                        facts.push_back(fmt::format("drop {:.2f} points (baseline {:.2f}, variant {:.2f}), 95% CI of "
                                                    "the difference [{:.2f}, {:.2f}], Holm p {:.4g}",
                                                    100 * drop, 100 * c->baseline_value, 100 * c->variant_value,
                                                    100 * c->ci_lower, 100 * c->ci_upper, c->p_holm));
                        if (drop > *g.max_drop && (!g.significant || c->significant))
                            problems.push_back(fmt::format("drop {:.2f} points > {:.2f}{}", 100 * drop, 100 * *g.max_drop,
                                                           g.significant ? " and significant" : ""));
                    }
                }
            }
            r.passed = problems.empty();
            std::string detail;
            for (const auto& p : problems) detail += (detail.empty() ? "" : "; ") + p;
            for (const auto& f : facts) detail += (detail.empty() ? "" : "; ") + f;
            r.detail = detail;
            out.push_back(std::move(r));
        }
    }
    return out;
}

std::string junit_xml(const std::vector<GateResult>& results) {
    std::size_t failures = 0;
    for (const auto& r : results) failures += r.passed ? 0 : 1;
    std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    x += fmt::format("<testsuites tests=\"{}\" failures=\"{}\">\n", results.size(), failures);
    x += fmt::format("  <testsuite name=\"qbench gates\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\">\n",
                     results.size(), failures);
    for (const auto& r : results) {
        x += fmt::format("    <testcase classname=\"{}\" name=\"{}\"", xml_escape(r.variant), xml_escape(r.gate));
        if (r.passed) {
            x += fmt::format(">\n      <system-out>{}</system-out>\n    </testcase>\n", xml_escape(r.detail));
        } else {
            x += fmt::format(">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n", xml_escape(r.detail),
                             xml_escape(r.detail));
        }
    }
    x += "  </testsuite>\n</testsuites>\n";
    return x;
}

std::string ci_summary_markdown(const std::vector<GateResult>& results, const std::vector<MetricComparison>& cmp) {
    std::size_t failed = 0;
    for (const auto& r : results) failed += r.passed ? 0 : 1;
    std::string md = "## qbench quality gates\n\n";
    md += failed == 0 ? fmt::format("**PASSED**: all {} gate checks passed.\n\n", results.size())
                      : fmt::format("**FAILED**: {} of {} gate checks failed.\n\n", failed, results.size());
    if (!results.empty()) {
        md += "| result | variant | gate | detail |\n|---|---|---|---|\n";
        for (const auto& r : results)
            md += fmt::format("| {} | {} | {} | {} |\n", r.passed ? "pass" : "**FAIL**", cell(r.variant), cell(r.gate),
                              cell(r.detail));
    }
    if (!cmp.empty()) {
        md += "\n### Task metrics against the baseline\n\n";
        md += "| variant | task | metric | baseline | variant | delta | 95% CI | significant (Holm) |\n";
        md += "|---|---|---|--:|--:|--:|---|---|\n";
        for (const auto& c : cmp)
            md += fmt::format("| {} | {} | {} | {} | {} | {} | [{}, {}] | {} |\n", cell(c.variant), cell(c.task),
                              cell(c.metric), pct(c.baseline_value), pct(c.variant_value), pct(c.difference),
                              pct(c.ci_lower), pct(c.ci_upper), c.significant ? "yes" : "no");
    }
    return md;
}

void write_gate_files(const std::vector<GateResult>& results, const std::vector<MetricComparison>& task_comparisons,
                      const std::filesystem::path& out_dir) {
    write_file_atomic(out_dir / "junit.xml", junit_xml(results));
    write_file_atomic(out_dir / "ci_summary.md", ci_summary_markdown(results, task_comparisons));
}

}  // namespace qbench::report
