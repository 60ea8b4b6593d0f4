// Quality gates for CI jobs (docs/ARCHITECTURE.md, "Gates"): checks of each variant against the
// baseline, evaluated from report data alone (after a run and by `qbench compare`). A failed
// gate makes the exit code 1. The gates come from the run config's `gates:` section, whose
// effective echo is in report.json's context.config.gates.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "qbench/report/comparison.hpp"
#include "qbench/report/report.hpp"

namespace qbench::report {

struct GateSpec {
    std::string name;
    std::string metric;     // task metric | perplexity_ratio | kld
    std::string task;
    std::string protocol;
    std::optional<double> max_drop;
    bool significant = false;
    std::optional<double> max;
    std::optional<double> min;
};

// From the effective-config echo of `gates:` (a JSON list of maps; null or absent = none).
// Throws kBadInput for a malformed entry.
std::vector<GateSpec> gate_specs_from_json(const nlohmann::json& gates);

// One result per (gate, non-baseline variant that finished). A metric missing from the report
// fails its gate, saying so.
std::vector<GateResult> evaluate_gates(const std::vector<VariantResult>& variants, const std::vector<GateSpec>& gates);
// The same from comparisons already computed (report::derive).
std::vector<GateResult> evaluate_gates(const std::vector<VariantResult>& variants, const std::vector<GateSpec>& gates,
                                       const std::vector<MetricComparison>& task_comparisons,
                                       const std::vector<PerplexityComparison>& perplexity_comparisons);

// JUnit XML: one testsuite "qbench gates", one testcase per result (classname = variant),
// a <failure> element for each failed gate.
std::string junit_xml(const std::vector<GateResult>& results);

// A short Markdown summary for a CI job's page: pass/fail line, the gates table, the task
// comparisons table.
std::string ci_summary_markdown(const std::vector<GateResult>& results, const std::vector<MetricComparison>& task_comparisons);

// Writes out_dir/junit.xml and out_dir/ci_summary.md (atomically).
void write_gate_files(const std::vector<GateResult>& results, const std::vector<MetricComparison>& task_comparisons,
                      const std::filesystem::path& out_dir);

}  // namespace qbench::report
