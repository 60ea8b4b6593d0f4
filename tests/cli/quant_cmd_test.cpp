// The quantization surface of the command line: `ppl --quantize` validation, `inspect` of a
// quantized checkpoint, `bench-kernels --json`.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "run_qbench.hpp"

namespace qbench::testing_cli {
namespace {

const std::string kSource = QBENCH_SOURCE_DIR;

TEST(QuantCli, BadQuantizeSpecIsExitTwoNamingTheKey) {
    const RunResult r = run_qbench({"ppl", kSource + "/tests/fixtures/models/llama_linear_bias/f32", "--data",
                                    kSource + "/tests/fixtures/models/data.jsonl", "--quantize", "rtn:bits=5"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("quantize: rtn: bits must be 2, 3, 4 or 8, got 5"), std::string::npos) << r.err;
}

TEST(QuantCli, InspectShowsSchemeKernelsAndCompression) {
    const RunResult r = run_qbench({"inspect", kSource + "/tests/fixtures/quant/gptq_b4_dynamic", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    const auto& q = j.at("quantization_info");
    EXPECT_EQ(q.at("method"), "gptq");
    EXPECT_EQ(q.at("bits"), 4);
    EXPECT_EQ(q.at("group_size"), 32);
    EXPECT_EQ(q.at("symmetric"), true);
    EXPECT_EQ(q.at("activation"), "none");
    EXPECT_GT(q.at("compression_ratio").get<double>(), 1.0);
    std::map<std::string, std::string> kernels;
    for (const auto& k : j.at("kernels")) kernels[k.at("name")] = k.at("kernel");
    EXPECT_EQ(kernels.at("model.layers.0.self_attn.q_proj"), "int4pack_mm_cpu");
    EXPECT_EQ(kernels.at("model.layers.0.mlp.down_proj"), "dense");
    const RunResult text = run_qbench({"inspect", kSource + "/tests/fixtures/quant/gptq_b4_dynamic"});
    EXPECT_NE(text.out.find("weights      int 4 bits, group 32, symmetric"), std::string::npos) << text.out;
}

TEST(QuantCli, BenchKernelsTimesEveryKindAgainstDense) {
    const RunResult r = run_qbench({"bench-kernels", "--n", "64", "--k", "128", "--m", "1,3", "--repetitions", "1",
                                    "--dtype", "float32", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j.at("results").size(), 22u);  // 11 kinds x 2 M
    int fused = 0;
    for (const auto& row : j.at("results")) {
        fused += row.at("kernel") == "lowbit_gemv_cpu";
        EXPECT_GT(row.at("quant_us").get<double>(), 0.0);
        EXPECT_LT(row.at("weight_bytes").get<std::int64_t>(), row.at("dense_weight_bytes").get<std::int64_t>());
    }
    EXPECT_EQ(fused, 8);  // int3 g128 (kAuto in float32) and the three "(fused)" rows, at both M
}

}  // namespace
}  // namespace qbench::testing_cli
