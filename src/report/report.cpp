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

void to_json(json& j, const QuantizationInfo& q) {
    j = json{{"method", q.method},         {"format", q.format},
             {"weight_type", q.weight_type}, {"bits", q.bits},
             {"group_size", q.group_size}, {"strategy", q.strategy},
             {"symmetric", q.symmetric},   {"activation", q.activation},
             {"fp16_bytes", q.fp16_bytes}, {"compression_ratio", q.compression_ratio}};
}

void from_json(const json& j, QuantizationInfo& q) {
    j.at("method").get_to(q.method);
    j.at("format").get_to(q.format);
    j.at("weight_type").get_to(q.weight_type);
    j.at("bits").get_to(q.bits);
    j.at("group_size").get_to(q.group_size);
    j.at("strategy").get_to(q.strategy);
    j.at("symmetric").get_to(q.symmetric);
    j.at("activation").get_to(q.activation);
    j.at("fp16_bytes").get_to(q.fp16_bytes);
    q.compression_ratio = number_at(j, "compression_ratio");
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
             {"kernels", m.kernels},
             {"quantization_info", m.quantization_info}};
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
    // Reports written before quantization_info existed describe a float model.
    if (j.contains("quantization_info")) j.at("quantization_info").get_to(m.quantization_info);
}

void to_json(json& j, const VariantResult& v) {
    j = json{{"name", v.name},         {"baseline", v.baseline},
             {"status", v.status},     {"error", v.error},
             {"error_code", v.error_code},
             {"model", v.model},       {"perplexity", v.perplexity}};
}

void from_json(const json& j, VariantResult& v) {
    j.at("name").get_to(v.name);
    j.at("baseline").get_to(v.baseline);
    j.at("status").get_to(v.status);
    j.at("error").get_to(v.error);
    v.error_code = j.value("error_code", 0);
    j.at("model").get_to(v.model);
    j.at("perplexity").get_to(v.perplexity);
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
