// The command-line contract of ppl, inspect and run: results on stdout (JSON with --json),
// one-line errors on stderr with the documented exit codes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "cli/run_qbench.hpp"
#include "qbench/util/files.hpp"
#include "qbench/util/strings.hpp"
#include "support/fixtures.hpp"

namespace qbench {
namespace {

namespace fs = std::filesystem;
using testing_cli::run_qbench;
using qbench::testing::fixtures_dir;
using qbench::testing::model_fixture;

class ModelCommands : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("qbench_cli_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    // A copy of a fixture model whose model.safetensors is replaced by `bytes`.
    fs::path broken_model(const std::string& bytes) {
        fs::path m = dir_ / "model";
        fs::create_directories(m);
        fs::copy_file(model_fixture("llama_gqa_llama3") / "f32" / "config.json", m / "config.json");
        write_file_atomic(m / "model.safetensors", bytes);
        return m;
    }

    static void expect_one_line_error(const testing_cli::RunResult& r, int code, const std::string& fragment) {
        EXPECT_EQ(r.exit_code, code) << r.err;
        EXPECT_NE(r.err.find("qbench: error: "), std::string::npos) << r.err;
        EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
        const auto line = r.err.substr(r.err.find("qbench: error: "));
        EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line: " << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
    }

    fs::path dir_;
};

TEST_F(ModelCommands, PplJsonReproducesTheReference) {
    const auto ref = nlohmann::json::parse(read_file(model_fixture("mistral_swa") / "perplexity.json"))["gptq"];
    auto r = run_qbench({"ppl", (model_fixture("mistral_swa") / "f32").string(), "--data",
                         (fixtures_dir() / "models" / "data.jsonl").string(), "--protocol", "gptq",
                         "--max-length", "16", "--dtype", "float32", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["protocol"], "gptq");
    EXPECT_EQ(j["tokens_scored"], ref["tokens_scored"]);
    EXPECT_LT(std::abs(j["ppl"].get<double>() / ref["ppl"].get<double>() - 1), 1e-5);
    EXPECT_LT(std::abs(j["nll_sum"].get<double>() / ref["nll_sum"].get<double>() - 1), 1e-5);
    EXPECT_EQ(j["blocks"].size(), ref["blocks"].size());
}

// The transformers guide's loop: windows start every `stride` tokens until one reaches the end;
// a one-token document has nothing to score and gets no window.
std::size_t sliding_windows(std::size_t n, std::size_t max_length, std::size_t stride) {
    std::size_t windows = 0;
    if (n < 2) return 0;
    for (std::size_t begin = 0; begin < n; begin += stride) {
        ++windows;
        if (begin + max_length >= n) break;
    }
    return windows;
}

// The documented defaults of `qbench ppl` (issue 14): max_length = min(2048,
// max_position_embeddings) and stride = max_length / 2, applied, reported, and a --max-length
// alone gets its own half as the stride.
TEST_F(ModelCommands, PplWindowDefaultsComeFromTheModelAndMaxLength) {
    const auto data = fixtures_dir() / "models" / "data.jsonl";
    std::vector<std::size_t> lengths;
    for (const auto& line : split(read_file(data), '\n')) {
        if (!line.empty()) lengths.push_back(nlohmann::json::parse(line)["input_ids"].size());
    }
    const auto model = (model_fixture("llama_linear_bias") / "f32").string();  // max_position_embeddings 128
    for (const auto& [flags, max_length, stride] :
         std::vector<std::tuple<std::vector<std::string>, std::size_t, std::size_t>>{
             {{}, 128, 64}, {{"--max-length", "32"}, 32, 16}, {{"--max-length", "33", "--stride", "5"}, 33, 5}}) {
        std::vector<std::string> args = {"ppl", model, "--data", data.string(), "--dtype", "float32", "--json"};
        args.insert(args.end(), flags.begin(), flags.end());
        const auto r = run_qbench(args);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const auto j = nlohmann::json::parse(r.out);
        EXPECT_EQ(j["max_length_tokens"], max_length) << r.out;
        EXPECT_EQ(j["stride_tokens"], stride) << r.out;
        std::size_t windows = 0;
        for (auto n : lengths) windows += sliding_windows(n, max_length, stride);
        EXPECT_EQ(j["blocks"].size(), windows) << max_length << " / " << stride;
    }
}

TEST_F(ModelCommands, InspectJsonDescribesTheCheckpoint) {
    auto r = run_qbench({"inspect", (model_fixture("qwen3_qknorm") / "bf16").string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["architecture"], "Qwen3ForCausalLM");
    EXPECT_EQ(j["dtype"], "bfloat16");
    EXPECT_EQ(j["quantization"], "none");
    EXPECT_TRUE(j["quantization_config"].is_null());
    EXPECT_EQ(j["weight_bytes"].get<std::int64_t>(), 2 * j["num_parameters"].get<std::int64_t>());
    // report.json's model block, key for key, and what only the checkpoint shows besides.
    std::set<std::string> keys;
    for (const auto& [k, v] : j.items()) keys.insert(k);
    EXPECT_EQ(keys, (std::set<std::string>{"path", "format", "architecture", "dtype", "dtype_reason", "device",
                                           "num_parameters", "weight_bytes", "quantization", "kernels",
                                           "quantization_info", "load_seconds", "tensors", "config",
                                           "quantization_config"}));
}

// `ppl --json` prints report.json's perplexity entry (and the variant's model block): the same
// keys and the same values as `run` writes for the same model, data and windows.
TEST_F(ModelCommands, PplJsonHasTheKeysAndValuesOfReportJsonsPerplexity) {
    const auto model = (model_fixture("llama_linear_bias") / "f32").string();
    const auto data = (fixtures_dir() / "models" / "data.jsonl").string();
    auto r = run_qbench({"ppl", model, "--data", data, "--protocol", "sliding", "--max-length", "16", "--stride", "6",
                         "--dtype", "float32", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto ppl = nlohmann::json::parse(r.out);
    write_file_atomic(dir_ / "run.yaml", "name: t\noutput_dir: out\ndtype: float32\nvariants:\n"
                                         "  - {name: base, model: " + model + "}\n"
                                         "perplexity:\n  data: " + data +
                                         "\n  protocols: [sliding]\n  max_length: 16\n  stride: 6\n");
    r = run_qbench({"-q", "run", (dir_ / "run.yaml").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto rep = nlohmann::json::parse(read_file(dir_ / "out" / "report.json"));
    auto entry = rep["variants"][0]["perplexity"][0];
    const auto model_block = rep["variants"][0]["model"];
    std::set<std::string> ppl_keys, report_keys, model_keys, report_model_keys;
    for (const auto& [k, v] : ppl.items()) ppl_keys.insert(k);
    for (const auto& [k, v] : entry.items()) report_keys.insert(k);
    report_keys.insert("model");
    EXPECT_EQ(ppl_keys, report_keys);
    for (const auto& [k, v] : ppl["model"].items()) model_keys.insert(k);
    for (const auto& [k, v] : model_block.items()) report_model_keys.insert(k);
    EXPECT_EQ(model_keys, report_model_keys);
    // The same windows give the same numbers bit for bit; the wall times differ.
    for (auto* j : {&ppl, &entry}) j->erase("seconds");
    ppl.erase("model");
    EXPECT_EQ(ppl, entry);
}

TEST_F(ModelCommands, TruncatedSafetensorsNamesFileAndTensor) {
    std::string bytes = read_file(model_fixture("llama_gqa_llama3") / "f32" / "model.safetensors");
    auto m = broken_model(bytes.substr(0, bytes.size() - 100));
    auto r = run_qbench({"ppl", m.string(), "--data", (fixtures_dir() / "models" / "data.jsonl").string()});
    expect_one_line_error(r, 2, (m / "model.safetensors").string() + ": truncated: tensor '");
}

TEST_F(ModelCommands, GarbageSafetensorsIsAClearError) {
    auto m = broken_model(std::string("\xff\xff\xff\xff\xff\xff\xff\x7f garbage", 16));
    auto r = run_qbench({"inspect", m.string()});
    expect_one_line_error(r, 2, "model.safetensors: safetensors header size");
}

TEST_F(ModelCommands, UnsupportedArchitectureListsTheSupportedOnes) {
    fs::path m = dir_ / "gpt2";
    fs::create_directories(m);
    write_file_atomic(m / "config.json", R"({"architectures": ["GPT2LMHeadModel"], "vocab_size": 10})");
    auto r = run_qbench({"inspect", m.string()});
    expect_one_line_error(r, 2, "architecture 'GPT2LMHeadModel' is not supported (supported: LlamaForCausalLM, "
                                "MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, Gemma3ForCausalLM)");
}

TEST_F(ModelCommands, MissingModelAndBadOptionsAreUsageErrors) {
    expect_one_line_error(run_qbench({"inspect", (dir_ / "nope").string()}), 2, "nope");
    auto r = run_qbench({"ppl", (model_fixture("qwen3_qknorm") / "f32").string(), "--data",
                         (fixtures_dir() / "models" / "data.jsonl").string(), "--device", "tpu"});
    expect_one_line_error(r, 2, "device 'tpu': expected cpu, cuda or cuda:N");
    r = run_qbench({"ppl", (model_fixture("qwen3_qknorm") / "f32").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--data is required"), std::string::npos) << r.err;
}

TEST_F(ModelCommands, RunWritesReportAndResumes) {
    const auto model = (model_fixture("llama_linear_bias") / "f32").string();
    write_file_atomic(dir_ / "run.yaml", "name: t\noutput_dir: out\ndtype: float32\nvariants:\n"
                                         "  - {name: base, model: " + model + "}\n"
                                         "  - {name: bf16, model: " + model + ", dtype: bfloat16}\n"
                                         "perplexity:\n  data: " + (fixtures_dir() / "models" / "data.jsonl").string() +
                                         "\n  protocols: [sliding, llama.cpp]\n  max_length: 16\n  stride: 6\n");
    auto r = run_qbench({"run", (dir_ / "run.yaml").string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto summary = nlohmann::json::parse(r.out);
    EXPECT_EQ(summary["report"], (dir_ / "out" / "report.json").string());
    auto rep = nlohmann::json::parse(read_file(dir_ / "out" / "report.json"));
    EXPECT_EQ(rep["schema_version"], 1);
    EXPECT_EQ(rep["context"]["config_sha256"].get<std::string>().size(), 64u);
    EXPECT_FALSE(rep["context"]["libtorch_version"].get<std::string>().empty());
    ASSERT_EQ(rep["variants"].size(), 2u);
    EXPECT_TRUE(rep["variants"][0]["baseline"].get<bool>());
    EXPECT_EQ(rep["variants"][0]["perplexity"].size(), 2u);
    const auto ref = nlohmann::json::parse(read_file(model_fixture("llama_linear_bias") / "perplexity.json"));
    EXPECT_LT(std::abs(rep["variants"][0]["perplexity"][0]["ppl"].get<double>() / ref["sliding"]["ppl"].get<double>() - 1), 1e-5);
    EXPECT_TRUE(fs::exists(dir_ / "out" / "report.md"));
    // --json: report.csv's columns per variant, nested, under report.json's key names.
    EXPECT_EQ(summary["csv"], (dir_ / "out" / "report.csv").string());
    EXPECT_TRUE(fs::exists(dir_ / "out" / "report.csv"));
    ASSERT_EQ(summary["variants"].size(), 2u);
    const auto& s0 = summary["variants"][0];
    EXPECT_EQ(s0["name"], "base");
    EXPECT_EQ(s0["perplexity"]["llama.cpp"]["ppl"], rep["variants"][0]["perplexity"][1]["ppl"]);
    EXPECT_EQ(s0["model"]["dtype"], "float32");
    EXPECT_FALSE(s0["perplexity"]["sliding"].contains("ratio"));  // the baseline has no ratio
    const auto& s1 = summary["variants"][1];
    EXPECT_EQ(s1["model"]["weight_bytes"], rep["variants"][1]["model"]["weight_bytes"]);
    EXPECT_DOUBLE_EQ(s1["perplexity"]["sliding"]["ratio"].get<double>(),
                     rep["comparisons"]["perplexity"][0]["ratio"].get<double>());
    EXPECT_EQ(s1["perplexity"]["sliding"]["ratio_ci"], rep["comparisons"]["perplexity"][0]["ratio_ci"]);

    auto again = run_qbench({"run", (dir_ / "run.yaml").string(), "--resume"});
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_NE(again.err.find("kept from the previous run"), std::string::npos) << again.err;
}

TEST_F(ModelCommands, RunRecordsAFailedVariantAndGoesOn) {
    const auto model = (model_fixture("llama_linear_bias") / "f32").string();
    auto broken = broken_model("short");
    write_file_atomic(dir_ / "run.yaml", "output_dir: out\ndtype: float32\nvariants:\n"
                                         "  - {name: base, model: " + model + "}\n"
                                         "  - {name: broken, model: " + broken.string() + "}\n"
                                         "perplexity:\n  data: " + (fixtures_dir() / "models" / "data.jsonl").string() +
                                         "\n  max_length: 16\n");
    auto r = run_qbench({"run", (dir_ / "run.yaml").string(), "--json"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    auto rep = nlohmann::json::parse(read_file(dir_ / "out" / "report.json"));
    EXPECT_EQ(rep["variants"][0]["status"], "ok");
    EXPECT_EQ(rep["variants"][1]["status"], "failed");
    EXPECT_NE(rep["variants"][1]["error"].get<std::string>().find("not a safetensors file"), std::string::npos);
}

TEST_F(ModelCommands, RunConfigErrorsNameFileLineAndKey) {
    write_file_atomic(dir_ / "bad.yaml", "variants:\n  - {name: a, model: /nonexistent/model}\n");
    expect_one_line_error(run_qbench({"run", (dir_ / "bad.yaml").string()}), 2,
                          "bad.yaml:2: variants[0].model: path does not exist");
    write_file_atomic(dir_ / "typo.yaml", "variants:\n  - {name: a, model: " + dir_.string() +
                                              "}\nperplexity:\n  data: " + (dir_ / "typo.yaml").string() +
                                              "\n  max_lenght: 4\n");
    expect_one_line_error(run_qbench({"run", (dir_ / "typo.yaml").string()}), 2,
                          "typo.yaml:5: perplexity.max_lenght: unknown key (did you mean 'max_length'?)");
    write_file_atomic(dir_ / "type.yaml", "seed: abc\nvariants:\n  - {name: a, model: " + dir_.string() + "}\n");
    expect_one_line_error(run_qbench({"run", (dir_ / "type.yaml").string()}), 2, "type.yaml:1: seed:");
    expect_one_line_error(run_qbench({"run", (dir_ / "missing.yaml").string()}), 2, "missing.yaml");
}

TEST_F(ModelCommands, TextInputWithoutTokenizerIsAClearError) {
    write_file_atomic(dir_ / "t.txt", "some text");
    auto r = run_qbench({"ppl", (model_fixture("qwen3_qknorm") / "f32").string(), "--data", (dir_ / "t.txt").string()});
    expect_one_line_error(r, 2, "t.txt: text input needs the model's tokenizer");
}

TEST_F(ModelCommands, HelpAndVersion) {
    auto r = run_qbench({"--version"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("qbench 0.1.0"), std::string::npos);
    r = run_qbench({"ppl", "--help"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("--protocol"), std::string::npos);
}

}  // namespace
}  // namespace qbench
