#include "qbench/report/report.hpp"

#include <cmath>
#include <limits>

#include "qbench/util/build_info.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"

namespace qbench::report {

using nlohmann::json;

namespace {

// Non-finite doubles are written as null (what JSON can hold) and read back as NaN.
json number(double x) {
    return std::isfinite(x) ? json(x) : json(nullptr);
}

double number_at(const json& j, const char* key) {
    const json& x = j.at(key);
    return x.is_null() ? std::numeric_limits<double>::quiet_NaN() : x.get<double>();
}

}  // namespace

RunContext host_run_context() {
    const BuildInfo b = build_info();
    RunContext c;
    c.qbench_version = b.version;
    c.git_commit = b.git_commit;
    c.build_type = b.build_type;
    c.compiler = b.compiler;
    c.cpu_model = cpu_model();
    c.threads = hardware_threads();
    c.start_time = utc_now_iso8601();
    return c;
}

void to_json(json& j, const PerplexityBlock& b) {
    j = json{{"nll_sum", number(b.nll_sum)}, {"tokens", b.tokens}};
    if (b.words != 0 || b.bytes != 0) {
        j["words"] = b.words;
        j["bytes"] = b.bytes;
    }
}

void from_json(const json& j, PerplexityBlock& b) {
    b.nll_sum = number_at(j, "nll_sum");
    j.at("tokens").get_to(b.tokens);
    b.words = j.value("words", std::int64_t{0});
    b.bytes = j.value("bytes", std::int64_t{0});
}

void to_json(json& j, const PerplexityResult& r) {
    j = json{{"protocol", r.protocol},
             {"data_path", r.data_path},
             {"data_sha256", r.data_sha256},
             {"max_length_tokens", r.max_length},
             {"stride_tokens", r.stride},
             {"input_tokens", r.input_tokens},
             {"nll_sum", number(r.nll_sum)},
             {"tokens_scored", r.tokens_scored},
             {"ppl", number(r.ppl)},
             {"seconds", number(r.seconds)},
             {"blocks", r.blocks}};
    if (r.word_perplexity) j["word_perplexity"] = number(*r.word_perplexity);
    if (r.byte_perplexity) j["byte_perplexity"] = number(*r.byte_perplexity);
    if (r.bits_per_byte) j["bits_per_byte"] = number(*r.bits_per_byte);
}

void from_json(const json& j, PerplexityResult& r) {
    j.at("protocol").get_to(r.protocol);
    j.at("data_path").get_to(r.data_path);
    j.at("data_sha256").get_to(r.data_sha256);
    j.at("max_length_tokens").get_to(r.max_length);
    j.at("stride_tokens").get_to(r.stride);
    j.at("input_tokens").get_to(r.input_tokens);
    r.nll_sum = number_at(j, "nll_sum");
    j.at("tokens_scored").get_to(r.tokens_scored);
    r.ppl = number_at(j, "ppl");
    r.seconds = number_at(j, "seconds");
    j.at("blocks").get_to(r.blocks);
    auto optional_number = [&j](const char* key) -> std::optional<double> {
        if (!j.contains(key)) return std::nullopt;
        return number_at(j, key);
    };
    r.word_perplexity = optional_number("word_perplexity");
    r.byte_perplexity = optional_number("byte_perplexity");
    r.bits_per_byte = optional_number("bits_per_byte");
}

void to_json(json& j, const LayerKernel& k) {
    j = json{{"name", k.name}, {"kernel", k.kernel}};
}

void from_json(const json& j, LayerKernel& k) {
    j.at("name").get_to(k.name);
    j.at("kernel").get_to(k.kernel);
}

void to_json(json& j, const ModelSummary& m) {
    j = json{{"path", m.path},
             {"format", m.format},
             {"architecture", m.architecture},
             {"dtype", m.dtype},
             {"device", m.device},
             {"num_parameters", m.num_parameters},
             {"weight_bytes", m.weight_bytes},
             {"quantization", m.quantization},
             {"kernels", m.kernels}};
}

void from_json(const json& j, ModelSummary& m) {
    j.at("path").get_to(m.path);
    j.at("format").get_to(m.format);
    j.at("architecture").get_to(m.architecture);
    j.at("dtype").get_to(m.dtype);
    j.at("device").get_to(m.device);
    j.at("num_parameters").get_to(m.num_parameters);
    j.at("weight_bytes").get_to(m.weight_bytes);
    j.at("quantization").get_to(m.quantization);
    j.at("kernels").get_to(m.kernels);
}

void to_json(json& j, const TaskMetricResult& m) {
    j = json{{"name", m.name},         {"value", number(m.value)},       {"stderr", number(m.stderr_value)},
             {"ci_lower", number(m.ci_lower)}, {"ci_upper", number(m.ci_upper)}, {"binary", m.binary},
             {"n", m.n}};
}

void from_json(const json& j, TaskMetricResult& m) {
    j.at("name").get_to(m.name);
    m.value = number_at(j, "value");
    m.stderr_value = number_at(j, "stderr");
    m.ci_lower = number_at(j, "ci_lower");
    m.ci_upper = number_at(j, "ci_upper");
    j.at("binary").get_to(m.binary);
    j.at("n").get_to(m.n);
}

void to_json(json& j, const SubtaskResult& s) {
    j = json{{"name", s.name}, {"n", s.n}, {"metrics", s.metrics}};
}

void from_json(const json& j, SubtaskResult& s) {
    j.at("name").get_to(s.name);
    j.at("n").get_to(s.n);
    j.at("metrics").get_to(s.metrics);
}

void to_json(json& j, const TaskResult& t) {
    j = json{{"name", t.name},
             {"output_type", t.output_type},
             {"num_fewshot", t.num_fewshot},
             {"n", t.n},
             {"data_path", t.data_path},
             {"data_sha256", t.data_sha256},
             {"samples_path", t.samples_path},
             {"metrics", t.metrics},
             {"subtasks", t.subtasks},
             {"note", t.note},
             {"seconds", number(t.seconds)},
             {"items", {{"ids", t.item_ids}, {"scores", t.item_scores}}}};
}

void from_json(const json& j, TaskResult& t) {
    j.at("name").get_to(t.name);
    j.at("output_type").get_to(t.output_type);
    j.at("num_fewshot").get_to(t.num_fewshot);
    j.at("n").get_to(t.n);
    j.at("data_path").get_to(t.data_path);
    j.at("data_sha256").get_to(t.data_sha256);
    j.at("samples_path").get_to(t.samples_path);
    j.at("metrics").get_to(t.metrics);
    j.at("subtasks").get_to(t.subtasks);
    j.at("note").get_to(t.note);
    t.seconds = number_at(j, "seconds");
    const json& items = j.at("items");
    items.at("ids").get_to(t.item_ids);
    t.item_scores.clear();
    for (const auto& [k, v] : items.at("scores").items()) {
        auto& xs = t.item_scores[k];
        for (const auto& x : v) xs.push_back(x.is_null() ? std::numeric_limits<double>::quiet_NaN() : x.get<double>());
    }
}

void to_json(json& j, const MetricComparison& c) {
    j = json{{"variant", c.variant},
             {"task", c.task},
             {"metric", c.metric},
             {"n", c.n},
             {"baseline_value", number(c.baseline_value)},
             {"variant_value", number(c.variant_value)},
             {"difference", number(c.difference)},
             {"ci_lower", number(c.ci_lower)},
             {"ci_upper", number(c.ci_upper)},
             {"ci_method", c.ci_method},
             {"b", c.b},
             {"c", c.c},
             {"flips", number(c.flips)},
             {"p_value", number(c.p_value)},
             {"test", c.test},
             {"mde", number(c.mde)},
             {"p_holm", number(c.p_holm)},
             {"significant", c.significant}};
}

void from_json(const json& j, MetricComparison& c) {
    j.at("variant").get_to(c.variant);
    j.at("task").get_to(c.task);
    j.at("metric").get_to(c.metric);
    j.at("n").get_to(c.n);
    c.baseline_value = number_at(j, "baseline_value");
    c.variant_value = number_at(j, "variant_value");
    c.difference = number_at(j, "difference");
    c.ci_lower = number_at(j, "ci_lower");
    c.ci_upper = number_at(j, "ci_upper");
    j.at("ci_method").get_to(c.ci_method);
    j.at("b").get_to(c.b);
    j.at("c").get_to(c.c);
    c.flips = number_at(j, "flips");
    c.p_value = number_at(j, "p_value");
    j.at("test").get_to(c.test);
    c.mde = number_at(j, "mde");
    c.p_holm = number_at(j, "p_holm");
    j.at("significant").get_to(c.significant);
}

void to_json(json& j, const GateResult& g) {
    j = json{{"gate", g.gate}, {"variant", g.variant}, {"passed", g.passed}, {"detail", g.detail}};
}

void from_json(const json& j, GateResult& g) {
    j.at("gate").get_to(g.gate);
    j.at("variant").get_to(g.variant);
    j.at("passed").get_to(g.passed);
    j.at("detail").get_to(g.detail);
}

void to_json(json& j, const VariantResult& v) {
    j = json{{"name", v.name},         {"baseline", v.baseline},
             {"status", v.status},     {"error", v.error},
             {"error_code", v.error_code},
             {"model", v.model},       {"perplexity", v.perplexity}};
    j["tasks"] = v.tasks;
}

void from_json(const json& j, VariantResult& v) {
    j.at("name").get_to(v.name);
    j.at("baseline").get_to(v.baseline);
    j.at("status").get_to(v.status);
    j.at("error").get_to(v.error);
    v.error_code = j.value("error_code", 0);
    j.at("model").get_to(v.model);
    j.at("perplexity").get_to(v.perplexity);
    if (j.contains("tasks")) j.at("tasks").get_to(v.tasks);
}

void to_json(json& j, const RunContext& c) {
    j = json{{"qbench_version", c.qbench_version},
             {"git_commit", c.git_commit},
             {"build_type", c.build_type},
             {"compiler", c.compiler},
             {"libtorch_version", c.libtorch_version},
             {"cuda_version", c.cuda_version},
             {"gpu_name", c.gpu_name},
             {"cpu_model", c.cpu_model},
             {"threads", c.threads},
             {"seed", c.seed},
             {"device", c.device},
             {"config", c.config},
             {"config_sha256", c.config_sha256},
             {"start_time", c.start_time},
             {"end_time", c.end_time}};
}

void from_json(const json& j, RunContext& c) {
    j.at("qbench_version").get_to(c.qbench_version);
    j.at("git_commit").get_to(c.git_commit);
    j.at("build_type").get_to(c.build_type);
    j.at("compiler").get_to(c.compiler);
    j.at("libtorch_version").get_to(c.libtorch_version);
    j.at("cuda_version").get_to(c.cuda_version);
    j.at("gpu_name").get_to(c.gpu_name);
    j.at("cpu_model").get_to(c.cpu_model);
    j.at("threads").get_to(c.threads);
    j.at("seed").get_to(c.seed);
    j.at("device").get_to(c.device);
    c.config = j.at("config");
    j.at("config_sha256").get_to(c.config_sha256);
    j.at("start_time").get_to(c.start_time);
    j.at("end_time").get_to(c.end_time);
}

void to_json(json& j, const Report& r) {
    j = json{{"schema_version", r.schema_version},
             {"context", r.context},
             {"variants", r.variants}};
}

void from_json(const json& j, Report& r) {
    j.at("schema_version").get_to(r.schema_version);
    if (r.schema_version < 1 || r.schema_version > kSchemaVersion) {
        throw_bad_input("schema_version {} is not supported (this qbench reads 1..{})",
                        r.schema_version, kSchemaVersion);
    }
    j.at("context").get_to(r.context);
    j.at("variants").get_to(r.variants);
}

Report read_report(const fs::path& path) {
    const std::string text = read_file(path);
    try {
        return json::parse(text).get<Report>();
    } catch (const json::exception& e) {
        throw_bad_input("{}: not a qbench report: {}", path.string(), e.what());
    } catch (const Error& e) {
        throw_bad_input("{}: {}", path.string(), e.what());
    }
}

}  // namespace qbench::report
