// `qbench run --shard i/N` for N = 3 and 5, then `qbench merge`: every protocol's windows (in
// batches of 2) and every task's items (in chunks of 4: MC requests and greedy generations batched)
// are spread over the shards (each shard scores a strict subset), and the
// merged report equals a single run's, timings aside (every perplexity block, KLD block and
// percentile, per-item record, aggregate, comparison and gate); the samples logs and the KLD
// base file are the same bytes. A missing shard, a shard given twice, a shard of another config
// and a shard that lacks a window are refused with a one-line error naming it.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <cstdlib>
#include <map>
#include <set>
#include <sys/wait.h>

#include "cli/run_qbench.hpp"
#include "qbench/util/files.hpp"

namespace qbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kSource = QBENCH_SOURCE_DIR;

std::string config_text(int limit) {
    const std::string tiny = (kSource / "models" / "qbench-tiny").string();
    return "name: shard\ndtype: float32\nthreads: 1\nvariants:\n"
           "  - {name: base, model: " + tiny + "}\n"
           "  - {name: int3, model: " + tiny + ", quantize: 'rtn:bits=3,group_size=32,sym=false'}\n"
           "perplexity:\n  data: " + (kSource / "datasets" / "tinyworld" / "test.txt").string() +
           "\n  protocols: [sliding, lm-eval-rolling, llama.cpp]\n  max_length: 64\n  stride: 32\n  batch_size: 2\n  limit: " +
           std::to_string(limit) +
           "\n"
           "tasks: {names: [tinyworld_mc, tinyworld_gsm], limit: 16, max_gen_toks: 8, batch_size: 4}\n"
           "throughput: {batch_sizes: [1], context: 8, decode_steps: 2, prefill_lengths: [16], warmup: 0, "
           "repetitions: 1}\n"
           "cost: {on_demand_usd_per_hour: 1.0}\n"
           "gates:\n  - {metric: acc, task: tinyworld_mc, max_drop: 0.5}\n  - {metric: kld, max: 10}\n";
}

void drop_timings(json& j) {
    static const std::set<std::string> kTimed = {
        "seconds", "load_seconds", "warmup_seconds", "samples_ns", "repetition_tokens_per_s", "tokens_per_s",
        "ms_per_token", "step_latency", "latency", "achieved_bytes_per_s", "bandwidth_fraction",
        "achieved_flop_per_s", "memory", "environment", "warnings", "usd_per_million_tokens",
        "total_usd_per_million_tokens", "quality_adjusted_usd_per_million_tokens", "context", "tokens_per_s_ci",
        "repetition_cv", "slow_step_fraction", "repetitions"};
    if (j.is_object()) {
        for (auto it = j.begin(); it != j.end();) {
            if (kTimed.count(it.key())) {
                it = j.erase(it);
            } else {
                drop_timings(it.value());
                ++it;
            }
        }
    } else if (j.is_array()) {
        for (auto& x : j) drop_timings(x);
    }
}

json timeless_report(const fs::path& out) {
    json j = json::parse(read_file(out / "report.json"));
    drop_timings(j);
    return j;
}

// Items each split unit of an output directory scored: "variant/section/item" -> count.
std::map<std::string, std::size_t> scored_items(const fs::path& out) {
    std::map<std::string, std::size_t> n;
    for (const auto& e : fs::recursive_directory_iterator(out / "units")) {
        if (!e.is_regular_file()) continue;
        const json u = json::parse(read_file(e.path()));
        const json& r = u.at("result");
        if (!r.contains("records")) continue;
        const json& rec = r.at("records");
        n[u.at("unit").get<std::string>()] =
            rec.contains("positions") ? rec.at("positions").size() : rec.at("perplexity").at("windows").size();
    }
    return n;
}

fs::path shard_dir(const fs::path& out, int i, int n) {
    return out / ("shard-" + std::to_string(i) + "-of-" + std::to_string(n));
}

TEST(ShardMerge, ItemShardsMergedEqualTheSingleRun) {
    const fs::path dir = fs::path(::testing::TempDir()) / "qbench_shard_merge";
    fs::remove_all(dir);
    fs::create_directories(dir);
    const fs::path cfg = dir / "run.yaml";
    write_file_atomic(cfg, config_text(12));

    const fs::path ref = dir / "ref";
    auto r = testing_cli::run_qbench({"-q", "run", cfg.string(), "--out", ref.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json expected = timeless_report(ref);
    for (const auto& v : expected.at("variants")) ASSERT_EQ(v.at("status"), "ok") << v.dump();
    const auto totals = scored_items(ref);
    ASSERT_EQ(totals.size(), 10u);  // 2 variants x {3 protocols, 2 tasks}
    for (const auto& [unit, total] : totals) {
        // 12 blocks per protocol (a document of lm-eval-rolling has many windows), 16 items per task.
        if (unit.find("/tasks/") != std::string::npos) EXPECT_EQ(total, 16u) << unit;
        else EXPECT_GE(total, 12u) << unit;
    }

    for (int n : {3, 5}) {
        SCOPED_TRACE("N = " + std::to_string(n));
        const fs::path sharded = dir / ("sharded" + std::to_string(n));
        std::map<std::string, std::size_t> sum;
        for (int i = 0; i < n; ++i) {
            r = testing_cli::run_qbench({"-q", "run", cfg.string(), "--out", sharded.string(), "--shard",
                                         std::to_string(i) + "/" + std::to_string(n)});
            ASSERT_EQ(r.exit_code, 0) << r.err;
            const fs::path sd = shard_dir(sharded, i, n);
            const json h = json::parse(read_file(sd / "shard.json"));
            EXPECT_EQ(h.at("shard").at("index"), i);
            EXPECT_EQ(h.at("shard").at("count"), n);
            EXPECT_EQ(h.at("config_sha256"), json::parse(read_file(ref / "report.json")).at("context").at("config_sha256"));
            EXPECT_EQ(h.at("plan").size(), 14u);  // 2 variants x {model, 3 protocols, throughput, 2 tasks}
            EXPECT_EQ(h.at("keys").size(), i == 0 ? 14u : 12u);  // throughput on shard 0 only
            const auto mine = scored_items(sd);
            EXPECT_EQ(mine.size(), totals.size());
            std::size_t scored = 0;
            for (const auto& [unit, count] : mine) {
                EXPECT_LT(count, totals.at(unit)) << unit << ": shard " << i << " scored every item";
                sum[unit] += count;
                scored += count;
                // Both arms of a paired comparison on the same items.
                const std::string other = unit.rfind("base/", 0) == 0 ? "int3/" + unit.substr(5) : "base/" + unit.substr(5);
                EXPECT_EQ(count, mine.at(other)) << unit;
            }
            if (n == 3) EXPECT_GT(scored, 0u) << "shard " << i << "/3 scored nothing";
        }
        EXPECT_EQ(sum, totals);  // every window and item once
        if (n == 3) {
            // A retried worker overwrites its own shard in place.
            r = testing_cli::run_qbench({"-q", "run", cfg.string(), "--out", sharded.string(), "--shard", "2/3"});
            ASSERT_EQ(r.exit_code, 0) << r.err;
        }
        const fs::path merged = dir / ("merged" + std::to_string(n));
        r = testing_cli::run_qbench({"-q", "merge", sharded.string(), "--out", merged.string()});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const json got = timeless_report(merged);
        EXPECT_EQ(got, expected) << json::diff(expected, got).dump(1);
        for (const auto* v : {"base", "int3"}) {
            for (const auto* t : {"tinyworld_mc", "tinyworld_gsm"}) {
                const fs::path rel = fs::path("samples") / v / (std::string(t) + ".jsonl");
                EXPECT_EQ(read_file(merged / rel), read_file(ref / rel)) << rel;
            }
        }
        EXPECT_EQ(read_file(merged / "kld" / "base.sliding.kldbase"), read_file(ref / "kld" / "base.sliding.kldbase"));
        EXPECT_EQ(scored_items(merged), totals);
        EXPECT_NE(read_file(merged / "report.md").find("tinyworld_mc"), std::string::npos);
        // The report says where the timings come from.
        const auto warnings = json::parse(read_file(merged / "report.json")).at("variants").at(0).at("throughput").at("warnings");
        EXPECT_NE(warnings.dump().find("measured by shard 0 of " + std::to_string(n)), std::string::npos) << warnings;
        EXPECT_NE(read_file(merged / "report.md").find("measured by shard 0 of " + std::to_string(n)), std::string::npos);
    }

    const fs::path sharded = dir / "sharded3";
    // Any two of the three: the third is named missing.
    for (int missing = 0; missing < 3; ++missing) {
        std::vector<std::string> args = {"-q", "merge"};
        for (int i = 0; i < 3; ++i) {
            if (i != missing) args.push_back(shard_dir(sharded, i, 3).string());
        }
        args.insert(args.end(), {"--out", (dir / "bad").string()});
        r = testing_cli::run_qbench(args);
        EXPECT_EQ(r.exit_code, 2) << r.err;
        EXPECT_NE(r.err.find("shard " + std::to_string(missing) + "/3 is missing"), std::string::npos) << r.err;
    }
    // The same shard twice.
    const std::string s0 = (sharded / "shard-0-of-3").string();
    r = testing_cli::run_qbench({"-q", "merge", s0, sharded.string(), "--out", (dir / "bad").string()});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("shard 0/3 given twice"), std::string::npos) << r.err;

    // A shard of another config (another window limit) is refused, naming its directory.
    const fs::path other_cfg = dir / "other.yaml";
    write_file_atomic(other_cfg, config_text(5));
    const fs::path other = dir / "other";
    r = testing_cli::run_qbench({"-q", "run", other_cfg.string(), "--out", other.string(), "--shard", "1/3"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = testing_cli::run_qbench({"-q", "merge", s0, (other / "shard-1-of-3").string(),
                                 (sharded / "shard-2-of-3").string(), "--out", (dir / "bad").string()});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("shard-1-of-3: shard 1/3 is from another config"), std::string::npos) << r.err;

    // A shard that lost a window of a protocol is named.
    const fs::path tampered = dir / "tampered";
    fs::copy(sharded, tampered, fs::copy_options::recursive);
    int lacking = -1;
    for (int i = 0; i < 3 && lacking < 0; ++i) {
        for (const auto& e : fs::recursive_directory_iterator(shard_dir(tampered, i, 3) / "units")) {
            if (e.path().filename().string().rfind("perplexity.lm-eval-rolling.", 0) != 0 ||
                e.path().parent_path().filename() != "int3") {
                continue;
            }
            json u = json::parse(read_file(e.path()));
            auto& ws = u.at("result").at("records").at("perplexity").at("windows");
            if (ws.empty()) break;
            ws.erase(ws.size() - 1);
            write_file_atomic(e.path(), u.dump());
            lacking = i;
            break;
        }
    }
    ASSERT_GE(lacking, 0);
    r = testing_cli::run_qbench({"-q", "merge", tampered.string(), "--out", (dir / "bad").string()});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(shard_dir(tampered, lacking, 3).string() + ": shard " + std::to_string(lacking) +
                         "/3 lacks window"),
              std::string::npos)
        << r.err;

    // The Slurm array's variables pick the shard without --shard; a sparse array is refused.
    const std::string env = "SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_MIN=1 "
                            "SLURM_ARRAY_TASK_MAX=3 ";
    const std::string cmd = env + QBENCH_BINARY + std::string(" -q run ") + cfg.string() + " --out " +
                            (dir / "sparse").string() + " 2>" + (dir / "sparse.err").string();
    const int rc = std::system(cmd.c_str());
    EXPECT_EQ(WEXITSTATUS(rc), 2);
    EXPECT_NE(read_file(dir / "sparse.err").find("sparse or stepped"), std::string::npos);
    EXPECT_FALSE(fs::exists(dir / "sparse" / "report.json"));
    fs::remove_all(dir);
}

}  // namespace
}  // namespace qbench
