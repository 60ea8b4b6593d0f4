#include "qbench/config/run_config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "qbench/config/schema.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"
#include "qbench/util/hash.hpp"

namespace qbench::config {

namespace {

const std::vector<std::string> kDtypes = {"float32", "float16", "bfloat16"};
const std::vector<std::string> kProtocols = {"sliding", "gptq", "llama.cpp", "lm-eval-rolling"};

// Names end up in file names and report tables.
std::optional<std::string> check_name(const std::string& name) {
    const bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    });
    if (ok) return std::nullopt;
    return fmt::format("'{}' is not a valid name (use letters, digits, '.', '_', '-')", name);
}

std::optional<std::string> check_device(const std::string& device) {
    if (device == "cpu" || device == "cuda") return std::nullopt;
    if (device.starts_with("cuda:") && device.size() > 5 &&
        std::all_of(device.begin() + 5, device.end(),
                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
        return std::nullopt;
    return fmt::format("unknown device '{}'; expected cpu, cuda or cuda:N", device);
}

std::optional<std::string> check_unique(const std::vector<std::string>& items) {
    std::set<std::string> seen;
    for (const auto& x : items)
        if (!seen.insert(x).second) return fmt::format("'{}' is listed twice", x);
    return std::nullopt;
}

}  // namespace

const Schema<ServerConfig>& ServerConfig::schema() {
    static const Schema<ServerConfig> schema = [] {
        Schema<ServerConfig> s;
        s.option("url", &ServerConfig::url, "base URL of the OpenAI routes, e.g. http://127.0.0.1:8000/v1")
            .required()
            .check([](const std::string& u) -> std::optional<std::string> {
                if (u.starts_with("http://") || u.starts_with("https://")) return std::nullopt;
                return fmt::format("'{}' is not an http:// or https:// URL", u);
            });
        s.option("model", &ServerConfig::model, "the server's model name")
            .default_text("the only model the server lists");
        s.option("api_key_env", &ServerConfig::api_key_env,
                 "environment variable holding the API key (the key itself never appears in a file)")
            .default_text("none");
        s.option("timeout_s", &ServerConfig::timeout_s, "seconds per request").default_value(600.0).at_least(1.0);
        s.option("max_retries", &ServerConfig::max_retries, "retries after 429, 5xx or no response")
            .default_value(3)
            .at_least(0);
        s.option("concurrency", &ServerConfig::concurrency,
                 "load test (throughput.prompts): most requests in flight, 0 = unlimited")
            .default_value(0)
            .at_least(0);
        s.option("top_logprobs", &ServerConfig::top_logprobs,
                 "most log-probs per position the server returns (vLLM: --max-logprobs, 20 by default); the KLD "
                 "of a served variant is a lower bound over them")
            .default_value(20)
            .at_least(1);
        return s;
    }();
    return schema;
}

const Schema<VariantConfig>& VariantConfig::schema() {
    static const Schema<VariantConfig> schema = [] {
        Schema<VariantConfig> s;
        s.option("name", &VariantConfig::name, "unique name of the variant in reports")
            .required()
            .check(check_name);
        s.option("model", &VariantConfig::model,
                 "HF model directory or .gguf file, relative to the config file's directory")
            .default_text("required unless `server:` is given")
            .existing_path();
        s.option("server", &VariantConfig::server,
                 "an OpenAI-compatible server that serves this variant (instead of `model:`)")
            .default_text("none");
        s.option("tokenizer", &VariantConfig::tokenizer,
                 "served variant: its tokenizer (HF model dir, tokenizer.json, tokenizer.model or .gguf), "
                 "for exact token ids on the client, or `server` for the server's own /tokenize")
            .default_text("required with `server:`")
            .check([](const fs::path& p) -> std::optional<std::string> {
                std::error_code ec;
                if (fs::exists(p, ec) || p.filename() == "server") return std::nullopt;
                return "path does not exist: " + p.string();
            });
        s.option("baseline", &VariantConfig::baseline,
                 "the variant the others are compared with (default: the first)")
            .default_value(false);
        s.option("dtype", &VariantConfig::dtype, "compute dtype of this variant")
            .default_text("the run's dtype")
            .one_of(kDtypes);
        s.option("quantize", &VariantConfig::quantize,
                 "run-time quantization: 'method:key=value,...' or a map with 'method'")
            .default_text("none");
        s.option("gguf_dequantize", &VariantConfig::gguf_dequantize,
                 ".gguf model: dequantize every tensor at load instead of keeping Q8_0 / Q4_0 Linear "
                 "weights low-bit")
            .default_value(false);
        s.option("calibration_gpu_hours", &VariantConfig::calibration_gpu_hours,
                 "GPU-hours spent calibrating this checkpoint, amortized in the cost section")
            .default_value(0.0)
            .at_least(0.0);
        s.finalize([](VariantConfig& v, const Fields& f) {
            if (v.server) {
                if (f.given("model")) f.at("model").fail("give either `model:` (a checkpoint) or `server:`, not both");
                if (!f.given("tokenizer")) {
                    f.at("server").fail("a served variant needs `tokenizer:` (the served model's tokenizer: an HF "
                                        "model dir, tokenizer.json, tokenizer.model or .gguf)");
                }
                std::error_code ec;
                if (v.tokenizer.filename() == "server" && !fs::exists(v.tokenizer, ec)) {
                    v.server_tokenizer = true;
                    v.tokenizer.clear();
                }
                for (const char* local : {"quantize", "gguf_dequantize", "dtype"}) {
                    if (f.given(local)) {
                        f.at(local).fail("does not apply to a served variant (the server chose how it serves "
                                         "the model)");
                    }
                }
            } else {
                if (!f.given("model")) f.at("model").fail("missing required option (or `server:` for a served variant)");
                if (f.given("tokenizer")) f.at("tokenizer").fail("only for a served variant (`server:`)");
            }
        });
        return s;
    }();
    return schema;
}

const Schema<PerplexityConfig>& PerplexityConfig::schema() {
    static const Schema<PerplexityConfig> schema = [] {
        Schema<PerplexityConfig> s;
        s.option("data", &PerplexityConfig::data,
                 ".txt or .jsonl evaluation text, relative to the config file's directory")
            .required()
            .existing_path();
        s.option("protocols", &PerplexityConfig::protocols,
                 "perplexity protocols to run (a list, or one name as `protocol:`)")
            .alias("protocol")
            .default_value({"sliding"})
            .non_empty()
            .one_of(kProtocols)
            .check(check_unique);
        s.option("max_length", &PerplexityConfig::max_length, "tokens per window (n_ctx)")
            .default_value(512)
            .at_least(2);
        s.option("stride", &PerplexityConfig::stride,
                 "sliding: tokens between window starts, 1..max_length")
            .default_text("max_length/2")
            .at_least(1);
        s.option("batch_size", &PerplexityConfig::batch_size, "windows per forward pass")
            .default_value(1)
            .at_least(1);
        s.option("limit", &PerplexityConfig::limit, "maximum windows or documents, 0 = all")
            .default_value(0)
            .at_least(0)
            .cli("--limit");
        s.option("kld", &PerplexityConfig::kld,
                 "KL divergence, same-top-1 and delta-p of each variant against the baseline")
            .default_value(true);
        s.option("kld_protocol", &PerplexityConfig::kld_protocol,
                 "the protocol whose scored tokens the KLD uses (one of protocols)")
            .default_text("the first of protocols")
            .one_of(kProtocols);
        s.option("kld_top_k", &PerplexityConfig::kld_top_k,
                 "baseline tokens kept per position (plus one tail bucket, a lower bound); 0 = the whole "
                 "vocabulary (exact KLD; top-128 when the file would not fit on the disk)")
            .default_value(0)
            .at_least(0);
        s.finalize([](PerplexityConfig& c, const Fields& f) {
            if (!f.given("kld_protocol")) {
                c.kld_protocol = c.protocols.empty() ? std::string("sliding") : c.protocols.front();
            } else if (std::find(c.protocols.begin(), c.protocols.end(), c.kld_protocol) == c.protocols.end()) {
                f.at("kld_protocol").fail(fmt::format("'{}' is not one of protocols", c.kld_protocol));
            }
            if (!f.given("stride")) {
                c.stride = std::max<std::int64_t>(1, c.max_length / 2);
            } else if (c.stride > c.max_length) {
                f.at("stride").fail(fmt::format("must be in 1..max_length ({}), got {}",
                                                c.max_length, c.stride));
            }
        });
        return s;
    }();
    return schema;
}

std::optional<std::string> check_positive_list(const std::vector<std::int64_t>& xs) {
    for (auto x : xs)
        if (x < 1) return fmt::format("every entry must be at least 1, got {}", x);
    return std::nullopt;
}

const Schema<ThroughputConfig>& ThroughputConfig::schema() {
    static const Schema<ThroughputConfig> schema = [] {
        Schema<ThroughputConfig> s;
        s.option("batch_sizes", &ThroughputConfig::batch_sizes, "decode batch sizes")
            .default_value({1, 32})
            .check(check_positive_list);
        s.option("context", &ThroughputConfig::context, "cached tokens when the timed decode steps start")
            .default_value(512)
            .at_least(0);
        s.option("decode_steps", &ThroughputConfig::decode_steps, "timed decode steps per repetition")
            .default_value(32)
            .at_least(1);
        s.option("prefill_lengths", &ThroughputConfig::prefill_lengths, "prefill sequence lengths (batch 1)")
            .default_value({512, 2048})
            .check(check_positive_list);
        s.option("warmup", &ThroughputConfig::warmup, "untimed iterations before timing").default_value(10).at_least(0);
        s.option("repetitions", &ThroughputConfig::repetitions, "timed repetitions of each scenario")
            .default_value(5)
            .at_least(1);
        s.option("ci_target_percent", &ThroughputConfig::ci_target_percent,
                 "add repetitions while the 95% interval of tokens/s is wider than +/- this % of the mean (0: off)")
            .default_value(5.0)
            .check([](const double& x) -> std::optional<std::string> {
                if (x >= 0) return std::nullopt;
                return fmt::format("must be at least 0, got {}", x);
            });
        s.option("max_repetitions", &ThroughputConfig::max_repetitions,
                 "the most repetitions ci_target_percent may add up to (0: 4 x repetitions)")
            .default_value(0)
            .at_least(0);
        s.option("time_budget_s", &ThroughputConfig::time_budget_s,
                 "timed seconds per scenario after which no repetition is added")
            .default_value(10.0)
            .check([](const double& x) -> std::optional<std::string> {
                if (x > 0) return std::nullopt;
                return fmt::format("must be above 0, got {}", x);
            });
        s.option("cuda_graph", &ThroughputConfig::cuda_graph, "replay the decode step as a CUDA graph on a GPU")
            .default_value(true);
        s.option("prompts", &ThroughputConfig::prompts,
                 "end-to-end scenario: .jsonl prompt file (\"input_ids\" or \"text\" per line)")
            .default_text("none (no end-to-end scenario)")
            .existing_path();
        s.option("arrival", &ThroughputConfig::arrival, "end-to-end arrivals: sequential or poisson")
            .default_value("sequential")
            .one_of({"sequential", "poisson"});
        s.option("rate_per_s", &ThroughputConfig::rate_per_s, "poisson: mean requests per second")
            .alias("rate")
            .default_value(1.0)
            .check([](const double& x) -> std::optional<std::string> {
                if (x > 0) return std::nullopt;
                return fmt::format("must be above 0, got {}", x);
            });
        s.option("max_new_tokens", &ThroughputConfig::max_new_tokens, "end-to-end: tokens generated per request")
            .default_value(128)
            .at_least(1);
        s.option("requests", &ThroughputConfig::requests, "end-to-end: requests (0: each prompt once)")
            .default_value(0)
            .at_least(0);
        return s;
    }();
    return schema;
}

const Schema<TasksConfig>& TasksConfig::schema() {
    static const Schema<TasksConfig> schema = [] {
        Schema<TasksConfig> s;
        s.option("names", &TasksConfig::names, "built-in task names or task YAML files")
            .alias("run")
            .required()
            .non_empty()
            .check(check_unique);
        s.option("task_dirs", &TasksConfig::task_dirs, "directories searched for <name>.yaml before the built-ins")
            .default_value({});
        s.option("data_dir", &TasksConfig::data_dir, "directory of the task data files (replaces data_root)")
            .default_text("each task's data_root");
        s.option("num_fewshot", &TasksConfig::num_fewshot, "few-shot examples, -1 = each task's own")
            .default_value(-1)
            .at_least(-1);
        s.option("limit", &TasksConfig::limit, "first N items per task, 0 = all").default_value(0).at_least(0);
        s.option("batch_size", &TasksConfig::batch_size,
                 "loglikelihood rows per forward pass; prompts per left-padded greedy generation batch")
            .default_value(1)
            .at_least(1);
        s.option("max_length", &TasksConfig::max_length, "context tokens, 0 = the model's maximum")
            .default_value(0)
            .at_least(0);
        s.option("max_gen_toks", &TasksConfig::max_gen_toks, "generated tokens per item, 0 = each task's own")
            .default_value(0)
            .at_least(0);
        s.option("allow_code_execution", &TasksConfig::allow_code_execution,
                 "run model-generated code (humaneval, mbpp) in the sandbox")
            .default_value(false)
            .cli("--allow-code-execution");
        s.option("code_timeout_s", &TasksConfig::code_timeout_s, "wall-clock seconds per program")
            .default_value(3.0)
            .at_least(0.1);
        return s;
    }();
    return schema;
}

const Schema<CostConfig>& CostConfig::schema() {
    static const Schema<CostConfig> schema = [] {
        Schema<CostConfig> s;
        s.option("gpus", &CostConfig::gpus, "GPUs per serving instance").default_value(1).at_least(1);
        s.option("on_demand_usd_per_hour", &CostConfig::on_demand_usd_per_hour, "on-demand $/hour per GPU")
            .default_value(0.0)
            .at_least(0.0);
        s.option("reserved_usd_per_hour", &CostConfig::reserved_usd_per_hour, "reserved $/hour per GPU")
            .default_value(0.0)
            .at_least(0.0);
        s.option("spot_usd_per_hour", &CostConfig::spot_usd_per_hour, "spot $/hour per GPU")
            .default_value(0.0)
            .at_least(0.0);
        s.option("batch_size", &CostConfig::batch_size, "decode batch whose tokens/s is the cost basis")
            .default_text("the largest measured")
            .at_least(1);
        s.option("calibration_usd_per_gpu_hour", &CostConfig::calibration_usd_per_gpu_hour,
                 "price of a calibration GPU-hour")
            .default_text("on_demand_usd_per_hour")
            .at_least(0.0);
        s.option("served_tokens", &CostConfig::served_tokens,
                 "tokens a checkpoint serves before it is replaced (amortizes calibration)")
            .default_value(1e9)
            .check([](const double& x) -> std::optional<std::string> {
                if (x > 0) return std::nullopt;
                return fmt::format("must be above 0, got {}", x);
            });
        s.finalize([](CostConfig& c, const Fields& f) {
            if (c.on_demand_usd_per_hour + c.reserved_usd_per_hour + c.spot_usd_per_hour <= 0) {
                f.map().fail("give at least one price: on_demand_usd_per_hour, reserved_usd_per_hour or "
                             "spot_usd_per_hour");
            }
            if (!f.given("calibration_usd_per_gpu_hour")) c.calibration_usd_per_gpu_hour = c.on_demand_usd_per_hour;
        });
        return s;
    }();
    return schema;
}

const Schema<GateConfig>& GateConfig::schema() {
    static const Schema<GateConfig> schema = [] {
        Schema<GateConfig> s;
        s.option("name", &GateConfig::name, "name in reports").default_text("derived");
        s.option("metric", &GateConfig::metric,
                 "a task metric (with task:), perplexity_ratio or kld")
            .required()
            .non_empty();
        s.option("task", &GateConfig::task, "the task of a task metric").default_value("");
        s.option("protocol", &GateConfig::protocol, "perplexity_ratio: the protocol").default_value("");
        s.option("max_drop", &GateConfig::max_drop, "largest allowed drop (baseline − variant, a fraction)")
            .default_text("none");
        s.option("significant", &GateConfig::significant,
                 "with max_drop: fail only when the drop is also significant (Holm)")
            .default_value(false);
        s.option("max", &GateConfig::max, "largest allowed value").default_text("none");
        s.option("min", &GateConfig::min, "smallest allowed value").default_text("none");
        s.finalize([](GateConfig& g, const Fields& f) {
            const bool task_metric = g.metric != "perplexity_ratio" && g.metric != "kld";
            if (task_metric && g.task.empty()) f.at("task").fail("a task metric needs task:");
            if (!task_metric && g.max_drop) f.at("max_drop").fail("max_drop applies to task metrics only");
            if (!g.max_drop && !g.max && !g.min) f.at("max").fail("a gate needs max_drop, max or min");
            if (g.name.empty()) {
                g.name = task_metric ? g.task + " " + g.metric : g.metric;
                if (!g.protocol.empty()) g.name += " (" + g.protocol + ")";
                if (g.max_drop)
                    g.name += fmt::format(" drop <= {:g}{}", *g.max_drop, g.significant ? " (significant)" : "");
                if (g.max) g.name += fmt::format(" <= {:g}", *g.max);
                if (g.min) g.name += fmt::format(" >= {:g}", *g.min);
            }
        });
        return s;
    }();
    return schema;
}

const Schema<RunConfig>& RunConfig::schema() {
    static const Schema<RunConfig> schema = [] {
        Schema<RunConfig> s;
        s.option("name", &RunConfig::name, "name of the run")
            .default_text("the config file's stem")
            .check(check_name);
        s.option("output_dir", &RunConfig::output_dir,
                 "where report.json and report.md go, relative to the config file's directory "
                 "(to the working directory for --out)")
            .default_text("runs/<name>")
            .cli("--out");
        s.option("device", &RunConfig::device, "cpu, cuda or cuda:N")
            .default_value("cpu")
            .check(check_device)
            .cli("--device");
        s.option("dtype", &RunConfig::dtype, "compute dtype of every variant unless overridden")
            .default_text("per device and architecture: bfloat16 on a CPU with avx512_bf16/amx_bf16 or "
                          "CUDA sm80+, else float32 (CPU) / float16 (CUDA; float32 for Gemma 2/3)")
            .one_of(kDtypes);
        s.option("seed", &RunConfig::seed, "random seed").default_value(1234).at_least(0);
        s.option("threads", &RunConfig::threads, "CPU threads, 0 = the library's default")
            .default_value(0)
            .at_least(0);
        s.option("variants", &RunConfig::variants, "the checkpoints to compare")
            .required()
            .non_empty();
        s.option("perplexity", &RunConfig::perplexity, "perplexity evaluation").default_text("off");
        s.option("throughput", &RunConfig::throughput, "throughput scenarios (decode, prefill, end-to-end)")
            .default_text("off");
        s.option("cost", &RunConfig::cost, "$ per million tokens from the decode throughput").default_text("off");
        s.option("tasks", &RunConfig::tasks, "task suites (multiple choice, generative, code, IFEval)")
            .default_text("off");
        s.option("gates", &RunConfig::gates, "quality gates checked after the run").default_value({});
        s.finalize([](RunConfig& c, const Fields& f) {
            if (!f.given("name")) c.name = f.map().env().file.stem().string();
            if (!f.given("output_dir")) c.output_dir = f.map().env().base_dir / "runs" / c.name;
            const Value variants = f.at("variants");
            std::optional<std::size_t> baseline;
            for (std::size_t i = 0; i < c.variants.size(); ++i) {
                VariantConfig& v = c.variants[i];
                for (std::size_t j = 0; j < i; ++j) {
                    if (c.variants[j].name == v.name) {
                        variants.element(i).field("name").fail(fmt::format(
                            "duplicate variant name '{}' (also variants[{}])", v.name, j));
                    }
                }
                if (v.baseline) {
                    if (baseline) {
                        variants.element(i).field("baseline").fail(fmt::format(
                            "a second baseline; variants[{}] is already the baseline", *baseline));
                    }
                    baseline = i;
                }
                if (v.dtype.empty() && !v.served()) v.dtype = c.dtype;
            }
            if (!baseline && !c.variants.empty()) c.variants.front().baseline = true;
            if (c.throughput && c.throughput->prompts.empty()) {
                for (std::size_t i = 0; i < c.variants.size(); ++i) {
                    if (c.variants[i].served()) {
                        f.at("throughput").fail(fmt::format(
                            "variant '{}' is served: its throughput is a load test of the server and needs "
                            "`prompts:` (decode and prefill micro-benchmarks are local only)",
                            c.variants[i].name));
                    }
                }
            }
            if (c.cost && !c.throughput) f.at("cost").fail("needs a throughput: section (cost is from decode tokens/s)");
            if (c.cost && c.throughput->batch_sizes.empty())
                f.at("throughput").field("batch_sizes").fail("cost: needs at least one decode batch size");
            if (c.cost && c.cost->batch_size > 0 &&
                std::find(c.throughput->batch_sizes.begin(), c.throughput->batch_sizes.end(), c.cost->batch_size) ==
                    c.throughput->batch_sizes.end()) {
                f.at("cost").field("batch_size").fail(
                    fmt::format("{} is not one of throughput.batch_sizes", c.cost->batch_size));
            }
        });
        return s;
    }();
    return schema;
}

const VariantConfig& RunConfig::baseline() const {
    for (const auto& v : variants)
        if (v.baseline) return v;
    throw_bad_input("{}: no baseline variant", source_path.string());
}

RunConfig parse_run_config(std::string_view yaml_text, const fs::path& source_path,
                           const CliOverrides& overrides) {
    const ParseEnv env{source_path, fs::absolute(source_path).parent_path().lexically_normal(),
                       &overrides};
    const std::vector<OptionInfo> options = run_config_options();
    for (const auto& override : overrides) {
        const std::string& flag = override.first;
        const bool known = std::any_of(options.begin(), options.end(),
                                       [&](const OptionInfo& o) { return o.cli_flag == flag; });
        if (!known) throw_bad_input("{}: no config option has this flag", flag);
    }
    const YAML::Node root = load_yaml(yaml_text, source_path);
    if (root.IsNull()) {
        throw_bad_input("{}:1: the file is empty; expected a map with at least 'variants'",
                        source_path.string());
    }
    if (!root.IsMap()) {
        throw_bad_input("{}:{}: expected a map of options, got {}", source_path.string(),
                        root.Mark().line + 1, describe_node(root));
    }
    RunConfig c = RunConfig::schema().parse(Value(root, "", env));
    c.source_path = source_path;
    c.sha256 = sha256_hex(yaml_text);
    c.effective = RunConfig::schema().echo(c);
    return c;
}

RunConfig load_run_config(const fs::path& path, const CliOverrides& overrides) {
    return parse_run_config(read_file(path), path, overrides);
}

std::vector<OptionInfo> run_config_options() {
    std::vector<OptionInfo> out;
    RunConfig::schema().describe("", out);
    return out;
}

}  // namespace qbench::config
