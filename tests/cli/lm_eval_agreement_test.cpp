// qbench against lm-evaluation-harness itself: scripts/lm_eval_agreement.py runs lm-eval (PyPI
// 0.4.13, HF backend, CPU float32, offline) and `qbench run` on the demo model and the same small
// task files (multiple choice with acc/acc_norm, gsm8k-style generation with strict-match and
// flexible-extract, loglikelihood_rolling; a second pass at max_length 40 for truncation and
// rolling windows) and compares them live, so nothing here depends on the model's weights.
// Skips when the Python side (.venv with lm_eval) is missing.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/run_qbench.hpp"
#include "support/fixtures.hpp"

namespace fs = std::filesystem;

namespace {

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

TEST(LmEvalAgreement, LoglikelihoodsGenerationsAndScoresMatchLmEval) {
    const fs::path src = qbench::testing::source_dir();
    const fs::path python = src / ".venv" / "bin" / "python";
    if (!fs::exists(python)) GTEST_SKIP() << "no Python side: " << python << " is missing (run scripts/setup)";
    const std::string probe = quoted(python) + " -c 'import lm_eval, transformers' >/dev/null 2>&1";
    if (std::system(probe.c_str()) != 0)
        GTEST_SKIP() << "no Python side: lm_eval is not importable in " << python
                     << " (pip install -r scripts/requirements.txt)";

    const fs::path work = fs::path(::testing::TempDir()) / ("qbench_lm_eval_agreement_" + std::to_string(::getpid()));
    fs::remove_all(work);
    fs::create_directories(work);
    const fs::path summary_path = work / "summary.json";
    const std::string cmd = quoted(python) + " " + quoted(src / "scripts" / "lm_eval_agreement.py") +
                            " --qbench " + quoted(QBENCH_BINARY) + " --work " + quoted(work / "run") +
                            " --mc 16 --gen 6 --rolling 6 --short-length 40 --batch-size 4 --json-out " +
                            quoted(summary_path) + " > " + quoted(work / "log.txt") + " 2>&1";
    const int rc = std::system(cmd.c_str());
    const std::string log = qbench::testing_cli::read_all((work / "log.txt").string());
    ASSERT_TRUE(fs::exists(summary_path)) << "the script wrote no summary (exit " << rc << "):\n" << log;
    const auto summary = nlohmann::json::parse(std::ifstream(summary_path));
    EXPECT_EQ(rc, 0) << summary.dump(2);
    EXPECT_TRUE(summary.at("disagreements").empty()) << summary.at("disagreements").dump(2);
    const double tol = summary.at("tolerance_nats").get<double>();
    EXPECT_EQ(tol, 1e-4);
    for (const char* pass : {"full", "short"}) {
        const auto& p = summary.at("passes").at(pass);
        // Every kind was compared, item by item, within the tolerance.
        EXPECT_EQ(p.at("compared").at("mc").get<int>(), 16 * 4) << pass;  // 16 items x 4 choices
        EXPECT_EQ(p.at("compared").at("rolling").get<int>(), 6) << pass;
        EXPECT_LE(p.at("max_abs_ll_diff_nats").at("mc").get<double>(), tol) << pass;
        EXPECT_LE(p.at("max_abs_ll_diff_nats").at("rolling").get<double>(), tol) << pass;
        EXPECT_FALSE(p.at("scores").empty()) << pass;
    }
    EXPECT_EQ(summary.at("passes").at("full").at("compared").at("gen").get<int>(), 6);
    // The scores were compared: acc, acc_norm, both exact_match filters and the perplexities.
    const auto& scores = summary.at("passes").at("full").at("scores");
    for (const char* key : {"agree_mc/acc", "agree_mc/acc_norm", "agree_gen/exact_match,strict-match",
                            "agree_gen/exact_match,flexible-extract", "agree_rolling/word_perplexity",
                            "agree_rolling/byte_perplexity", "agree_rolling/bits_per_byte"})
        EXPECT_TRUE(scores.contains(key)) << key;
    fs::remove_all(work);
}

}  // namespace
