// The subcommands of `qbench`, one file each in src/cli/. Each add_* function declares the
// subcommand's options on `app` and sets a callback that parses -> loads -> runs -> prints,
// storing the exit code in `ctx.exit_code`. Errors are thrown as qbench::Error; main() alone
// turns them into messages and exit codes.
#pragma once

#include <CLI/CLI.hpp>

namespace qbench::cli {

struct Context {
    int exit_code = 0;
};

// (one line per subcommand, in the order of DESIGN.md's command list)
void add_run_command(CLI::App& app, Context& ctx);
void add_ppl_command(CLI::App& app, Context& ctx);
void add_inspect_command(CLI::App& app, Context& ctx);
void add_stats_command(CLI::App& app, Context& ctx);
void add_cost_command(CLI::App& app, Context& ctx);
void add_tokenize_command(CLI::App& app, Context& ctx);
void add_bench_command(CLI::App& app, Context& ctx);
void add_compare_command(CLI::App& app, Context& ctx);
void add_merge_command(CLI::App& app, Context& ctx);
void add_bench_kernels_command(CLI::App& app, Context& ctx);

}  // namespace qbench::cli
