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
#include "qbench/eval/records.hpp"
#include "qbench/eval/runner.hpp"
#include "qbench/eval/tasks/evaluate.hpp"
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

// A shard's stored unit file (key, inputs, artifacts, result) for `u`, or a bad-input error
// naming the shard when it has none.
json stored_unit(const Shard& s, int count, const plan::WorkUnit& u) {
    plan::UnitStore store(s.dir);
    if (!store.done(u)) {
        throw_bad_input("{}: shard {}/{} has no result for {} (an unfinished shard: rerun it with --resume)",
                        s.dir.string(), s.index, count, u.id());
    }
    return json::parse(read_file(store.path(u)));
}

// Every item key shard i holds (`keys[i]`) must be planned (`all`, the unit's items in order)
// and its group (`group_key`: the key of the first item of the group scored with it) must hash to
// that shard; none may be held twice, and together the shards must hold every planned item. An
// error names the shard at fault.
void check_assignment(const plan::WorkUnit& u, const std::vector<const Shard*>& shards, int count,
                      const std::vector<std::vector<std::string>>& keys, const std::vector<std::string>& all,
                      std::int64_t group_size, const char* what) {
    std::map<std::string, std::string> group_of;
    for (std::size_t p = 0; p < all.size(); ++p) {
        group_of[all[p]] = all[p - p % static_cast<std::size_t>(std::max<std::int64_t>(1, group_size))];
    }
    std::set<std::string> seen;
    for (std::size_t i = 0; i < shards.size(); ++i) {
        for (const auto& k : keys[i]) {
            const auto g = group_of.find(k);
            const bool planned = g != group_of.end();
            const int owner = planned ? plan::item_shard(u, g->second, count) : -1;
            if (!planned || owner != shards[i]->index) {
                throw_bad_input("{}: shard {}/{} holds {} {} of {}, which {}", shards[i]->dir.string(),
                                shards[i]->index, count, what, k, u.id(),
                                planned ? fmt::format("belongs to shard {}", owner) : "is not planned");
            }
            if (!seen.insert(k).second) {
                throw_bad_input("{}: shard {}/{} holds {} {} of {} twice", shards[i]->dir.string(), shards[i]->index,
                                count, what, k, u.id());
            }
        }
    }
    for (const auto& k : all) {
        if (seen.count(k)) continue;
        const Shard& s = *shards.at(static_cast<std::size_t>(plan::item_shard(u, group_of.at(k), count)));
        throw_bad_input("{}: shard {}/{} lacks {} {} of {} (an unfinished or altered shard: rerun it)", s.dir.string(),
                        s.index, count, what, k, u.id());
    }
}

json perplexity_shape(const eval::PerplexityRecords& r) {
    json j = r;
    j.erase("windows");
    j.erase("seconds");
    return j;
}

// A perplexity protocol from every shard's windows: records pooled in window order, the result
// aggregated by the single run's function, KLD pooled likewise, the baseline's base files joined.
json merge_perplexity(const plan::WorkUnit& u, const std::vector<const Shard*>& shards, int count,
                      const std::vector<json>& stored, const fs::path& out, std::vector<std::string>& artifacts) {
    std::vector<eval::PerplexityRecords> parts;
    std::vector<std::vector<std::string>> keys;
    for (std::size_t i = 0; i < shards.size(); ++i) {
        const json& r = stored[i].at("result");
        parts.push_back(r.at("records").at("perplexity").get<eval::PerplexityRecords>());
        if (perplexity_shape(parts[i]) != perplexity_shape(parts[0])) {
            throw_bad_input("{}: shard {}/{} made other windows of {} than {}", shards[i]->dir.string(),
                            shards[i]->index, count, u.id(), shards[0]->dir.string());
        }
        keys.emplace_back();
        for (const auto& w : parts[i].windows) keys.back().push_back(std::to_string(w.index));
    }
    std::vector<std::string> all;
    for (std::int64_t w = 0; w < parts[0].windows_total; ++w) all.push_back(std::to_string(w));
    check_assignment(u, shards, count, keys, all, parts[0].group_size, "window");
    const auto pooled = eval::pool(parts);
    json result;
    auto ppl = eval::aggregate_perplexity(pooled);
    const json& first = stored[0].at("result").at("perplexity");
    ppl.data_path = first.at("data_path").get<std::string>();
    ppl.data_sha256 = first.at("data_sha256").get<std::string>();
    result["perplexity"] = ppl;
    result["records"]["perplexity"] = pooled;
    artifacts = stored[0].value("artifacts", std::vector<std::string>{});
    if (!artifacts.empty()) {
        // The baseline's KLD unit: its distributions, one file per shard, joined.
        std::vector<fs::path> files;
        for (std::size_t i = 0; i < shards.size(); ++i) files.push_back(shards[i]->dir / artifacts.front());
        eval::merge_kld_base_files(files, out / artifacts.front());
    }
    if (u.kld && artifacts.empty()) {
        std::vector<eval::KldRecords> kparts;
        for (std::size_t i = 0; i < shards.size(); ++i) {
            const json& rec = stored[i].at("result").at("records");
            if (!rec.contains("kld")) {
                log::warn("{}: no KLD for {} (the shard could not score against the baseline); the merged report has "
                          "none", shards[i]->dir.string(), u.id());
                return result;
            }
            kparts.push_back(rec.at("kld").get<eval::KldRecords>());
        }
        const auto kpooled = eval::pool(kparts);
        if (static_cast<std::int64_t>(kpooled.windows.size()) != pooled.windows_total) {
            throw_bad_input("{}: the shards scored KLD on {} of its {} windows", u.id(), kpooled.windows.size(),
                            pooled.windows_total);
        }
        result["records"]["kld"] = kpooled;
        if (auto k = eval::aggregate_kld(kpooled)) result["kld"] = *k;
    }
    return result;
}

// A task from every shard's items: the samples logs joined in document order, the result
// aggregated by the single run's function.
json merge_task(const plan::WorkUnit& u, const std::vector<const Shard*>& shards, int count,
                const std::vector<json>& stored, const fs::path& out, std::vector<std::string>& artifacts) {
    using eval::tasks::TaskSummary;
    std::vector<std::pair<std::int64_t, std::string>> lines;  // position, samples log line
    std::vector<eval::tasks::ItemRecord> records;
    std::vector<std::vector<std::string>> keys;
    std::set<std::int64_t> positions;
    TaskSummary summary;
    double seconds = 0.0;
    artifacts = stored[0].value("artifacts", std::vector<std::string>{});
    if (artifacts.size() != 1) throw_bad_input("{}: {} names no samples log", shards[0]->dir.string(), u.id());
    for (std::size_t i = 0; i < shards.size(); ++i) {
        const json& rec = stored[i].at("result").at("records");
        auto s = rec.at("summary").get<TaskSummary>();
        seconds += s.seconds;
        s.seconds = 0.0;
        if (i == 0) summary = s;
        if (json(s) != json(summary)) {
            throw_bad_input("{}: shard {}/{} ran another {} than {} (task data or metrics differ)",
                            shards[i]->dir.string(), shards[i]->index, count, u.id(), shards[0]->dir.string());
        }
        const auto pos = rec.at("positions").get<std::vector<std::int64_t>>();
        const fs::path log_path = shards[i]->dir / artifacts.front();
        const auto text = split(read_file(log_path), '\n');
        std::vector<std::string> own;
        for (const auto& l : text) {
            if (!l.empty()) own.push_back(l);
        }
        if (own.size() != pos.size()) {
            throw_bad_input("{}: {} lines for {} items", log_path.string(), own.size(), pos.size());
        }
        keys.emplace_back();
        for (std::size_t k = 0; k < own.size(); ++k) {
            auto item = eval::tasks::ItemRecord::from_json(json::parse(own[k]));
            keys.back().push_back(eval::tasks::item_id(item));
            if (pos[k] < 0 || pos[k] >= static_cast<std::int64_t>(summary.item_ids.size()) ||
                summary.item_ids[static_cast<std::size_t>(pos[k])] != keys.back().back() ||
                !positions.insert(pos[k]).second) {
                throw_bad_input("{}: line {} (item {}) is not item {} of {} or repeats one", log_path.string(), k + 1,
                                keys.back().back(), pos[k], u.id());
            }
            lines.emplace_back(pos[k], std::move(own[k]));
        }
    }
    check_assignment(u, shards, count, keys, summary.item_ids, summary.group_size, "item");
    std::vector<std::size_t> order(lines.size());
    for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return lines[a].first < lines[b].first; });
    std::string joined;
    std::vector<std::int64_t> merged_positions;
    for (std::size_t k : order) {
        joined += lines[k].second + "\n";
        records.push_back(eval::tasks::ItemRecord::from_json(json::parse(lines[k].second)));
        merged_positions.push_back(lines[k].first);
    }
    fs::create_directories((out / artifacts.front()).parent_path());
    write_file_atomic(out / artifacts.front(), joined);
    summary.seconds = seconds;
    auto r = eval::tasks::aggregate_task(summary, records);
    const json& first = stored[0].at("result").at("task");
    r.data_path = first.at("data_path").get<std::string>();
    r.samples_path = first.at("samples_path").get<std::string>();
    return {{"task", r}, {"records", {{"summary", summary}, {"positions", merged_positions}}}};
}

void merge_split_unit(plan::WorkUnit u, const std::vector<const Shard*>& shards, int count, const fs::path& out,
                      plan::UnitStore& merged) {
    std::vector<json> stored;
    for (const auto* s : shards) stored.push_back(stored_unit(*s, count, u));
    std::vector<std::string> artifacts;
    const json result = u.section == plan::kPerplexity ? merge_perplexity(u, shards, count, stored, out, artifacts)
                                                       : merge_task(u, shards, count, stored, out, artifacts);
    u.inputs = stored.front().at("inputs");
    merged.save(u, result, artifacts);
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
    // Each shard's key list must be the units the assignment gives it: every model unit and
    // every split unit (perplexity, tasks) in each shard, throughput in shard 0.
    const auto planned = plan::planned_units(h0);
    for (const auto& [i, s] : by_index) {
        const auto keys = s->header.at("keys").get<std::vector<std::string>>();
        if (plan::key_list_sha256(keys) != s->header.at("keys_sha256").get<std::string>()) {
            throw_bad_input("{}: shard {}/{}: its key list does not match its hash", s->dir.string(), i, count);
        }
        std::vector<std::string> expected;
        for (const auto& u : planned) {
            if (plan::unit_in_shard(u, {i, count, ""})) expected.push_back(u.key);
        }
        if (keys != expected) {
            throw_bad_input("{}: shard {}/{} lists other units than the plan assigns it", s->dir.string(), i, count);
        }
    }
    const fs::path out = o.out;
    fs::create_directories(out);
    plan::UnitStore merged(out);
    merged.clear();
    std::vector<const Shard*> ordered;
    for (const auto& [i, s] : by_index) ordered.push_back(s);
    for (auto u : planned) {
        if (plan::split_unit(u)) {
            merge_split_unit(u, ordered, count, out, merged);
            continue;
        }
        const Shard& s = *ordered.front();  // model units: every shard has them; throughput: shard 0
        plan::UnitStore store(s.dir);
        if (!store.done(u)) {
            throw_bad_input("{}: shard {}/{} has no result for {} (an unfinished shard: rerun it with --resume)",
                            s.dir.string(), s.index, count, u.id());
        }
        const json stored = json::parse(read_file(store.path(u)));
        for (const auto& a : stored.value("artifacts", json::array())) copy_into(s.dir, out, a.get<std::string>());
        copy_into(s.dir, out, fs::relative(store.path(u), s.dir));
    }
    auto c = config::parse_run_config(h0.at("config_text").get<std::string>(), h0.at("config_path").get<std::string>());
    c.output_dir = out;
    report::Report rep;
    json shard0 = json::parse(read_file(by_index.at(0)->dir / "report.json"));
    rep.context = shard0.at("context").get<report::RunContext>();
    rep.variants = plan::assemble(c, planned, merged, {});
    if (count > 1) {
        // Said in the report, not only in the log: the timings are one machine's.
        const std::string where = fmt::format(
            "measured by shard 0 of {} ({}) alone: the other shards timed nothing, so these timings are that one "
            "machine's", count, by_index.at(0)->dir.filename().string());
        for (auto& v : rep.variants) {
            if (v.throughput) v.throughput->warnings.push_back(where);
            if (v.serving) v.serving->warnings.push_back(where);
        }
    }
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
        log::warn("merged {} shards: latency and throughput come from shard 0's machine alone; the windows of each "
                  "perplexity protocol and the items of each task were split over {} workers",
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
