// The report of a run from its unit results alone: each variant's sections from its units,
// status "ok" only when every unit of the variant has a result, and the values derived from
// several units (the cost, whose quality factor compares the variant with the baseline)
// computed once, here, before any reporter sees the report.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "qbench/config/run_config.hpp"
#include "qbench/plan/plan.hpp"
#include "qbench/plan/unit_store.hpp"
#include "qbench/report/results.hpp"

namespace qbench::plan {

// Why a variant stopped: its error and exit-code class (2 bad input, 3 runtime).
struct Failure {
    std::string error;
    int code = 3;
};

// Variants in run order. A variant with a failure is "failed"; one with units still missing is
// "incomplete" (its error lists them); otherwise "ok". Sections hold whatever units finished.
std::vector<report::VariantResult> assemble(const config::RunConfig& config, const std::vector<WorkUnit>& units,
                                            const UnitStore& store, const std::map<std::string, Failure>& failures);

// $ per million output tokens of `v` from its decode throughput (cost::cost_breakdown), the
// quality factor from cost::quality_factor: 1 / ppl on the first protocol both have (lower is
// better), else the first metric of the variant's tasks the baseline also has with a positive
// score, else 1. `baseline` may be null (no factor).
report::CostResult variant_cost(const config::CostConfig& cost, const config::VariantConfig& vc,
                                const report::VariantResult& v, const report::VariantResult* baseline);

}  // namespace qbench::plan
