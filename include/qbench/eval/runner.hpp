// `qbench run`: the work units of a RunConfig (plan/plan.hpp) in run order (baseline first),
// each unit's result written to the output directory as soon as it finishes, so an interrupted
// run keeps everything done so far and --resume redoes exactly the units without a result.
#pragma once

#include "qbench/config/run_config.hpp"
#include "qbench/plan/shard.hpp"
#include "qbench/report/derived.hpp"
#include "qbench/report/report.hpp"

namespace qbench::eval {

struct RunnerOptions {
    bool resume = false;  // keep the unit results of an earlier run whose inputs still match
    // A sharded run: only this shard's units (plan/shard.hpp), and the shard header written to
    // the output directory first; `config_text` (the config file's bytes) goes into the header.
    std::optional<plan::ShardSpec> shard;
    std::string config_text;
};

// The final report and what was derived from it once (comparisons, gates).
struct RunOutcome {
    report::Report report;
    report::Derived derived;
};

// Runs every unit still without a result; a variant whose unit fails is recorded (status
// "failed", its error) and the run goes on with the next variant. Returns the final report,
// also written to config.output_dir with the gate files.
RunOutcome run_benchmark(const config::RunConfig& config, report::RunContext context,
                         const RunnerOptions& options);

// The exit code a finished run deserves: 0 when every variant is ok and every quality gate
// passed, else the most severe code among the failures (1 check or gate failed, 2 bad input,
// 3 runtime failure).
int exit_code_of(const RunOutcome& outcome);

// The built-in task definitions (tasks/ in the source tree).
std::filesystem::path builtin_tasks_dir();

}  // namespace qbench::eval
