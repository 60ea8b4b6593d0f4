// `qbench run`: the variants of a RunConfig in sequence (baseline first), each section's
// results written to the output directory as soon as it finishes, so an interrupted run keeps
// everything done so far and --resume continues from there.
#pragma once

#include "qbench/config/run_config.hpp"
#include "qbench/report/report.hpp"

namespace qbench::eval {

struct RunnerOptions {
    bool resume = false;  // keep the variants report.json already holds with status "ok"
};

// Runs every variant; a variant that fails is recorded (status "failed", its error) and the run
// goes on. Returns the final report, also written to config.output_dir.
report::Report run_benchmark(const config::RunConfig& config, report::RunContext context,
                             const RunnerOptions& options);

// The exit code a finished report deserves: 0 when every variant is ok and every quality gate
// passed, else the most severe code among the failures (1 check or gate failed, 2 bad input,
// 3 runtime failure).
int exit_code_of(const report::Report& report);

// The built-in task definitions (tasks/ in the source tree).
std::filesystem::path builtin_tasks_dir();

}  // namespace qbench::eval
