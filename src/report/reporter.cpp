#include "qbench/report/reporter.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "qbench/report/comparison.hpp"
#include "qbench/report/fields.hpp"
#include "qbench/report/markdown.hpp"
#include "qbench/report/gates.hpp"
#include "qbench/report/task_comparison.hpp"
#include "qbench/util/files.hpp"

namespace qbench::report {

namespace {

std::string cell(std::string_view s) { return markdown_cell(s); }

// A result value: a null (non-finite) one is a failed value (report/comparison.hpp).
std::string fixed4(double x) {
    return std::isfinite(x) ? fmt::format("{:.4f}", x) : "**failed**";
}

std::string rate1(double x) {
    return std::isfinite(x) ? fmt::format("{:.1f}", x) : "**failed**";
}

// An interval bound or other secondary figure: "-" when absent.
std::string pct(double x) {
    return std::isfinite(x) ? fmt::format("{:.2f}", 100.0 * x) : "-";
}

void write_tasks(std::ostream& out, const std::vector<VariantResult>& variants, const std::vector<MetricComparison>& cmp) {
    const bool any = std::any_of(variants.begin(), variants.end(),
                                 [](const VariantResult& v) { return !v.tasks.empty(); });
    if (!any) return;
    out << "\n## Tasks\n\n";
    out << "Scores in percent; 95% CI: Wilson for 0/1 metrics, mean ± t·se otherwise.\n\n";
    std::vector<std::pair<std::vector<std::string>, const TaskMetricResult*>> rows;
    for (const auto& v : variants)
        for (const auto& t : v.tasks)
            for (const auto& m : t.metrics) rows.push_back({{v.name, t.name}, &m});
    out << markdown(keyed_table({"variant", "task"}, task_metric_fields(), rows,
                                {"name", "n", "value", "ci_lower", "ci_upper", "stderr"}));
    if (cmp.empty()) return;
    out << "\n### Tasks against the baseline\n\n";
    out << "Paired on the same items. delta = variant − baseline (points); 95% CI: Tango score interval "
           "(0/1 metrics) or paired t; p: McNemar mid-p or paired t; significant: Holm-adjusted p <= 0.05 "
           "over the variant's task metrics; flips b/c: right→wrong / wrong→right; MDE: the smallest "
           "difference detectable at this n with 80% power (with no flips, b = c = 0, McNemar's floor: the "
           "smallest difference detectable at this n even if every flip went one way).\n\n";
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

// The value of percentile q in a list (NaN when absent), with a mark when under-sampled.
std::string pctl(const std::vector<SamplePercentile>& ps, double q, double scale, const char* format) {
    for (const auto& p : ps) {
        if (std::abs(p.q - q) < 1e-12) {
            return fmt::format(fmt::runtime(format), scale * p.value) + (p.undersampled ? "*" : "");
        }
    }
    return "-";
}

void write_kld(std::ostream& out, const std::vector<VariantResult>& variants) {
    const bool any = std::any_of(variants.begin(), variants.end(), [](const VariantResult& v) {
        return v.kld.has_value() || !v.kld_unavailable.empty();
    });
    if (!any) return;
    out << "\n### KL divergence against the baseline\n\n";
    for (const auto& v : variants) {
        if (!v.kld_unavailable.empty()) out << fmt::format("- {}: no KLD: {}\n", cell(v.name), cell(v.kld_unavailable));
    }
    out << "Per token KL(P_baseline || P_variant) in nats over the scored tokens of one protocol. k = the "
           "baseline tokens kept per position; the rest of the vocabulary is one tail bucket, so with k < vocab "
           "the KLD is a lower bound (exact when k = vocab). 95% CIs are block t intervals over windows "
           "(documents for lm-eval-rolling), not over tokens. * = fewer than 10 / (1 − q) tokens.\n\n";
    out << "| variant | protocol | tokens | k / vocab | mean KLD | 95% CI | median | P90 | P95 | P99 | P99.9 | max | "
           "same top % | 95% CI |\n";
    out << "|---|---|--:|---|--:|---|--:|--:|--:|--:|--:|--:|--:|---|\n";
    for (const auto& v : variants) {
        if (!v.kld) continue;
        const auto& k = *v.kld;
        const char* g = "{:.3g}";
        out << fmt::format("| {} | {} | {} | {} / {}{} | {:.6f} | [{:.6f}, {:.6f}] | {} | {} | {} | {} | {} | {} | {:.2f} | "
                           "[{:.2f}, {:.2f}] |\n",
                           cell(v.name), cell(k.protocol), k.tokens, k.top_k, k.vocab_size,
                           k.exact ? " (exact)"
                                   : k.variant_top_k > 0 ? fmt::format(" (variant served: its top-{}, a lower bound)", k.variant_top_k)
                                                         : std::string(),
                           k.kld_mean, k.kld_ci_lower, k.kld_ci_upper, pctl(k.kld_percentiles, 0.5, 1, g),
                           pctl(k.kld_percentiles, 0.9, 1, g), pctl(k.kld_percentiles, 0.95, 1, g),
                           pctl(k.kld_percentiles, 0.99, 1, g), pctl(k.kld_percentiles, 0.999, 1, g),
                           pctl(k.kld_percentiles, 1.0, 1, g), 100 * k.same_top, 100 * k.same_top_ci_lower,
                           100 * k.same_top_ci_upper);
    }
    out << "\nProbability of the true token: Δp = p_variant − p_baseline, in percentage points.\n\n";
    out << "| variant | mean Δp | 95% CI | RMS Δp | min | P1 | P5 | P25 | median | P75 | P95 | P99 | max |\n";
    out << "|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n";
    for (const auto& v : variants) {
        if (!v.kld) continue;
        const auto& k = *v.kld;
        const auto& ps = k.delta_p_percentiles;
        const char* f = "{:.3f}";
        out << fmt::format("| {} | {:+.3f} | [{:+.3f}, {:+.3f}] | {:.3f} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                           cell(v.name), 100 * k.delta_p_mean, 100 * k.delta_p_ci_lower, 100 * k.delta_p_ci_upper,
                           100 * k.delta_p_rms, pctl(ps, 0.0, 100, f), pctl(ps, 0.01, 100, f), pctl(ps, 0.05, 100, f),
                           pctl(ps, 0.25, 100, f), pctl(ps, 0.5, 100, f), pctl(ps, 0.75, 100, f), pctl(ps, 0.95, 100, f),
                           pctl(ps, 0.99, 100, f), pctl(ps, 1.0, 100, f));
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

nlohmann::json kld_comparisons_json(const std::vector<VariantResult>& variants) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : variants) {
        if (!v.kld || v.baseline || v.status != "ok") continue;
        const auto& k = *v.kld;
        auto num = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); };
        out.push_back({{"variant", v.name},
                       {"baseline", k.baseline},
                       {"protocol", k.protocol},
                       {"tokens", k.tokens},
                       {"top_k", k.top_k},
                       {"exact", k.exact},
                       {"kld_mean", num(k.kld_mean)},
                       {"kld_ci", {num(k.kld_ci_lower), num(k.kld_ci_upper)}},
                       {"same_top", num(k.same_top)},
                       {"same_top_ci", {num(k.same_top_ci_lower), num(k.same_top_ci_upper)}},
                       {"delta_p_mean", num(k.delta_p_mean)},
                       {"delta_p_rms", num(k.delta_p_rms)}});
    }
    return out;
}

std::vector<GateSpec> gate_specs(const RunContext& context) {
    if (!context.config.is_object() || !context.config.contains("gates")) return {};
    return gate_specs_from_json(context.config.at("gates"));
}

void JsonReporter::report_context(const RunContext& context) {
    report_.context = context;
}

void JsonReporter::report_variants(const std::vector<VariantResult>& variants, const Derived& derived) {
    report_.variants = variants;
    derived_ = derived;
}

void JsonReporter::finalize() {
    nlohmann::json j = report_;
    // Derived from the variants (recomputed by readers, never parsed back).
    nlohmann::json ppl = nlohmann::json::array();
    for (const auto& c : derived_.perplexity) ppl.push_back(fields_json(perplexity_comparison_fields(), c));
    j["comparisons"] = {{"perplexity", ppl},
                        {"kld", kld_comparisons_json(report_.variants)},
                        {"tasks", derived_.tasks}};
    j["gates"] = derived_.gates;
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
}

void MarkdownReporter::report_variants(const std::vector<VariantResult>& variants, const Derived& derived) {
    write_perplexity(variants, derived.perplexity);
    write_tasks(out(), variants, derived.tasks);
    write_gates(out(), derived.gates);
}

void MarkdownReporter::write_perplexity(const std::vector<VariantResult>& variants,
                                        const std::vector<PerplexityComparison>& comparisons) {
    out() << "## Variants\n\n";
    out() << "| variant | quantization | dtype | weight MiB | load s | status |\n";
    out() << "|---|---|---|--:|--:|---|\n";
    for (const auto& v : variants) {
        const double weight_mib = static_cast<double>(v.model.weight_bytes) / 1048576.0;
        out() << fmt::format("| {}{} | {} | {} | {:.1f} | {:.2f} | {} |\n", cell(v.name),
                             v.baseline ? " (baseline)" : "", cell(v.model.quantization),
                             cell(v.model.dtype), weight_mib, v.model.load_seconds,
                             v.status == "ok" ? "ok" : cell(v.status + ": " + v.error));
    }
    const auto failed = failed_values(variants);
    if (!failed.empty()) {
        out() << "\n**Failed values** (a failed variant, or a null where a number belongs: never read as zero, "
                 "never passing a gate):\n\n";
        for (const auto& f : failed)
            out() << fmt::format("- {}: {}: **failed** ({})\n", cell(f.variant), cell(f.what), cell(f.detail));
    }

    out() << "\n## Perplexity\n\n";
    const bool any = std::any_of(variants.begin(), variants.end(),
                                 [](const VariantResult& v) { return !v.perplexity.empty(); });
    if (!any) {
        out() << "No perplexity results.\n";
    } else {
        report_perplexity(variants, comparisons);
        write_kld(out(), variants);
    }
    report_throughput(variants);
    report_cost(variants);
}

void MarkdownReporter::report_perplexity(const std::vector<VariantResult>& variants,
                                         const std::vector<PerplexityComparison>& comparisons) {
    std::vector<std::pair<std::vector<std::string>, const PerplexityResult*>> rows;
    for (const auto& v : variants)
        for (const auto& r : v.perplexity) rows.push_back({{v.name}, &r});
    out() << markdown(keyed_table({"variant"}, perplexity_fields(), rows, {"protocol", "ppl", "tokens_scored"}));
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
                             c.failed ? "failed" : c.significant ? "yes" : "no");
    }
}

namespace {

// "[812.3, 840.1]", or "-" when there is no interval (one repetition, an older report).
std::string rate_ci(double lower, double upper) {
    return std::isfinite(lower) && std::isfinite(upper) ? fmt::format("[{:.1f}, {:.1f}]", lower, upper) : "-";
}

std::string percent(double fraction) {
    return std::isfinite(fraction) ? fmt::format("{:.1f}%", 100.0 * fraction) : "-";
}

// Served variants' load tests (vLLM's definitions: TTFT from the send, ITL pooled over requests).
void served_load_section(std::ostream& out, const std::vector<VariantResult>& variants) {
    const bool any = std::any_of(variants.begin(), variants.end(), [](const VariantResult& v) { return v.serving.has_value(); });
    if (!any) return;
    out << "\n## Served load\n\nMeasured as the server's client: TTFT and E2E from each request's send, TPOT = "
           "(E2E - TTFT) / (tokens - 1), ITL = gaps between streamed chunks pooled over requests (vLLM's `vllm "
           "bench serve` definitions). Decode and prefill micro-benchmarks are not measured through a server.\n\n";
    out << "| variant | arrival | ok / sent | retries | output tokens/s | TTFT P50 / P99 ms | TPOT P50 / P99 ms | "
           "ITL P50 / P99 ms | E2E P50 / P99 ms | steady |\n|---|---|--:|--:|--:|--:|--:|--:|--:|---|\n";
    auto pair = [](const LatencyStats& s) { return fmt::format("{:.2f} / {:.2f}", s.p50_ms, s.p99_ms); };
    for (const auto& v : variants) {
        if (!v.serving) continue;
        const auto& x = *v.serving;
        const std::string arrival = x.arrival == "sequential" ? x.arrival : fmt::format("{} {:.2f}/s", x.arrival, x.rate_per_s);
        out << fmt::format("| {} | {}{} | {} / {} | {} | {:.1f} | {} | {} | {} | {} | {} |\n", cell(v.name), arrival,
                           x.concurrency > 0 ? fmt::format(", {} at once", x.concurrency) : "", x.requests_ok,
                           x.requests_sent, x.retries, x.output_tokens_per_s, pair(x.ttft), pair(x.tpot), pair(x.itl),
                           pair(x.e2e), x.steady_state ? "yes" : "no");
    }
    for (const auto& v : variants) {
        if (!v.serving) continue;
        for (const auto& r : v.serving->failure_reasons) out << fmt::format("- {}: failed requests: {}\n", cell(v.name), r);
        for (const auto& w : v.serving->warnings) out << fmt::format("- {}: {}\n", cell(v.name), w);
    }
}

}  // namespace

void MarkdownReporter::report_throughput(const std::vector<VariantResult>& variants) {
    served_load_section(out(), variants);
    const bool any = std::any_of(variants.begin(), variants.end(), [](const VariantResult& v) { return v.throughput.has_value(); });
    if (!any) return;
    out() << "\n## Throughput\n\n";
    for (const auto& v : variants) {
        if (!v.throughput) continue;
        const auto& e = v.throughput->environment;
        out() << fmt::format("- {}: {}{}, timing {}, {} threads, measured copy bandwidth {:.1f} GB/s", cell(v.name),
                             e.device, e.gpu_name.empty() ? "" : " (" + e.gpu_name + ")", e.timing, e.threads,
                             e.peak_copy_bytes_per_s * 1e-9);
        if (e.sm_clock_mhz_start >= 0) {
            out() << fmt::format(", SM clock {} -> {} MHz (max {}), {} -> {} C", e.sm_clock_mhz_start,
                                 e.sm_clock_mhz_end, e.sm_clock_max_mhz, e.temperature_c_start, e.temperature_c_end);
        }
        double warm = 0.0;
        for (const auto& d : v.throughput->decode) warm += d.warmup_seconds;
        for (const auto& p : v.throughput->prefill) warm += p.warmup_seconds;
        out() << fmt::format("; load {:.2f} s, untimed warm-up {:.2f} s", v.model.load_seconds, warm);
        if (std::isfinite(e.other_cpu_fraction)) {
            out() << fmt::format("; other processes {:.0f}% of the CPU time, steal {:.1f}%, load average {:.2f} "
                                 "before", 100.0 * e.other_cpu_fraction, 100.0 * e.cpu_steal_fraction,
                                 e.load_average_start);
        }
        out() << "\n";
    }
    out() << "\n### Decode\n\nOne sample per decode step; 95% CI = t interval of the mean tokens/s over the "
             "repetitions (reps); CV = their coefficient of variation; slow = steps over twice the median step; "
             "% peak = achieved bytes/s (weights + KV cache per step) over the measured copy bandwidth.\n\n";
    out() << "| variant | batch | context | tokens/s | 95% CI | reps | CV | slow | ms/token | P50 ms | P99 ms | n | "
             "GB/s | % peak | graph |\n";
    out() << "|---|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n";
    for (const auto& v : variants) {
        if (!v.throughput) continue;
        for (const auto& d : v.throughput->decode) {
            out() << fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {:.3f} | {:.3f} | {:.3f}{} | {} | {:.1f} | "
                                 "{:.1f} | {} |\n",
                                 cell(v.name), d.batch_size, d.context_tokens, rate1(d.tokens_per_s),
                                 rate_ci(d.tokens_per_s_ci_lower, d.tokens_per_s_ci_upper), d.repetitions,
                                 percent(d.repetition_cv), percent(d.slow_step_fraction), d.ms_per_token,
                                 d.step_latency.p50_ms, d.step_latency.p99_ms,
                                 d.step_latency.undersampled.empty() ? "" : " (few samples)", d.step_latency.n,
                                 d.achieved_bytes_per_s * 1e-9, 100.0 * d.bandwidth_fraction, d.cuda_graph ? "yes" : "no");
        }
    }
    out() << "\n### Prefill\n\n| variant | tokens | tokens/s | 95% CI | CV | P50 ms | n | TFLOP/s |\n"
             "|---|--:|--:|---|--:|--:|--:|--:|\n";
    for (const auto& v : variants) {
        if (!v.throughput) continue;
        for (const auto& p : v.throughput->prefill) {
            out() << fmt::format("| {} | {} | {} | {} | {} | {:.3f} | {} | {:.3f} |\n", cell(v.name),
                                 p.sequence_tokens, rate1(p.tokens_per_s),
                                 rate_ci(p.tokens_per_s_ci_lower, p.tokens_per_s_ci_upper), percent(p.repetition_cv),
                                 p.latency.p50_ms, p.latency.n, p.achieved_flop_per_s * 1e-12);
        }
    }
    const bool e2e = std::any_of(variants.begin(), variants.end(),
                                 [](const VariantResult& v) { return v.throughput && v.throughput->end_to_end; });
    if (e2e) {
        out() << "\n### End-to-end\n\nTTFT and E2E count from each request's arrival (queueing included).\n\n";
        out() << "| variant | arrival | requests | output tokens/s | TTFT P50 / P99 ms | TPOT P50 / P99 ms | "
                 "ITL P50 / P99 ms | E2E P50 / P99 ms |\n|---|---|--:|--:|--:|--:|--:|--:|\n";
        for (const auto& v : variants) {
            if (!v.throughput || !v.throughput->end_to_end) continue;
            const auto& x = *v.throughput->end_to_end;
            auto pair = [](const LatencyStats& s) { return fmt::format("{:.2f} / {:.2f}", s.p50_ms, s.p99_ms); };
            out() << fmt::format("| {} | {} | {} | {:.1f} | {} | {} | {} | {} |\n", cell(v.name),
                                 x.arrival == "poisson" ? fmt::format("poisson {:.2f}/s", x.rate_per_s) : x.arrival,
                                 x.requests.size(), x.output_tokens_per_s, pair(x.ttft), pair(x.tpot), pair(x.itl),
                                 pair(x.e2e));
        }
    }
    out() << "\n### Memory\n\n| variant | weights MiB | KV cache MiB | peak allocated MiB | peak reserved MiB | "
             "peak RSS MiB |\n|---|--:|--:|--:|--:|--:|\n";
    auto mib = [](std::int64_t b) { return b < 0 ? std::string("-") : fmt::format("{:.1f}", static_cast<double>(b) / 1048576.0); };
    for (const auto& v : variants) {
        if (!v.throughput) continue;
        const auto& m = v.throughput->memory;
        out() << fmt::format("| {} | {} | {} | {} | {} | {} |\n", cell(v.name), mib(m.weight_bytes),
                             mib(m.kv_cache_bytes), mib(m.peak_allocated_bytes), mib(m.peak_reserved_bytes),
                             mib(m.peak_rss_bytes));
    }
    // Each distinct warning once, with the variants it applies to (in report order).
    std::vector<std::pair<std::string, std::vector<std::string>>> warnings;
    for (const auto& v : variants) {
        if (!v.throughput) continue;
        for (const auto& w : v.throughput->warnings) {
            auto it = std::find_if(warnings.begin(), warnings.end(), [&](const auto& x) { return x.first == w; });
            if (it == warnings.end()) {
                warnings.push_back({w, {v.name}});
            } else if (std::find(it->second.begin(), it->second.end(), v.name) == it->second.end()) {
                it->second.push_back(v.name);
            }
        }
    }
    if (!warnings.empty()) out() << "\n### Warnings\n\n";
    for (const auto& [w, names] : warnings) {
        std::string who;
        for (const auto& n : names) who += (who.empty() ? "" : ", ") + cell(n);
        out() << fmt::format("- {}: {}\n", who, w);
    }
}

void MarkdownReporter::report_cost(const std::vector<VariantResult>& variants) {
    const bool any = std::any_of(variants.begin(), variants.end(), [](const VariantResult& v) { return v.cost.has_value(); });
    if (!any) return;
    out() << "\n## Cost\n\n$ per million output tokens = $/hour / (tokens/s x 3600) x 1e6; total adds the "
             "amortized calibration; quality-adjusted = total x quality factor.\n\n";
    out() << "| variant | basis | tier | $/hour | GPUs | $/M tokens | calibration $/M | total $/M | quality factor | "
             "quality-adjusted $/M |\n|---|---|---|--:|--:|--:|--:|--:|--:|--:|\n";
    for (const auto& v : variants) {
        if (!v.cost) continue;
        const auto& c = *v.cost;
        for (const auto& t : c.tiers) {
            out() << fmt::format("| {} | {} ({:.1f} tok/s) | {} | {:.2f} | {} | {:.4f} | {:.4f} | {:.4f} | {} | {:.4f} |\n",
                                 cell(v.name), cell(c.throughput_basis), c.tokens_per_s, t.name, t.usd_per_hour,
                                 t.gpus, t.usd_per_million_tokens, t.calibration_usd_per_million_tokens,
                                 t.total_usd_per_million_tokens, fixed4(c.quality_factor),
                                 t.quality_adjusted_usd_per_million_tokens);
        }
    }
    for (const auto& v : variants) {
        if (v.cost) out() << fmt::format("\n- {}: quality factor from {}", cell(v.name), cell(v.cost->quality_basis));
    }
    out() << "\n";
}

void MarkdownReporter::finalize() {
    if (!plots_.plots.empty() || !plots_.skipped.empty()) {
        out() << "\n## Plots\n\n";
        for (const auto& p : plots_.plots) {
            const auto png = p.file.substr(0, p.file.rfind('.')) + ".png";
            out() << fmt::format("![{}]({})\n\n[PNG]({})\n\n", p.title, p.file, png);
        }
        if (!plots_.skipped.empty()) out() << plots_.skipped << "\n";
    }
    out().flush();
}

void render(const Report& report, const Derived& derived, Reporter& reporter) {
    reporter.report_context(report.context);
    reporter.report_variants(report.variants, derived);
    reporter.finalize();
}

void render(const Report& report, Reporter& reporter) {
    render(report, derive(report.variants, gate_specs(report.context)), reporter);
}

void write_report(const Report& report, const std::filesystem::path& out_dir) {
    write_report(report, derive(report.variants, gate_specs(report.context)), out_dir);
}

void write_report(const Report& report, const Derived& derived, const std::filesystem::path& out_dir) {
    std::ostringstream json_text;
    JsonReporter json(json_text);
    render(report, derived, json);
    write_file_atomic(out_dir / "report.json", json_text.str());

    std::filesystem::create_directories(out_dir);
    std::ostringstream md_text;
    MarkdownReporter md(md_text, write_plots(report, out_dir));
    render(report, derived, md);
    write_file_atomic(out_dir / "report.md", md_text.str());
    write_csv(report.variants, derived, out_dir);
}

}  // namespace qbench::report
