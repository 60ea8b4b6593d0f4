// `qbench merge DIR... --out DIR`: the shard directories of a sharded run (qbench run --shard,
// or a Slurm array / Kubernetes Indexed Job) pooled into the report a single run writes.
// docs/ARCHITECTURE.md, "Sharded runs".
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "qbench/cli/commands.hpp"
#include "qbench/config/run_config.hpp"
#include "qbench/eval/runner.hpp"
#include "qbench/plan/assemble.hpp"
#include "qbench/plan/shard.hpp"
#include "qbench/plan/unit_store.hpp"
#include "qbench/report/gates.hpp"
#include "qbench/report/reporter.hpp"
#include "qbench/util/build_info.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"
#include "qbench/util/log.hpp"
#include "qbench/util/strings.hpp"

namespace qbench::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct MergeOptions {
    std::vector<std::string> dirs;
    std::string out;
};

struct Shard {
    fs::path dir;
    json header;
    int index = 0;
};

// A directory given to merge: a shard directory (it has shard.json), or one holding shard-*
// directories (the default layout of qbench run --shard).
std::vector<fs::path> shard_dirs(const fs::path& d) {
    std::error_code ec;
    if (fs::exists(d / plan::kShardHeader, ec)) return {d};
    if (!fs::is_directory(d, ec)) throw_bad_input("{}: no such shard directory", d.string());
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(d, ec)) {
        if (e.is_directory() && e.path().filename().string().rfind("shard-", 0) == 0 &&
            fs::exists(e.path() / plan::kShardHeader, ec)) {
            out.push_back(e.path());
        }
    }
    if (out.empty()) throw_bad_input("{}: not a shard directory (no {}) and holds none", d.string(), plan::kShardHeader);
    std::sort(out.begin(), out.end());
    return out;
}

void copy_into(const fs::path& from_dir, const fs::path& to_dir, const fs::path& rel) {
    fs::create_directories((to_dir / rel).parent_path());
    fs::copy_file(from_dir / rel, to_dir / rel, fs::copy_options::overwrite_existing);
}

int merge(const MergeOptions& o) {
    std::vector<Shard> shards;
    for (const auto& d : o.dirs) {
        for (const auto& dir : shard_dirs(d)) {
            Shard s;
            s.dir = dir;
            try {
                s.header = json::parse(read_file(dir / plan::kShardHeader));
                s.index = s.header.at("shard").at("index").get<int>();
            } catch (const std::exception& e) {
                throw_bad_input("{}: unreadable shard header ({})", (dir / plan::kShardHeader).string(), e.what());
            }
            shards.push_back(std::move(s));
        }
    }
    const json& h0 = shards.front().header;
    const int count = h0.at("shard").at("count").get<int>();
    std::map<int, const Shard*> by_index;
    for (const auto& s : shards) {
        const json& h = s.header;
        const auto name = fmt::format("{}: shard {}/{}", s.dir.string(), s.index, h.at("shard").at("count").get<int>());
        if (h.at("shard").at("count").get<int>() != count) {
            throw_bad_input("{} is from a run of another shard count (expected {} shards, as in {})", name, count,
                            shards.front().dir.string());
        }
        if (h.at("config_sha256") != h0.at("config_sha256") || h.at("plan_sha256") != h0.at("plan_sha256")) {
            throw_bad_input("{} is from another config (config sha256 {}, plan {}; {} has {}, {})", name,
                            h.at("config_sha256").get<std::string>().substr(0, 16),
                            h.at("plan_sha256").get<std::string>().substr(0, 16), shards.front().dir.string(),
                            h0.at("config_sha256").get<std::string>().substr(0, 16),
                            h0.at("plan_sha256").get<std::string>().substr(0, 16));
        }
        if (h.at("fingerprints") != h0.at("fingerprints")) {
            throw_bad_input("{} saw other model or data files than {} (fingerprints differ)", name,
                            shards.front().dir.string());
        }
        if (h.at("qbench_version") != h0.at("qbench_version")) {
            throw_bad_input("{} was written by qbench {}, {} by {}", name, h.at("qbench_version").get<std::string>(),
                            shards.front().dir.string(), h0.at("qbench_version").get<std::string>());
        }
        if (auto [it, fresh] = by_index.emplace(s.index, &s); !fresh) {
            throw_bad_input("shard {}/{} given twice: {} and {}", s.index, count, it->second->dir.string(),
                            s.dir.string());
        }
    }
    for (int i = 0; i < count; ++i) {
        if (!by_index.count(i)) throw_bad_input("shard {}/{} is missing (merge needs all of 0..{})", i, count, count - 1);
    }
    // Every planned unit from exactly one shard (the replicated model units from the first that
    // has them), and the shard's list of keys must be the one the assignment gives.
    const auto planned = plan::planned_units(h0);
    std::map<std::string, const Shard*> owner;
    for (const auto& [i, s] : by_index) {
        const auto keys = s->header.at("keys").get<std::vector<std::string>>();
        if (plan::key_list_sha256(keys) != s->header.at("keys_sha256").get<std::string>()) {
            throw_bad_input("{}: shard {}/{}: its key list does not match its hash", s->dir.string(), i, count);
        }
        for (const auto& k : keys) {
            auto [it, fresh] = owner.emplace(k, s);
            const bool replicated = std::any_of(planned.begin(), planned.end(), [&](const plan::WorkUnit& u) {
                return u.key == k && plan::replicated_unit(u);
            });
            if (!fresh && !replicated) {
                throw_bad_input("unit {} is in two shards: {} and {}", k.substr(0, 16), it->second->dir.string(),
                                s->dir.string());
            }
        }
    }
    const fs::path out = o.out;
    fs::create_directories(out);
    plan::UnitStore merged(out);
    merged.clear();
    std::set<std::string> planned_keys;
    for (const auto& u : planned) {
        planned_keys.insert(u.key);
        auto it = owner.find(u.key);
        if (it == owner.end()) throw_bad_input("unit {} of the plan is in no shard", u.id());
        const Shard& s = *it->second;
        plan::UnitStore store(s.dir);
        if (!store.done(u)) {
            throw_bad_input("{}: shard {}/{} has no result for {} (an unfinished shard: rerun it with --resume)",
                            s.dir.string(), s.index, count, u.id());
        }
        const json stored = json::parse(read_file(store.path(u)));
        for (const auto& a : stored.value("artifacts", json::array())) copy_into(s.dir, out, a.get<std::string>());
        copy_into(s.dir, out, fs::relative(store.path(u), s.dir));
    }
    for (const auto& [k, s] : owner) {
        if (!planned_keys.count(k)) throw_bad_input("{}: unit {} is not in the plan", s->dir.string(), k.substr(0, 16));
    }
    auto c = config::parse_run_config(h0.at("config_text").get<std::string>(), h0.at("config_path").get<std::string>());
    c.output_dir = out;
    report::Report rep;
    json shard0 = json::parse(read_file(by_index.at(0)->dir / "report.json"));
    rep.context = shard0.at("context").get<report::RunContext>();
    rep.variants = plan::assemble(c, planned, merged, {});
    rep.context.end_time = utc_now_iso8601();
    eval::RunOutcome outcome;
    outcome.derived = report::derive(rep.variants, report::gate_specs(rep.context));
    outcome.report = std::move(rep);
    report::write_report(outcome.report, outcome.derived, out);
    if (!c.gates.empty()) report::write_gate_files(outcome.derived.gates, outcome.derived.tasks, out);
    if (c.throughput) {
        log::info("throughput was measured by shard 0 only ({})", by_index.at(0)->dir.string());
    }
    if (count > 1) {
        log::warn("merged {} shards: latency and throughput come from shard 0's machine alone; task and perplexity "
                  "results were computed on {} workers",
                  count, count);
    }
    fmt::print("merged {} shards into {}\n", count, (out / "report.json").string());
    return eval::exit_code_of(outcome);
}

}  // namespace

void add_merge_command(CLI::App& app, Context& ctx) {
    auto o = std::make_shared<MergeOptions>();
    CLI::App* cmd = app.add_subcommand("merge", "Merge the shard directories of a sharded run into one report");
    cmd->add_option("DIR", o->dirs, "Shard directories (or directories holding shard-* directories)")->required();
    cmd->add_option("--out", o->out, "Output directory of the merged report")->required();
    cmd->callback([o, &ctx] { ctx.exit_code = merge(*o); });
}

}  // namespace qbench::cli
