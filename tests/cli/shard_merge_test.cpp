// `qbench run --shard i/3` x 3 then `qbench merge`: the merged report equals a single run's,
// timings aside (every perplexity block, KLD block, per-item record, aggregate, comparison and
// gate), the samples logs and the KLD base file are the same bytes; a missing shard, a shard
// given twice and a shard of another config are refused with a one-line error naming it.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <cstdlib>
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
           "\n  protocols: [sliding, lm-eval-rolling]\n  max_length: 64\n  stride: 32\n  limit: " +
           std::to_string(limit) +
           "\n"
           "tasks: {names: [tinyworld_mc, tinyworld_gsm], limit: 6, max_gen_toks: 8, batch_size: 4}\n"
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

TEST(ShardMerge, ThreeShardsMergedEqualTheSingleRun) {
    const fs::path dir = fs::path(::testing::TempDir()) / "qbench_shard_merge";
    fs::remove_all(dir);
    fs::create_directories(dir);
    const fs::path cfg = dir / "run.yaml";
    write_file_atomic(cfg, config_text(6));

    const fs::path ref = dir / "ref";
    auto r = testing_cli::run_qbench({"-q", "run", cfg.string(), "--out", ref.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json expected = timeless_report(ref);
    for (const auto& v : expected.at("variants")) ASSERT_EQ(v.at("status"), "ok") << v.dump();

    const fs::path sharded = dir / "sharded";
    std::set<std::string> units_seen;
    for (int i = 0; i < 3; ++i) {
        r = testing_cli::run_qbench({"-q", "run", cfg.string(), "--out", sharded.string(), "--shard",
                                     std::to_string(i) + "/3"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const fs::path sd = sharded / ("shard-" + std::to_string(i) + "-of-3");
        const json h = json::parse(read_file(sd / "shard.json"));
        EXPECT_EQ(h.at("shard").at("index"), i);
        EXPECT_EQ(h.at("shard").at("count"), 3);
        EXPECT_EQ(h.at("config_sha256"), json::parse(read_file(ref / "report.json")).at("context").at("config_sha256"));
        EXPECT_EQ(h.at("plan").size(), 12u);  // 2 variants x {model, 2 protocols, throughput, 2 tasks}
        for (const auto& k : h.at("keys")) units_seen.insert(k.get<std::string>());
    }
    EXPECT_EQ(units_seen.size(), 12u);  // every unit somewhere
    // A retried worker overwrites its own shard in place.
    r = testing_cli::run_qbench({"-q", "run", cfg.string(), "--out", sharded.string(), "--shard", "2/3"});
    ASSERT_EQ(r.exit_code, 0) << r.err;

    const fs::path merged = dir / "merged";
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
    EXPECT_EQ(read_file(merged / "report.md").find("tinyworld_mc") != std::string::npos, true);

    // Any two of the three: the third is named missing.
    for (int missing = 0; missing < 3; ++missing) {
        std::vector<std::string> args = {"-q", "merge"};
        for (int i = 0; i < 3; ++i) {
            if (i != missing) args.push_back((sharded / ("shard-" + std::to_string(i) + "-of-3")).string());
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
