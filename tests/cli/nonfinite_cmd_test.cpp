// Non-finite results are errors where they appear, and a Gemma 3 runs in a dtype it does not
// overflow when none is given. The fixture (scripts/gen_model_fixtures.py, gemma3_f16_overflow)
// is a tiny Gemma 3 whose layer-1 post-feedforward norm is 1e5: transformers' own float16 forward
// gives inf from that layer and NaN logits; float32 and bfloat16 stay finite (overflow.json holds
// transformers' perplexities in both).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/run_qbench.hpp"
#include "qbench/util/files.hpp"
#include "support/fixtures.hpp"

namespace qbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using qbench::testing::fixtures_dir;
using qbench::testing::model_fixture;
using testing_cli::run_qbench;

const fs::path kModel = model_fixture("gemma3_f16_overflow") / "f32";

json overflow_reference() { return json::parse(read_file(model_fixture("gemma3_f16_overflow") / "overflow.json")); }

std::vector<std::string> ppl_args(std::vector<std::string> extra) {
    std::vector<std::string> a{"ppl", kModel.string(), "--data", (fixtures_dir() / "models" / "data.jsonl").string(),
                               "--protocol", "sliding", "--max-length", "16", "--stride", "6"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
}

// The layer is the one where transformers' float16 forward first holds inf/NaN.
std::string overflow_message() {
    const auto ref = overflow_reference()["hf_float16"];
    return "float16 overflow in layer " + std::to_string(ref["first_nonfinite_layer"].get<int>()) + " (mlp block";
}

// Relative PPL tolerance against transformers in the same dtype. float32: qbench follows
// transformers op for op, NLL in float64 on both sides (1e-5, as the other golden fixtures).
// bfloat16: measured 2.8e-5, not bit for bit as on the other Gemma fixture (the cause is not
// isolated; this fixture's residual stream is ~1e5, where one bf16 ulp is 512, so a single
// rounding difference anywhere shows, and qbench takes log_softmax in float32, the reference in
// float64). 2e-4 still separates the bfloat16 reference from the float32 one (1.1e-3 apart), so
// the test sees which dtype ran.
double tolerance(const std::string& dtype) { return dtype == "float32" ? 1e-5 : 2e-4; }

class NonFinite : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("qbench_nonfinite_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path dir_;
};

TEST_F(NonFinite, PplFloat16OverflowIsAOneLineRuntimeErrorNamingWindowLayerAndRemedy) {
    for (const char* json_flag : {"--json", ""}) {
        auto args = ppl_args({"--dtype", "float16"});
        if (*json_flag) args.emplace_back(json_flag);
        const auto r = run_qbench(args);
        EXPECT_EQ(r.exit_code, 3) << r.err;
        EXPECT_TRUE(r.out.empty()) << "no \"ppl\": null: " << r.out;
        const auto pos = r.err.find("qbench: error: ");
        ASSERT_NE(pos, std::string::npos) << r.err;
        const auto line = r.err.substr(pos);
        EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line: " << r.err;
        const auto first = overflow_reference()["hf_float16"]["first_nonfinite_logits_position"].get<int>();
        EXPECT_NE(line.find("perplexity (sliding): window 0: non-finite logits from position " + std::to_string(first)),
                  std::string::npos)
            << line;
        EXPECT_NE(line.find(overflow_message()), std::string::npos) << line;
        EXPECT_NE(line.find("run with --dtype bfloat16"), std::string::npos) << line;
        // the request itself was float16 on a Gemma: a warning, not a refusal
        EXPECT_NE(r.err.find("gemma3 in float16"), std::string::npos) << r.err;
    }
}

TEST_F(NonFinite, WithoutADtypeGemmaRunsInItsDefaultAndEqualsTransformers) {
    const auto r = run_qbench(ppl_args({"--json"}));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = json::parse(r.out);
    const std::string dtype = j["model"]["dtype"];
    ASSERT_TRUE(dtype == "bfloat16" || dtype == "float32") << dtype;
    EXPECT_NE(j["model"]["dtype_reason"].get<std::string>().find("default for cpu"), std::string::npos)
        << j["model"]["dtype_reason"];
    const auto ref = overflow_reference()["sliding"][dtype];
    EXPECT_EQ(j["tokens_scored"], ref["tokens_scored"]);
    EXPECT_LT(std::abs(j["ppl"].get<double>() / ref["ppl"].get<double>() - 1), tolerance(dtype))
        << j["ppl"] << " vs transformers " << ref["ppl"];
    // and --dtype overrides the default, each equal to transformers in that dtype
    for (const char* d : {"float32", "bfloat16"}) {
        const auto e = run_qbench(ppl_args({"--dtype", d, "--json"}));
        ASSERT_EQ(e.exit_code, 0) << e.err;
        const auto je = json::parse(e.out);
        EXPECT_EQ(je["model"]["dtype"], d);
        EXPECT_EQ(je["model"]["dtype_reason"], "requested");
        EXPECT_LT(std::abs(je["ppl"].get<double>() / overflow_reference()["sliding"][d]["ppl"].get<double>() - 1),
                  tolerance(d))
            << d;
    }
}

TEST_F(NonFinite, RunRecordsTheFailedVariantGoesOnAndCompareSaysFailed) {
    const fs::path config = dir_ / "overflow.yaml";
    std::ofstream(config) << "name: overflow\n"
                          << "output_dir: " << (dir_ / "out").string() << "\n"
                          << "variants:\n"
                          << "  - {name: auto, model: " << kModel.string() << "}\n"
                          << "  - {name: f16, model: " << kModel.string() << ", dtype: float16}\n"
                          << "  - {name: f32, model: " << kModel.string() << ", dtype: float32}\n"
                          << "perplexity:\n"
                          << "  data: " << (fixtures_dir() / "models" / "data.jsonl").string() << "\n"
                          << "  protocols: [sliding]\n  max_length: 16\n  stride: 6\n"
                          << "gates:\n  - {metric: perplexity_ratio, max: 1.5}\n";
    const auto r = run_qbench({"run", config.string()});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.out.find(" failed: perplexity (sliding): window 0: non-finite logits"), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("variant 'f16' failed: "), std::string::npos) << r.err;
    const auto rep = json::parse(read_file(dir_ / "out" / "report.json"));
    ASSERT_EQ(rep["variants"].size(), 3u);
    for (const auto& v : rep["variants"]) {
        if (v["name"] == "f16") {
            EXPECT_EQ(v["status"], "failed");
            EXPECT_EQ(v["error_code"], 3);
            EXPECT_NE(v["error"].get<std::string>().find(overflow_message()), std::string::npos) << v["error"];
        } else {
            EXPECT_EQ(v["status"], "ok") << v["name"] << ": " << v["error"];
            EXPECT_TRUE(v["perplexity"][0]["ppl"].is_number()) << v["name"];
            EXPECT_NE(v["model"]["dtype"], "float16");
        }
    }
    EXPECT_EQ(rep["variants"][0]["model"]["dtype_reason"].get<std::string>().rfind("default for cpu", 0), 0u);
    EXPECT_EQ(rep["variants"][2]["model"]["dtype_reason"], "requested");
    bool gate_failed_for_f16 = false;
    for (const auto& g : rep["gates"]) {
        if (g["variant"] == "f16") gate_failed_for_f16 = !g["passed"].get<bool>();
        if (g["variant"] == "f32") EXPECT_TRUE(g["passed"].get<bool>()) << g["detail"];
    }
    EXPECT_TRUE(gate_failed_for_f16);
    const std::string md = read_file(dir_ / "out" / "report.md");
    EXPECT_NE(md.find("- f16: variant: **failed** (failed: perplexity (sliding): window 0"), std::string::npos) << md;

    // compare over the report: the failed variant and, once a ppl is nulled, that value say failed
    auto c = run_qbench({"compare", (dir_ / "out" / "report.json").string(), "--json"});
    EXPECT_EQ(c.exit_code, 1) << c.err;
    auto jc = json::parse(c.out);
    ASSERT_EQ(jc["failed"].size(), 1u) << jc["failed"];
    EXPECT_EQ(jc["failed"][0]["variant"], "f16");
    auto nulled = rep;
    nulled["variants"][2]["perplexity"][0]["ppl"] = nullptr;
    write_file_atomic(dir_ / "nulled.json", nulled.dump());
    c = run_qbench({"compare", (dir_ / "nulled.json").string(), "--json"});
    EXPECT_EQ(c.exit_code, 1) << c.err;
    jc = json::parse(c.out);
    ASSERT_EQ(jc["failed"].size(), 2u) << jc["failed"];
    EXPECT_EQ(jc["failed"][1]["variant"], "f32");
    EXPECT_EQ(jc["failed"][1]["what"], "perplexity (sliding)");
    EXPECT_EQ(jc["comparisons"]["perplexity"][0]["variant"], "f32");
    EXPECT_TRUE(jc["comparisons"]["perplexity"][0]["failed"].get<bool>());
    EXPECT_TRUE(jc["comparisons"]["perplexity"][0]["ratio"].is_null());
    EXPECT_FALSE(jc["gates_passed"].get<bool>());
    c = run_qbench({"compare", (dir_ / "nulled.json").string()});
    EXPECT_EQ(c.exit_code, 1);
    EXPECT_NE(c.out.find("- f32: perplexity (sliding): **failed** (null)"), std::string::npos) << c.out;
}

}  // namespace
}  // namespace qbench
