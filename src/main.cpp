// qbench: the one place where errors become messages and exit codes (DESIGN.md rule 4).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <new>

#include "qbench/cli/commands.hpp"
#include "qbench/util/build_info.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/log.hpp"

int main(int argc, char** argv) {
    using namespace qbench;
    CLI::App app{"qbench: benchmark quantized LLM checkpoints against their FP16 baseline", "qbench"};
    app.set_version_flag("--version", version_line());
    app.require_subcommand(1);
    app.fallthrough();  // global flags (-q, -v) also after the subcommand
    bool quiet = false;
    bool verbose = false;
    app.add_flag("-q,--quiet", quiet, "No progress or info messages on stderr")->configurable(false);
    app.add_flag("-v,--verbose", verbose, "Debug messages on stderr");
    app.parse_complete_callback([&] {
        log::set_level(quiet ? log::Level::kQuiet : verbose ? log::Level::kDebug : log::Level::kInfo);
    });

    cli::Context ctx;
    // (one line per subcommand, in the order of DESIGN.md's command list)
    cli::add_run_command(app, ctx);
    cli::add_ppl_command(app, ctx);
    cli::add_inspect_command(app, ctx);
    cli::add_stats_command(app, ctx);
    cli::add_cost_command(app, ctx);
    cli::add_tokenize_command(app, ctx);
    cli::add_bench_command(app, ctx);
    cli::add_compare_command(app, ctx);
    cli::add_merge_command(app, ctx);
    cli::add_bench_kernels_command(app, ctx);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return static_cast<int>(ErrorCode::kBadInput);
    } catch (const Error& e) {
        std::fprintf(stderr, "qbench: error: %s\n", e.what());
        return e.exit_code();
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "qbench: error: out of memory\n");
        return static_cast<int>(ErrorCode::kRuntime);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "qbench: error: %s\n", e.what());
        return static_cast<int>(ErrorCode::kRuntime);
    }
    return ctx.exit_code;
}
