// `qbench run`: a perplexity protocol the data cannot serve fails the variant before any
// protocol is computed, naming the data file.
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

TEST(RunCli, AProtocolTheDataCannotServeFailsBeforeAnyProtocolRuns) {
    const fs::path dir = fs::temp_directory_path() / "qbench_run_cli_short_data";
    fs::remove_all(dir);
    const auto data = (fixtures_dir() / "models" / "data.jsonl").string();
    write_file_atomic(dir / "run.yaml", "name: t\noutput_dir: out\ndtype: float32\nvariants:\n"
                                        "  - {name: base, model: " +
                                            (model_fixture("llama_linear_bias") / "f32").string() +
                                            "}\nperplexity:\n  data: " + data +
                                            "\n  protocols: [sliding, llama.cpp]\n  max_length: 100000\n  stride: 64\n");
    const auto r = run_qbench({"run", (dir / "run.yaml").string(), "--json"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(r.err.find("sliding perplexity"), std::string::npos) << "sliding ran before the check:\n" << r.err;
    EXPECT_NE(r.err.find(data + ": the llama.cpp protocol needs at least 2 x n_ctx = 200000 tokens"), std::string::npos)
        << r.err;
    const auto rep = nlohmann::json::parse(read_file(dir / "out" / "report.json"));
    const auto& v = rep.at("variants").at(0);
    EXPECT_EQ(v.at("status"), "failed");
    EXPECT_TRUE(v.at("perplexity").empty()) << "sliding ran before the llama.cpp check";
    fs::remove_all(dir);
}

}  // namespace
}  // namespace qbench
