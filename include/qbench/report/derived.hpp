// What a report derives from its variants — the comparisons against the baseline and the gate
// results — computed once per report (`derive`) and handed to every reporter, the gate files,
// the exit code and the command line's summary, so none of them evaluates them again.
#pragma once

#include <vector>

#include "qbench/report/comparison.hpp"
#include "qbench/report/gates.hpp"
#include "qbench/report/results.hpp"
#include "qbench/report/task_comparison.hpp"

namespace qbench::report {

struct Derived {
    std::vector<PerplexityComparison> perplexity;  // compare_perplexity
    std::vector<MetricComparison> tasks;           // compare_tasks (paired, Holm-adjusted)
    std::vector<GateResult> gates;                 // evaluate_gates

    bool gates_passed() const;
};

Derived derive(const std::vector<VariantResult>& variants, const std::vector<GateSpec>& gates);

}  // namespace qbench::report
