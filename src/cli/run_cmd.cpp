// `qbench run CONFIG.yaml`: every variant of a config, a report in the output directory, and a
// short summary on stdout.
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "qbench/cli/commands.hpp"
#include "qbench/config/cli_bridge.hpp"
#include "qbench/config/run_config.hpp"
#include "qbench/eval/runner.hpp"
#include "qbench/report/fields.hpp"
#include "qbench/report/report.hpp"
#include "qbench/util/files.hpp"

namespace qbench::cli {
namespace {

struct RunOptions {
    std::string config;
    config::CliOverrides overrides;
    bool resume = false;
    bool json = false;
    std::string shard;  // "i/N"
    int shards = 0;     // N, with JOB_COMPLETION_INDEX
};

// PPL of the baseline per protocol, for the ratio column.
std::map<std::string, double> baseline_ppl(const report::Report& rep) {
    std::map<std::string, double> out;
    for (const auto& v : rep.variants) {
        if (!v.baseline) continue;
        for (const auto& p : v.perplexity) out[p.protocol] = p.ppl;
    }
    return out;
}

// Task scores (percent) and decode speed, one line per variant, when the run had them.
void print_tasks_and_speed(const report::Report& rep) {
    const bool tasks = std::any_of(rep.variants.begin(), rep.variants.end(),
                                   [](const report::VariantResult& v) { return !v.tasks.empty(); });
    if (tasks) {
        fmt::print("\n{:<24} {:<20} {:<34} {:>8} {:>6}\n", "variant", "task", "metric", "score %", "n");
        for (const auto& v : rep.variants) {
            for (const auto& t : v.tasks) {
                for (const auto& m : t.metrics) {
                    fmt::print("{:<24} {:<20} {:<34} {:>8.2f} {:>6}\n", v.name, t.name, m.name, 100 * m.value, m.n);
                }
            }
        }
    }
    const bool speed = std::any_of(rep.variants.begin(), rep.variants.end(),
                                   [](const report::VariantResult& v) { return v.throughput.has_value(); });
    if (speed) {
        fmt::print("\n{:<24} {:>6} {:>8} {:>12} {:>10}\n", "variant", "batch", "context", "tokens/s", "ms/token");
        for (const auto& v : rep.variants) {
            if (!v.throughput) continue;
            for (const auto& d : v.throughput->decode) {
                fmt::print("{:<24} {:>6} {:>8} {:>12.1f} {:>10.3f}\n", v.name, d.batch_size, d.context_tokens,
                           d.tokens_per_s, d.ms_per_token);
            }
        }
    }
}

void print_summary(const eval::RunOutcome& outcome, const config::RunConfig& c, bool json) {
    const report::Report& rep = outcome.report;
    const auto base = baseline_ppl(rep);
    const auto report_path = (c.output_dir / "report.json").string();
    if (json) {
        // One object per variant with report.csv's columns, nested at '/' (report/fields.hpp).
        const auto fields = report::summary_fields(rep.variants, outcome.derived);
        nlohmann::json variants = nlohmann::json::array();
        for (const auto& v : rep.variants) variants.push_back(report::fields_json(fields, v));
        fmt::print("{}\n", nlohmann::json{{"report", report_path},
                                           {"csv", (c.output_dir / "report.csv").string()},
                                           {"variants", variants}}.dump(2));
        return;
    }
    // The ratio's 95% interval over windows (report.md has the method); "*" = excludes 1.
    std::map<std::pair<std::string, std::string>, report::PerplexityComparison> cmp;
    for (const auto& c : outcome.derived.perplexity) cmp[{c.variant, c.protocol}] = c;
    fmt::print("{:<24} {:<16} {:>12} {:>10} {:>20} {:>12} {:>12}\n", "variant", "protocol", "perplexity", "ratio",
               "ratio 95% CI", "tokens", "weight MiB");
    for (const auto& v : rep.variants) {
        if (v.status != "ok") {
            fmt::print("{:<24} failed: {}\n", v.name, v.error);
            continue;
        }
        const double mib = v.model.weight_bytes / 1048576.0;
        if (v.perplexity.empty()) {
            fmt::print("{:<24} {:<16} {:>12} {:>10} {:>20} {:>12} {:>12.2f}\n", v.name, "-", "-", "-", "-", "-", mib);
        }
        for (const auto& p : v.perplexity) {
            const std::string ratio = base.count(p.protocol) ? fmt::format("{:.4f}", p.ppl / base.at(p.protocol)) : "-";
            std::string ci = "-";
            if (auto it = cmp.find({v.name, p.protocol}); it != cmp.end() && it->second.note.empty()) {
                ci = fmt::format("[{:.4f}, {:.4f}]{}", it->second.ratio_ci_lower, it->second.ratio_ci_upper,
                                 it->second.significant ? "*" : " ");
            }
            fmt::print("{:<24} {:<16} {:>12.4f} {:>10} {:>20} {:>12} {:>12.2f}\n", v.name, p.protocol, p.ppl, ratio, ci,
                       p.tokens_scored, mib);
        }
    }
    if (std::any_of(cmp.begin(), cmp.end(), [](const auto& kv) { return kv.second.significant; })) {
        fmt::print("* the ratio's 95% interval (block t over windows) excludes 1\n");
    }
    const bool kld = std::any_of(rep.variants.begin(), rep.variants.end(),
                                 [](const report::VariantResult& v) { return v.kld.has_value(); });
    if (kld) {
        fmt::print("\n{:<24} {:<16} {:>10} {:>22} {:>10} {:>18}\n", "variant", "KLD protocol", "mean KLD",
                   "95% CI", "same top %", "95% CI");
        for (const auto& v : rep.variants) {
            if (!v.kld) continue;
            const auto& k = *v.kld;
            fmt::print("{:<24} {:<16} {:>10.6f} {:>22} {:>10.2f} {:>18}\n", v.name, k.protocol, k.kld_mean,
                       fmt::format("[{:.6f}, {:.6f}]", k.kld_ci_lower, k.kld_ci_upper), 100 * k.same_top,
                       fmt::format("[{:.2f}, {:.2f}]", 100 * k.same_top_ci_lower, 100 * k.same_top_ci_upper));
        }
    }
    print_tasks_and_speed(rep);
    fmt::print("\n");
    for (const auto& v : rep.variants) {
        if (v.status == "ok") fmt::print("{:<24} dtype {} ({})\n", v.name, v.model.dtype, v.model.dtype_reason);
    }
    fmt::print("report: {}\n", report_path);
}

}  // namespace

void add_run_command(CLI::App& app, Context& ctx) {
    auto o = std::make_shared<RunOptions>();
    CLI::App* cmd = app.add_subcommand("run", "Run every variant of a YAML config and write a report");
    cmd->add_option("CONFIG", o->config, "Run configuration (YAML)")->required();
    config::add_cli_flags(*cmd, config::run_config_options(), o->overrides);
    cmd->add_flag("--resume", o->resume, "Keep the variants an earlier run of this config finished");
    cmd->add_flag("--json", o->json, "Print one JSON object");
    cmd->add_option("--shard", o->shard,
                    "Run shard i of N (i/N) into OUT/shard-i-of-N; default: SLURM_ARRAY_TASK_ID/COUNT, or "
                    "JOB_COMPLETION_INDEX with --shards");
    cmd->add_option("--shards", o->shards, "The shard count N, with JOB_COMPLETION_INDEX (Kubernetes Indexed Job)");
    cmd->callback([o, &ctx] {
        auto c = config::load_run_config(o->config, o->overrides);
        eval::RunnerOptions ro;
        ro.resume = o->resume;
        ro.shard = plan::select_shard(o->shard, o->shards, [](const char* n) { return std::getenv(n); });
        if (ro.shard) {
            c.output_dir /= fmt::format("shard-{}-of-{}", ro.shard->index, ro.shard->count);
            ro.config_text = read_file(o->config);
        }
        const auto outcome = eval::run_benchmark(c, report::host_run_context(), ro);
        print_summary(outcome, c, o->json);
        ctx.exit_code = eval::exit_code_of(outcome);
    });
}

}  // namespace qbench::cli
