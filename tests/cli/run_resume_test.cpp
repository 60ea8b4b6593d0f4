// `qbench run --resume` after SIGKILL: a run killed at many points (during each unit of every
// variant: model load, each perplexity protocol with KLD, throughput, each task), resumed again
// and again, ends with the report an uninterrupted run writes, timings aside: every perplexity
// block, KLD block, per-item score and record, aggregate, comparison and gate.
#include <gtest/gtest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "cli/run_qbench.hpp"
#include "qbench/util/files.hpp"

extern char** environ;

namespace qbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kSource = QBENCH_SOURCE_DIR;

// Three variants (the baseline, two RTN widths) x {model, sliding (with KLD), lm-eval-rolling,
// throughput with end-to-end requests, a multiple-choice task, a generative task}: 18 units.
std::string config_text() {
    const std::string tiny = (kSource / "models" / "qbench-tiny").string();
    return "name: resume\ndtype: float32\nthreads: 1\nvariants:\n"
           "  - {name: base, model: " + tiny + "}\n"
           "  - {name: int8, model: " + tiny + ", quantize: 'rtn:bits=8,group_size=-1,sym=true'}\n"
           "  - {name: int3, model: " + tiny + ", quantize: 'rtn:bits=3,group_size=32,sym=false'}\n"
           "perplexity:\n  data: " + (kSource / "datasets" / "tinyworld" / "test.txt").string() +
           "\n  protocols: [sliding, lm-eval-rolling]\n  max_length: 64\n  stride: 32\n  limit: 6\n"
           "tasks: {names: [tinyworld_mc, tinyworld_gsm], limit: 6, max_gen_toks: 8, batch_size: 4}\n"
           "throughput: {batch_sizes: [1, 2], context: 8, decode_steps: 2, prefill_lengths: [16], warmup: 0, "
           "repetitions: 1, prompts: " + (kSource / "datasets" / "tinyworld" / "prompts.jsonl").string() +
           ", requests: 2, max_new_tokens: 3}\n"
           "cost: {on_demand_usd_per_hour: 1.0}\n"
           "gates:\n  - {metric: acc, task: tinyworld_mc, max_drop: 0.5}\n  - {metric: kld, max: 10}\n";
}

std::size_t unit_results(const fs::path& out) {
    std::size_t n = 0;
    std::error_code ec;
    if (!fs::exists(out / "units", ec)) return 0;
    for (const auto& e : fs::recursive_directory_iterator(out / "units", ec)) {
        const auto name = e.path().filename().string();
        if (e.is_regular_file(ec) && name.front() != '.' && e.path().extension() == ".json") ++n;
    }
    return n;
}

// Starts qbench; returns its pid (stdout and stderr to `log`).
pid_t spawn_qbench(const std::vector<std::string>& args, const fs::path& log) {
    std::vector<std::string> strings{QBENCH_BINARY};
    strings.insert(strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    return rc == 0 ? pid : -1;
}

// What may differ between two runs of the same config: wall times and everything timed.
void drop_timings(json& j) {
    static const std::set<std::string> kTimed = {
        "seconds", "load_seconds", "warmup_seconds", "samples_ns", "repetition_tokens_per_s", "tokens_per_s",
        "ms_per_token", "step_latency", "latency", "achieved_bytes_per_s", "bandwidth_fraction", "arrival_s",
        "achieved_flop_per_s", "ttft", "tpot", "itl", "e2e", "duration_s", "output_tokens_per_s", "queue_ms",
        "ttft_ms", "tpot_ms", "e2e_ms", "itl_ms", "memory", "environment", "warnings", "usd_per_million_tokens",
        "total_usd_per_million_tokens", "quality_adjusted_usd_per_million_tokens", "context",
        // the spread of the repetitions, and their number (added until the interval target)
        "tokens_per_s_ci", "repetition_cv", "slow_step_fraction", "repetitions"};
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

TEST(RunResume, KilledAtManyPointsAndResumedGivesTheUninterruptedReport) {
    const fs::path dir = fs::path(::testing::TempDir()) / "qbench_run_resume_kill";
    fs::remove_all(dir);
    fs::create_directories(dir);
    const fs::path cfg = dir / "run.yaml";
    write_file_atomic(cfg, config_text());

    const fs::path ref = dir / "ref";
    const auto r = testing_cli::run_qbench({"-q", "run", cfg.string(), "--out", ref.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::size_t total = unit_results(ref);
    ASSERT_EQ(total, 18u);
    const json expected = timeless_report(ref);
    for (const auto& v : expected.at("variants")) ASSERT_EQ(v.at("status"), "ok") << v.dump();

    // Kill each run once one more unit has finished, after a seeded random delay of 0-40 ms,
    // so kills land at the start, the middle and the end of the next unit, and between units.
    const fs::path out = dir / "killed";
    const fs::path log = dir / "killed.log";
    std::mt19937 rng(20261202);
    std::uniform_int_distribution<int> delay_ms(0, 40);
    int kills = 0;
    bool finished = false;
    std::vector<std::size_t> killed_at;
    for (int attempt = 0; attempt < 40 && !finished; ++attempt) {
        const std::size_t before = unit_results(out);
        std::vector<std::string> args = {"-q", "run", cfg.string(), "--out", out.string()};
        if (attempt > 0) args.push_back("--resume");
        const pid_t pid = spawn_qbench(args, log);
        ASSERT_GT(pid, 0);
        int status = 0;
        bool exited = false;
        while (!exited) {
            if (waitpid(pid, &status, WNOHANG) == pid) {
                exited = true;
                break;
            }
            if (unit_results(out) > before) {
                std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
                if (waitpid(pid, &status, WNOHANG) == pid) {
                    exited = true;
                    break;
                }
                ::kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                ASSERT_TRUE(WIFSIGNALED(status));
                ++kills;
                killed_at.push_back(unit_results(out));
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        if (exited) {
            ASSERT_TRUE(WIFEXITED(status)) << read_file(log);
            ASSERT_EQ(WEXITSTATUS(status), 0) << read_file(log);
            finished = true;
        }
    }
    ASSERT_TRUE(finished) << "never finished after " << kills << " kills";
    // Most runs were killed inside a unit, and kills reached every variant's sections.
    EXPECT_GE(kills, 12) << "the runs finished before they could be killed";
    ASSERT_FALSE(killed_at.empty());
    EXPECT_GE(killed_at.back(), 15u);

    const json got = timeless_report(out);
    EXPECT_EQ(got, expected) << json::diff(expected, got).dump(1);
    // Per-item records and the baseline's KLD distributions are the same bytes.
    for (const auto* v : {"base", "int8", "int3"}) {
        for (const auto* t : {"tinyworld_mc", "tinyworld_gsm"}) {
            const fs::path rel = fs::path("samples") / v / (std::string(t) + ".jsonl");
            EXPECT_EQ(read_file(out / rel), read_file(ref / rel)) << rel;
        }
    }
    EXPECT_EQ(read_file(out / "kld" / "base.sliding.kldbase"), read_file(ref / "kld" / "base.sliding.kldbase"));
    fs::remove_all(dir);
}

}  // namespace
}  // namespace qbench
