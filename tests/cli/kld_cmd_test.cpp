// `qbench run` with a baseline and a variant measures KLD (report.json, report.md, the kld gate),
// keeps the baseline's distributions across --resume, and `qbench compare` re-evaluates the gate
// from the report alone.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/run_qbench.hpp"
#include "qbench/util/files.hpp"
#include "support/fixtures.hpp"

namespace qbench {
namespace {

namespace fs = std::filesystem;
using qbench::testing::fixtures_dir;
using qbench::testing::model_fixture;
using testing_cli::run_qbench;

class KldCommands : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("qbench_kld_cli_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path config(const std::string& gates, const std::string& extra = "", const std::string& kld_protocol = "sliding") {
        const auto base = (model_fixture("llama_linear_bias") / "f32").string();
        const auto var = (fixtures_dir() / "kld" / "perturbed").string();
        write_file_atomic(dir_ / "run.yaml",
                          "name: t\noutput_dir: out\ndtype: float32\nvariants:\n"
                          "  - {name: base, model: " + base + "}\n"
                          "  - {name: noisy, model: " + var + "}\n"
                          "perplexity:\n  data: " + (fixtures_dir() / "models" / "data.jsonl").string() +
                          "\n  protocols: [llama.cpp, sliding]\n  kld_protocol: " + kld_protocol + "\n  max_length: 16\n  stride: 6\n" +
                          extra + gates);
        return dir_ / "run.yaml";
    }

    fs::path dir_;
};

TEST_F(KldCommands, RunWritesKldAndTheGateDecidesTheExitCode) {
    const auto expected = nlohmann::json::parse(read_file(fixtures_dir() / "kld" / "expected.json"));
    auto r = run_qbench({"run", config("gates:\n  - {metric: kld, max: 0.5}\n").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("variant 'noisy': KLD 0.05"), std::string::npos) << r.err;
    // The terminal summary: the PPL ratio's interval and a KLD line for the variant.
    EXPECT_NE(r.out.find("ratio 95% CI"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("mean KLD"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\nnoisy "), std::string::npos) << r.out;
    auto rep = nlohmann::json::parse(read_file(dir_ / "out" / "report.json"));
    ASSERT_TRUE(rep["variants"][1].contains("kld")) << rep["variants"][1].dump();
    const auto& k = rep["variants"][1]["kld"];
    EXPECT_EQ(k["protocol"], "sliding");
    EXPECT_EQ(k["top_k"], 96);  // default: the whole vocabulary (96 <= 4096), exact
    EXPECT_TRUE(k["exact"].get<bool>());
    EXPECT_EQ(k["tokens"], expected["sliding"]["tokens"]);
    EXPECT_NEAR(k["kld_mean"].get<double>(), expected["sliding"]["exact"]["mean"].get<double>(), 1e-5);
    EXPECT_FALSE(rep["variants"][0].contains("kld"));
    EXPECT_EQ(rep["comparisons"]["kld"].size(), 1u);
    EXPECT_TRUE(rep["gates"][0]["passed"].get<bool>()) << rep["gates"].dump();
    EXPECT_TRUE(fs::exists(dir_ / "out" / "kld" / "base.sliding.kldbase"));
    const auto md = read_file(dir_ / "out" / "report.md");
    EXPECT_NE(md.find("### KL divergence against the baseline"), std::string::npos);

    // The same report through `qbench compare`: the gate from the config echo, then fails.
    auto c = run_qbench({"compare", (dir_ / "out" / "report.json").string(), "--json"});
    EXPECT_EQ(c.exit_code, 0) << c.err;
    EXPECT_NEAR(nlohmann::json::parse(c.out)["comparisons"]["kld"][0]["kld_mean"].get<double>(),
                k["kld_mean"].get<double>(), 1e-12);

    fs::remove_all(dir_ / "out");
    r = run_qbench({"run", config("gates:\n  - {metric: kld, max: 0.001}\n", "  kld_top_k: 8\n").string(), "--json"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    rep = nlohmann::json::parse(read_file(dir_ / "out" / "report.json"));
    EXPECT_EQ(rep["variants"][1]["kld"]["top_k"], 8);
    EXPECT_NEAR(rep["variants"][1]["kld"]["kld_mean"].get<double>(), expected["sliding"]["top8"]["mean"].get<double>(),
                1e-5);
    EXPECT_FALSE(rep["gates"][0]["passed"].get<bool>());
    EXPECT_NE(rep["gates"][0]["detail"].get<std::string>().find("> max 0.001"), std::string::npos);
    c = run_qbench({"compare", (dir_ / "out" / "report.json").string()});
    EXPECT_EQ(c.exit_code, 1) << c.err;
    EXPECT_NE(c.out.find("**FAIL**"), std::string::npos) << c.out;
}

// --resume keeps the finished baseline; a variant run later still finds its distributions.
TEST_F(KldCommands, ResumeReusesTheBaselineDistributions) {
    const auto cfg = config("", "  kld_top_k: 8\n");
    auto r = run_qbench({"run", cfg.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto rep = nlohmann::json::parse(read_file(dir_ / "out" / "report.json"));
    const double first = rep["variants"][1]["kld"]["kld_mean"].get<double>();
    fs::remove_all(dir_ / "out" / "units" / "noisy");  // as if the run had stopped after the baseline
    r = run_qbench({"run", cfg.string(), "--resume"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("variant 'base': kept from the previous run"), std::string::npos) << r.err;
    rep = nlohmann::json::parse(read_file(dir_ / "out" / "report.json"));
    ASSERT_TRUE(rep["variants"][1].contains("kld")) << r.err;
    EXPECT_DOUBLE_EQ(rep["variants"][1]["kld"]["kld_mean"].get<double>(), first);

    // Without the file the baseline's KLD-protocol unit is not done: it runs again (the model
    // loads, the other protocol is kept) and the variant gets the same KLD.
    fs::remove_all(dir_ / "out" / "units" / "noisy");
    fs::remove(dir_ / "out" / "kld" / "base.sliding.kldbase");
    r = run_qbench({"run", cfg.string(), "--resume"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.find("variant 'base': kept from the previous run"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("variant 'base': llama.cpp perplexity"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("variant 'base': sliding perplexity"), std::string::npos) << r.err;
    EXPECT_TRUE(fs::exists(dir_ / "out" / "kld" / "base.sliding.kldbase"));
    rep = nlohmann::json::parse(read_file(dir_ / "out" / "report.json"));
    EXPECT_DOUBLE_EQ(rep["variants"][1]["kld"]["kld_mean"].get<double>(), first);
}

// llama.cpp's two-phase mode on qbench's base file: ppl --kld-base, then ppl --kld.
TEST_F(KldCommands, PplWritesABaseFileAndScoresAgainstIt) {
    const auto expected = nlohmann::json::parse(read_file(fixtures_dir() / "kld" / "expected.json"));
    const auto data = (fixtures_dir() / "models" / "data.jsonl").string();
    const auto base_file = (dir_ / "base.kldbase").string();
    const std::vector<std::string> common = {"--data", data, "--protocol", "llama.cpp", "--max-length", "16",
                                             "--dtype", "float32"};
    auto args = std::vector<std::string>{"ppl", (model_fixture("llama_linear_bias") / "f32").string()};
    args.insert(args.end(), common.begin(), common.end());
    args.insert(args.end(), {"--kld-base", base_file});
    auto r = run_qbench(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(fs::exists(base_file));

    args = {"ppl", (fixtures_dir() / "kld" / "perturbed").string()};
    args.insert(args.end(), common.begin(), common.end());
    args.insert(args.end(), {"--kld", base_file, "--json"});
    r = run_qbench(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["kld"]["tokens"], expected["llama.cpp"]["tokens"]);
    EXPECT_NEAR(j["kld"]["kld_mean"].get<double>(), expected["llama.cpp"]["exact"]["mean"].get<double>(), 1e-5);
    EXPECT_NEAR(j["kld"]["same_top"].get<double>() * j["kld"]["tokens"].get<double>(),
                expected["llama.cpp"]["same_top"].get<double>(), 1e-9);

    // other options than the base file's: a one-line usage error naming the file
    args = {"ppl", (fixtures_dir() / "kld" / "perturbed").string(), "--data", data, "--protocol", "llama.cpp",
            "--max-length", "8", "--kld", base_file};
    r = run_qbench(args);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("base.kldbase: the KLD base file was made for other windows"), std::string::npos) << r.err;
}

TEST_F(KldCommands, KldProtocolMustBeOneOfTheProtocols) {
    const auto cfg = config("", "", "gptq");
    auto r = run_qbench({"run", cfg.string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("perplexity.kld_protocol: 'gptq' is not one of protocols"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace qbench
