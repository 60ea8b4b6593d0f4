#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <unistd.h>

#include "qbench/config/cli_bridge.hpp"
#include "qbench/config/run_config.hpp"
#include "qbench/config/runtime_quantization.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/hash.hpp"

namespace qbench::config {
namespace {

// A scratch directory with a model dir and a dataset, so that `must exist` checks pass.
class RunConfigTest : public ::testing::Test {
protected:
    void SetUp() override {
        // One per test: ctest runs the tests of this fixture in parallel processes.
        dir_ = fs::temp_directory_path() /
               ("qbench_config_test_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "models" / "tiny");
        fs::create_directories(dir_ / "datasets");
        std::ofstream(dir_ / "datasets" / "test.txt") << "hello\n";
        fs::create_directories(dir_ / "configs");
        config_ = dir_ / "configs" / "demo.yaml";
    }
    void TearDown() override { fs::remove_all(dir_); }

    RunConfig parse(const std::string& yaml, const CliOverrides& overrides = {}) {
        return parse_run_config(yaml, config_, overrides);
    }
    // The message of the kBadInput error that parsing `yaml` throws.
    std::string error_of(const std::string& yaml, const CliOverrides& overrides = {}) {
        try {
            parse(yaml, overrides);
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::kBadInput);
            return e.what();
        }
        ADD_FAILURE() << "no error for:\n" << yaml;
        return "";
    }

    fs::path dir_;
    fs::path config_;
};

const char* kFull = R"(name: demo
output_dir: ../runs/demo
device: cuda:1
dtype: float16
seed: 7
threads: 2
variants:
  - name: fp16
    model: ../models/tiny
  - name: rtn-int4-g32
    model: ../models/tiny
    quantize: rtn:bits=4,group_size=32,sym=false
  - name: rtn-int8
    model: ../models/tiny
    dtype: bfloat16
    quantize: {method: rtn, bits: 8, group_size: -1, sym: true}
perplexity:
  data: ../datasets/test.txt
  protocols: [sliding, gptq]
  max_length: 64
  batch_size: 4
)";

TEST_F(RunConfigTest, ValidConfigFillsStructsWithDefaultsAndResolvedPaths) {
    RunConfig c = parse(kFull);
    EXPECT_EQ(c.name, "demo");
    EXPECT_EQ(c.output_dir, dir_ / "runs" / "demo");
    EXPECT_EQ(c.device, "cuda:1");
    EXPECT_EQ(c.seed, 7);
    EXPECT_EQ(c.threads, 2);
    ASSERT_EQ(c.variants.size(), 3u);
    EXPECT_TRUE(c.variants[0].baseline);  // the first, by default
    EXPECT_FALSE(c.variants[1].baseline);
    EXPECT_EQ(c.baseline().name, "fp16");
    EXPECT_EQ(c.variants[0].model, dir_ / "models" / "tiny");
    EXPECT_EQ(c.variants[0].dtype, "float16");  // inherited
    EXPECT_EQ(c.variants[2].dtype, "bfloat16");
    EXPECT_FALSE(c.variants[0].quantize.has_value());
    ASSERT_TRUE(c.variants[1].quantize.has_value());
    EXPECT_EQ(c.variants[1].quantize->method, "rtn");
    EXPECT_EQ(c.variants[1].quantize->params.at("group_size"), "32");
    ASSERT_TRUE(c.perplexity.has_value());
    EXPECT_EQ(c.perplexity->data, dir_ / "datasets" / "test.txt");
    EXPECT_EQ(c.perplexity->protocols, (std::vector<std::string>{"sliding", "gptq"}));
    EXPECT_EQ(c.perplexity->max_length, 64);
    EXPECT_EQ(c.perplexity->stride, 32);  // max_length / 2
    EXPECT_EQ(c.perplexity->batch_size, 4);
    EXPECT_EQ(c.perplexity->limit, 0);
    EXPECT_EQ(c.source_path, config_);
    EXPECT_EQ(c.sha256, sha256_hex(kFull));
}

TEST_F(RunConfigTest, EffectiveEchoHasEveryOptionResolved) {
    const nlohmann::json e = parse(R"(variants:
  - {name: a, model: ../models/tiny}
  - {name: b, model: ../models/tiny, baseline: true, quantize: {method: rtn, bits: 4}}
perplexity: {data: ../datasets/test.txt, protocol: gptq}
)").effective;
    EXPECT_EQ(e["name"], "demo");  // the file's stem
    EXPECT_EQ(e["output_dir"], (dir_ / "configs" / "runs" / "demo").string());
    EXPECT_EQ(e["device"], "cpu");
    // not given: chosen per device and architecture at load (model/compute_dtype.hpp); the
    // report's model.dtype and dtype_reason say which ran
    EXPECT_EQ(e["dtype"], "");
    EXPECT_EQ(e["seed"], 1234);
    EXPECT_EQ(e["threads"], 0);
    EXPECT_EQ(e["variants"][0]["baseline"], false);
    EXPECT_EQ(e["variants"][1]["baseline"], true);
    EXPECT_EQ(e["variants"][0]["dtype"], "");
    EXPECT_EQ(e["variants"][0]["quantize"], nullptr);
    EXPECT_EQ(e["variants"][1]["quantize"], "rtn:bits=4");
    EXPECT_EQ(e["variants"][1]["model"], (dir_ / "models" / "tiny").string());
    const nlohmann::json& p = e["perplexity"];
    EXPECT_EQ(p["data"], (dir_ / "datasets" / "test.txt").string());
    EXPECT_EQ(p["protocols"], nlohmann::json::array({"gptq"}));
    EXPECT_EQ(p["max_length"], 512);
    EXPECT_EQ(p["stride"], 256);
    EXPECT_EQ(p["batch_size"], 1);
    EXPECT_EQ(p["limit"], 0);
    EXPECT_EQ(p["kld"], true);
    EXPECT_EQ(p["kld_protocol"], "gptq");  // the first protocol
    EXPECT_EQ(p["kld_top_k"], 0);
    EXPECT_EQ(p.size(), 9u);
    EXPECT_EQ(e["throughput"], nullptr);
    EXPECT_EQ(e["cost"], nullptr);
    EXPECT_EQ(e["tasks"], nullptr);
    EXPECT_EQ(e["gates"], nlohmann::json::array());
    EXPECT_EQ(e.size(), 12u);
}

TEST_F(RunConfigTest, ThroughputAndCostSectionsTakeDefaults) {
    const RunConfig c = parse(R"(variants:
  - {name: a, model: ../models/tiny}
  - {name: b, model: ../models/tiny, calibration_gpu_hours: 4, gguf_dequantize: true}
throughput: {}
cost: {on_demand_usd_per_hour: 3.5, spot_usd_per_hour: 1.2}
)");
    ASSERT_TRUE(c.throughput.has_value());
    EXPECT_EQ(c.throughput->batch_sizes, (std::vector<std::int64_t>{1, 32}));
    EXPECT_EQ(c.throughput->prefill_lengths, (std::vector<std::int64_t>{512, 2048}));
    EXPECT_EQ(c.throughput->context, 512);
    EXPECT_EQ(c.throughput->warmup, 10);
    EXPECT_EQ(c.throughput->repetitions, 5);
    EXPECT_TRUE(c.throughput->cuda_graph);
    EXPECT_TRUE(c.throughput->prompts.empty());
    EXPECT_EQ(c.throughput->arrival, "sequential");
    ASSERT_TRUE(c.cost.has_value());
    EXPECT_EQ(c.cost->gpus, 1);
    EXPECT_DOUBLE_EQ(c.cost->calibration_usd_per_gpu_hour, 3.5);
    EXPECT_DOUBLE_EQ(c.cost->served_tokens, 1e9);
    EXPECT_DOUBLE_EQ(c.variants[1].calibration_gpu_hours, 4.0);
    EXPECT_FALSE(c.variants[0].gguf_dequantize);
    EXPECT_TRUE(c.variants[1].gguf_dequantize);
    EXPECT_EQ(c.effective["throughput"]["batch_sizes"], nlohmann::json::array({1, 32}));
}

TEST_F(RunConfigTest, ThroughputAndCostValuesAreChecked) {
    const std::string v = "variants: [{name: a, model: ../models/tiny}]\n";
    EXPECT_NE(error_of(v + "throughput: {batch_sizes: [1, 0]}\n").find("throughput.batch_sizes"), std::string::npos);
    EXPECT_NE(error_of(v + "throughput: {arrival: burst}\n").find("throughput.arrival"), std::string::npos);
    EXPECT_NE(error_of(v + "throughput: {rate_per_s: 0}\n").find("must be above 0"), std::string::npos);
    EXPECT_NE(error_of(v + "cost: {spot_usd_per_hour: 1}\n").find("needs a throughput"), std::string::npos);
    EXPECT_NE(error_of(v + "throughput: {}\ncost: {gpus: 2}\n").find("give at least one price"), std::string::npos);
    // The cost's basis must be a measured batch size: checked with the file, not after the run.
    EXPECT_EQ(error_of(v + "throughput: {batch_sizes: [1, 8]}\ncost:\n  on_demand_usd_per_hour: 1\n  batch_size: 4\n"),
              config_.string() + ":5: cost.batch_size: 4 is not one of throughput.batch_sizes");
    EXPECT_NE(error_of(v + "throughput: {batch_sizes: []}\ncost: {on_demand_usd_per_hour: 1}\n")
                  .find("throughput.batch_sizes: cost: needs at least one decode batch size"),
              std::string::npos);
}

TEST_F(RunConfigTest, TasksAndGatesSectionsParseWithDefaultsAndChecks) {
    RunConfig c = parse("variants: [{name: a, model: ../models/tiny}]\n"
                        "tasks: {names: [arc_easy, gsm8k], limit: 5}\n"
                        "gates:\n"
                        "  - {metric: \"exact_match,strict-match\", task: gsm8k, max_drop: 0.02, significant: true}\n"
                        "  - {metric: perplexity_ratio, max: 1.02}\n");
    ASSERT_TRUE(c.tasks.has_value());
    EXPECT_EQ(c.tasks->names, (std::vector<std::string>{"arc_easy", "gsm8k"}));
    EXPECT_EQ(c.tasks->limit, 5);
    EXPECT_EQ(c.tasks->num_fewshot, -1);
    EXPECT_FALSE(c.tasks->allow_code_execution);
    ASSERT_EQ(c.gates.size(), 2u);
    EXPECT_EQ(c.gates[0].name, "gsm8k exact_match,strict-match drop <= 0.02 (significant)");
    EXPECT_EQ(c.gates[1].name, "perplexity_ratio <= 1.02");
    EXPECT_EQ(c.effective["gates"][0]["max_drop"], 0.02);

    const CliOverrides flags{{"--allow-code-execution", "true"}};
    RunConfig allowed = parse("variants: [{name: a, model: ../models/tiny}]\ntasks: {names: [humaneval]}\n", flags);
    EXPECT_TRUE(allowed.tasks->allow_code_execution);

    try {
        parse("variants: [{name: a, model: ../models/tiny}]\ngates: [{metric: acc, max_drop: 0.1}]\n");
        FAIL() << "a task metric without task: was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("gates[0].task: a task metric needs task:"), std::string::npos)
            << e.what();
    }
}

TEST_F(RunConfigTest, AbsentSectionEchoesNull) {
    RunConfig c = parse("variants: [{name: a, model: ../models/tiny}]\n");
    EXPECT_FALSE(c.perplexity.has_value());
    EXPECT_EQ(c.effective["perplexity"], nullptr);
}

TEST_F(RunConfigTest, LoadsFromFile) {
    std::ofstream(config_) << kFull;
    RunConfig c = load_run_config(config_);
    EXPECT_EQ(c.variants.size(), 3u);
    EXPECT_EQ(c.sha256, sha256_hex(kFull));
}

TEST_F(RunConfigTest, MisspeltKeyIsUnknownWithSuggestionAtItsLine) {
    const std::string msg = error_of(R"(variants: [{name: a, model: ../models/tiny}]
perplexity:
  data: ../datasets/test.txt
  max_lenght: 512
)");
    EXPECT_EQ(msg, config_.string() +
                       ":4: perplexity.max_lenght: unknown key (did you mean 'max_length'?)");
}

TEST_F(RunConfigTest, MissingPathNamesTheResolvedPath) {
    const std::string msg = error_of(R"(variants:
  - name: a
    model: ../models/tiny
  - name: b
    model: ../models/nope
)");
    EXPECT_EQ(msg, config_.string() + ":5: variants[1].model: path does not exist: " +
                       (dir_ / "models" / "nope").string());
}

TEST_F(RunConfigTest, WrongTypeNamesExpectedAndGot) {
    const std::string msg = error_of(R"(seed: abc
variants: [{name: a, model: ../models/tiny}]
)");
    EXPECT_EQ(msg, config_.string() + ":1: seed: expected an integer, got 'abc'");
    EXPECT_NE(error_of("variants: {name: a}\n").find(":1: variants: expected a list, got a map"),
              std::string::npos);
    EXPECT_NE(error_of("seed: [1]\nvariants: [{name: a, model: ../models/tiny}]\n")
                  .find(":1: seed: expected an integer, got a list"),
              std::string::npos);
}

TEST_F(RunConfigTest, MissingRequiredKeyPointsAtTheParentMap) {
    const std::string msg = error_of(R"(variants:
  - name: a
    model: ../models/tiny
  - name: b
perplexity:
  max_length: 64
)");
    EXPECT_EQ(msg, config_.string() + ":4: variants[1].model: missing required option (or `server:` for a served variant)");
    EXPECT_EQ(error_of("seed: 1\n"), config_.string() + ":1: variants: missing required option");
    EXPECT_EQ(error_of("variants: [{name: a, model: ../models/tiny}]\nperplexity:\n  limit: 3\n"),
              config_.string() + ":3: perplexity.data: missing required option");
}

TEST_F(RunConfigTest, MalformedYamlNamesTheLine) {
    const std::string msg = error_of("variants:\n  - name: a\n    model: [unclosed\n");
    EXPECT_EQ(msg.rfind(config_.string() + ":", 0), 0u) << msg;
    EXPECT_NE(msg.find("invalid YAML"), std::string::npos) << msg;
    EXPECT_NE(error_of("a: b\n  c: d\n").find(config_.string() + ":2: invalid YAML"),
              std::string::npos);
    // Not UTF-8 (found by the run_config fuzz target: the bytes reached the report's JSON echo,
    // where nlohmann::json threw type_error 316).
    EXPECT_EQ(error_of("name: ok\nvariants: [{name: \"a\xe9\", model: ../models/tiny}]\n"),
              config_.string() + ":2: not UTF-8 text (byte 0xe9 at offset 29); YAML files are UTF-8");
}

TEST_F(RunConfigTest, DuplicateVariantNamesRejected) {
    const std::string msg = error_of(R"(variants:
  - name: a
    model: ../models/tiny
  - name: a
    model: ../models/tiny
)");
    EXPECT_EQ(msg, config_.string() +
                       ":4: variants[1].name: duplicate variant name 'a' (also variants[0])");
}

TEST_F(RunConfigTest, NoVariantsRejected) {
    EXPECT_EQ(error_of("variants: []\n"), config_.string() + ":1: variants: must not be empty");
}

TEST_F(RunConfigTest, TwoBaselinesRejectedAtTheSecond) {
    const std::string msg = error_of(R"(variants:
  - {name: a, model: ../models/tiny, baseline: true}
  - name: b
    model: ../models/tiny
    baseline: true
)");
    EXPECT_EQ(msg, config_.string() +
                       ":5: variants[1].baseline: a second baseline; variants[0] is already the "
                       "baseline");
}

TEST_F(RunConfigTest, EmptyFileRejected) {
    EXPECT_NE(error_of("").find(config_.string() + ":1: the file is empty"), std::string::npos);
    EXPECT_NE(error_of("# only a comment\n").find(":1: the file is empty"), std::string::npos);
    EXPECT_NE(error_of("- a\n- b\n").find(":1: expected a map of options, got a list"),
              std::string::npos);
}

TEST_F(RunConfigTest, RangesEnumsAndCrossFieldChecks) {
    const std::string v = "variants: [{name: a, model: ../models/tiny}]\n";
    EXPECT_EQ(error_of(v + "dtype: floet16\n"),
              config_.string() +
                  ":2: dtype: unknown value 'floet16' (did you mean 'float16'?); expected one of: "
                  "float32, float16, bfloat16");
    EXPECT_EQ(error_of(v + "device: gpu\n"),
              config_.string() + ":2: device: unknown device 'gpu'; expected cpu, cuda or cuda:N");
    EXPECT_EQ(error_of(v + "perplexity:\n  data: ../datasets/test.txt\n  max_length: 8\n"
                           "  stride: 9\n"),
              config_.string() + ":5: perplexity.stride: must be in 1..max_length (8), got 9");
    EXPECT_EQ(error_of(v + "perplexity: {data: ../datasets/test.txt, stride: 0}\n"),
              config_.string() + ":2: perplexity.stride: must be at least 1, got 0");
    EXPECT_NE(error_of(v + "perplexity: {data: ../datasets/test.txt, "
                           "protocols: [sliding, slidng]}\n")
                  .find("perplexity.protocols: unknown value 'slidng' (did you mean 'sliding'?)"),
              std::string::npos);
    EXPECT_NE(error_of(v + "perplexity: {data: ../datasets/test.txt, protocol: gptq, "
                           "protocols: [gptq]}\n")
                  .find("perplexity.protocols: 'protocol' (line 2) and 'protocols' name the same"),
              std::string::npos);
    EXPECT_NE(error_of(v + "seed: 1\nseed: 2\n").find(":3: seed: given twice (first on line 2)"),
              std::string::npos);
    EXPECT_NE(error_of("variants: [{name: 'a b', model: ../models/tiny}]\n")
                  .find("variants[0].name: 'a b' is not a valid name"),
              std::string::npos);
}

// A served variant names a server and its tokenizer instead of a checkpoint; what only a local
// checkpoint has (quantize, dtype, gguf_dequantize) is refused with the file and line.
TEST_F(RunConfigTest, ServedVariants) {
    const std::string local = "  - {name: local, model: ../models/tiny}\n";
    const auto c = parse("variants:\n" + local +
                         "  - name: vllm\n"
                         "    server: {url: 'http://127.0.0.1:8000/v1', model: m, api_key_env: KEY, concurrency: 4}\n"
                         "    tokenizer: ../models/tiny\n");
    ASSERT_EQ(c.variants.size(), 2u);
    EXPECT_FALSE(c.variants[0].served());
    ASSERT_TRUE(c.variants[1].served());
    EXPECT_EQ(c.variants[1].server->url, "http://127.0.0.1:8000/v1");
    EXPECT_EQ(c.variants[1].server->model, "m");
    EXPECT_EQ(c.variants[1].server->api_key_env, "KEY");
    EXPECT_EQ(c.variants[1].server->concurrency, 4);
    EXPECT_EQ(c.variants[1].server->max_retries, 3);
    EXPECT_EQ(c.variants[1].tokenizer, dir_ / "models" / "tiny");
    EXPECT_TRUE(c.variants[1].dtype.empty());  // the server's, not the run's
    EXPECT_FALSE(c.variants[1].server_tokenizer);
    const auto own = parse("variants:\n" + local + "  - {name: s, server: {url: 'http://h:1/v1'}, tokenizer: server}\n");
    EXPECT_TRUE(own.variants[1].server_tokenizer);
    EXPECT_TRUE(own.variants[1].tokenizer.empty());
    EXPECT_NE(error_of("variants:\n" + local + "  - {name: s, server: {url: 'http://h:1/v1'}, tokenizer: ../nowhere}\n")
                  .find("variants[1].tokenizer: path does not exist"),
              std::string::npos);
    // The echo names the server (never a key: only the variable's name is in the config).
    EXPECT_EQ(c.effective["variants"][1]["server"]["url"], "http://127.0.0.1:8000/v1");

    const std::string served = "  - name: s\n    server: {url: 'http://h:1/v1'}\n";
    EXPECT_NE(error_of("variants:\n" + local + served).find(":4: variants[1].server: a served variant needs `tokenizer:`"),
              std::string::npos);
    EXPECT_NE(error_of("variants:\n" + local + served + "    tokenizer: ../models/tiny\n    model: ../models/tiny\n")
                  .find("variants[1].model: give either `model:` (a checkpoint) or `server:`, not both"),
              std::string::npos);
    EXPECT_NE(error_of("variants:\n" + local + served + "    tokenizer: ../models/tiny\n    quantize: 'rtn:bits=4'\n")
                  .find("variants[1].quantize: does not apply to a served variant"),
              std::string::npos);
    EXPECT_NE(error_of("variants:\n" + local + served + "    tokenizer: ../models/tiny\n    dtype: float16\n")
                  .find("variants[1].dtype: does not apply to a served variant"),
              std::string::npos);
    EXPECT_NE(error_of("variants:\n" + local + "  - name: s\n    server: {url: 'ftp://h/v1'}\n    tokenizer: ../models/tiny\n")
                  .find("variants[1].server.url: 'ftp://h/v1' is not an http:// or https:// URL"),
              std::string::npos);
    EXPECT_NE(error_of("variants:\n" + local + "  - name: s\n    tokenizer: ../models/tiny\n")
                  .find("variants[1].model: missing required option (or `server:` for a served variant)"),
              std::string::npos);
    EXPECT_NE(error_of("variants:\n  - {name: a, model: ../models/tiny, tokenizer: ../models/tiny}\n")
                  .find("variants[0].tokenizer: only for a served variant"),
              std::string::npos);
    // A served variant's throughput is a load test of its server: it needs prompts.
    EXPECT_NE(error_of("variants:\n" + local + served + "    tokenizer: ../models/tiny\n"
                       "throughput: {batch_sizes: [1]}\n")
                  .find("throughput: variant 's' is served: its throughput is a load test of the server and needs "
                        "`prompts:`"),
              std::string::npos);
}

TEST(QuantizeSpec, ShortAndMapFormsGiveTheSameCanonicalSpec) {
    QuantizeSpec s = parse_quantize_spec(" rtn : sym=false, bits=4 ,group_size=32");
    EXPECT_EQ(s.method, "rtn");
    EXPECT_EQ(s.to_string(), "rtn:bits=4,group_size=32,sym=false");
    EXPECT_EQ(parse_quantize_spec("fp8:granularity=channel").to_string(),
              "fp8:granularity=channel");
    EXPECT_EQ(parse_quantize_spec("fp8").to_string(), "fp8");
    EXPECT_TRUE(parse_quantize_spec("fp8").params.empty());
}

TEST(QuantizeSpec, SyntaxErrorsAreBadInput) {
    for (const char* bad : {"", ":bits=4", "rtn:bits", "rtn:bits=4,bits=8", "rtn:=4", "rtn:bits=",
                            "rtn:bits=4,", "r t n"}) {
        try {
            parse_quantize_spec(bad);
            ADD_FAILURE() << "accepted '" << bad << "'";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::kBadInput);
            EXPECT_EQ(std::string(e.what()).rfind(std::string("invalid quantize spec '") + bad, 0),
                      0u)
                << e.what();
        }
    }
}

TEST_F(RunConfigTest, QuantizeMapAndStringFormsAreEqual) {
    RunConfig c = parse(R"(variants:
  - name: a
    model: ../models/tiny
    quantize: rtn:bits=4,group_size=32,sym=false
  - name: b
    model: ../models/tiny
    quantize: {method: rtn, sym: false, group_size: 32, bits: 4}
)");
    EXPECT_EQ(*c.variants[0].quantize, *c.variants[1].quantize);
    EXPECT_EQ(c.effective["variants"][1]["quantize"], "rtn:bits=4,group_size=32,sym=false");
    EXPECT_EQ(error_of("variants: [{name: a, model: ../models/tiny, quantize: {bits: 4}}]\n"),
              config_.string() + ":1: variants[0].quantize.method: missing required option");
    EXPECT_NE(error_of("variants: [{name: a, model: ../models/tiny, quantize: 'rtn:bits'}]\n")
                  .find(":1: variants[0].quantize: invalid quantize spec 'rtn:bits'"),
              std::string::npos);
}

// The parameters of a spec are checked with the rest of the file, before any model loads.
TEST_F(RunConfigTest, QuantizeParametersAreValidatedWithTheFile) {
    EXPECT_EQ(error_of("variants:\n  - {name: a, model: ../models/tiny}\n"
                       "  - {name: b, model: ../models/tiny, quantize: 'rtn:bits=5'}\n"),
              config_.string() + ":3: variants[1].quantize: quantize: rtn: bits must be 2, 3, 4 or 8, got 5");
    EXPECT_EQ(error_of("variants:\n  - name: a\n    model: ../models/tiny\n    quantize: {method: fp8, granularity: block}\n"),
              config_.string() + ":4: variants[0].quantize: quantize: fp8: granularity must be tensor or channel, got 'block'");
    EXPECT_NE(error_of("variants: [{name: a, model: ../models/tiny, quantize: 'rtn:group=32'}]\n")
                  .find(":1: variants[0].quantize: quantize: rtn: unknown parameter 'group' (known: bits, group_size, sym, lm_head)"),
              std::string::npos);
    EXPECT_NE(error_of("variants: [{name: a, model: ../models/tiny, quantize: gguf}]\n")
                  .find("quantize: unknown method 'gguf' (rtn, fp8, w8a8)"),
              std::string::npos);
    const auto r = resolve_quantize_spec(parse_quantize_spec("rtn:bits=3,sym=false"));
    EXPECT_EQ(r.method, "rtn");
    EXPECT_EQ(r.bits, 3);
    EXPECT_EQ(r.group_size, 128);  // the declared default
    EXPECT_FALSE(r.symmetric);
    EXPECT_FALSE(r.lm_head);
    EXPECT_EQ(resolve_quantize_spec(parse_quantize_spec("fp8")).granularity, "tensor");
}

TEST_F(RunConfigTest, CliFlagsOverrideAndAreValidatedByTheDeclarations) {
    CLI::App app;
    CliOverrides overrides;
    add_cli_flags(app, run_config_options(), overrides);
    const char* argv[] = {"qbench", "--limit", "5", "--device", "cuda", "--out", "/tmp/x"};
    app.parse(7, const_cast<char**>(argv));
    RunConfig c = parse(kFull, overrides);
    EXPECT_EQ(c.perplexity->limit, 5);
    EXPECT_EQ(c.device, "cuda");
    EXPECT_EQ(c.output_dir, fs::path("/tmp/x"));
    EXPECT_EQ(c.effective["perplexity"]["limit"], 5);
    EXPECT_EQ(error_of(kFull, {{"--limit", "abc"}}),
              "--limit: perplexity.limit: expected an integer, got 'abc'");
    EXPECT_EQ(error_of(kFull, {{"--limit", "-1"}}),
              "--limit: perplexity.limit: must be at least 0, got -1");
    EXPECT_EQ(error_of(kFull, {{"--bogus", "1"}}), "--bogus: no config option has this flag");
}

TEST(RunConfigOptions, DescribeNestedOptionsWithFlagsAndDefaults) {
    const std::vector<OptionInfo> options = run_config_options();
    auto find = [&](const std::string& key) {
        for (const auto& o : options)
            if (o.key == key) return o;
        ADD_FAILURE() << key;
        return OptionInfo{};
    };
    EXPECT_EQ(find("perplexity.limit").cli_flag, "--limit");
    EXPECT_EQ(find("perplexity.limit").type, "integer");
    EXPECT_EQ(find("perplexity.stride").default_text, "max_length/2");
    EXPECT_EQ(find("perplexity.protocols").default_text, R"(["sliding"])");
    EXPECT_FALSE(find("variants[].model").required);  // a served variant has `server:` instead
    EXPECT_EQ(find("variants[].model").default_text, "required unless `server:` is given");
    EXPECT_EQ(find("variants[].server.url").type, "string");
    EXPECT_EQ(find("variants[].model").type, "path");
    EXPECT_EQ(find("device").default_text, "cpu");
}

}  // namespace
}  // namespace qbench::config
