#include "qbench/report/report.hpp"
#include "qbench/report/serving.hpp"

#include <cmath>
#include <limits>

#include "json_numbers.hpp"
#include "qbench/report/fields.hpp"
#include "qbench/stats/latency.hpp"
#include "qbench/util/build_info.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"

namespace qbench::report {

using nlohmann::json;

using detail::number;
using detail::number_at;
using detail::numbers;
using detail::numbers_at;

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
    j = fields_json(perplexity_block_fields(), b);
}

void from_json(const json& j, PerplexityBlock& b) {
    b.nll_sum = number_at(j, "nll_sum");
    j.at("tokens").get_to(b.tokens);
    b.words = j.value("words", std::int64_t{0});
    b.bytes = j.value("bytes", std::int64_t{0});
}

void to_json(json& j, const PerplexityResult& r) {
    j = fields_json(perplexity_fields(), r);
    j["blocks"] = r.blocks;
    if (!r.running_ppl.empty()) j["running_ppl"] = numbers(r.running_ppl);
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
    r.ppl_stderr = optional_number("ppl_stderr");
    r.running_ppl = j.contains("running_ppl") ? numbers_at(j, "running_ppl") : std::vector<double>{};
}

void to_json(json& j, const KldBlock& b) {
    j = fields_json(kld_block_fields(), b);
}

void from_json(const json& j, KldBlock& b) {
    j.at("tokens").get_to(b.tokens);
    b.kld_sum = number_at(j, "kld_sum");
    j.at("same_top").get_to(b.same_top);
    b.delta_p_sum = number_at(j, "delta_p_sum");
    b.delta_p_sq_sum = number_at(j, "delta_p_sq_sum");
}

void to_json(json& j, const SamplePercentile& p) {
    j = json{{"q", number(p.q)}, {"value", number(p.value)}, {"undersampled", p.undersampled}};
}

void from_json(const json& j, SamplePercentile& p) {
    p.q = number_at(j, "q");
    p.value = number_at(j, "value");
    j.at("undersampled").get_to(p.undersampled);
}

void to_json(json& j, const KldResult& r) {
    j = fields_json(kld_fields(), r);
    j["kld_percentiles"] = r.kld_percentiles;
    j["delta_p_percentiles"] = r.delta_p_percentiles;
    j["blocks"] = r.blocks;
}

void from_json(const json& j, KldResult& r) {
    auto pair_at = [&j](const char* key, double& lo, double& hi) {
        const json& x = j.at(key);
        if (!x.is_array() || x.size() != 2) throw json::type_error::create(302, std::string(key) + " must be [lower, upper]", &x);
        lo = x[0].is_null() ? std::numeric_limits<double>::quiet_NaN() : x[0].get<double>();
        hi = x[1].is_null() ? std::numeric_limits<double>::quiet_NaN() : x[1].get<double>();
    };
    j.at("baseline").get_to(r.baseline);
    j.at("protocol").get_to(r.protocol);
    j.at("top_k").get_to(r.top_k);
    j.at("vocab_size").get_to(r.vocab_size);
    j.at("exact").get_to(r.exact);
    if (j.contains("variant_top_k")) j.at("variant_top_k").get_to(r.variant_top_k);
    j.at("tokens").get_to(r.tokens);
    r.confidence = number_at(j, "confidence");
    j.at("ci_method").get_to(r.ci_method);
    r.kld_mean = number_at(j, "kld_mean");
    r.kld_se = number_at(j, "kld_se");
    pair_at("kld_ci", r.kld_ci_lower, r.kld_ci_upper);
    j.at("kld_percentiles").get_to(r.kld_percentiles);
    r.same_top = number_at(j, "same_top");
    pair_at("same_top_ci", r.same_top_ci_lower, r.same_top_ci_upper);
    r.delta_p_mean = number_at(j, "delta_p_mean");
    pair_at("delta_p_ci", r.delta_p_ci_lower, r.delta_p_ci_upper);
    r.delta_p_rms = number_at(j, "delta_p_rms");
    j.at("delta_p_percentiles").get_to(r.delta_p_percentiles);
    r.base_tail_mass_mean = number_at(j, "base_tail_mass_mean");
    r.seconds = number_at(j, "seconds");
    j.at("blocks").get_to(r.blocks);
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
    j = fields_json(model_fields(), m);
    j["kernels"] = m.kernels;
    j["quantization_info"] = m.quantization_info;
}

void from_json(const json& j, ModelSummary& m) {
    j.at("path").get_to(m.path);
    j.at("format").get_to(m.format);
    j.at("architecture").get_to(m.architecture);
    j.at("dtype").get_to(m.dtype);
    m.dtype_reason = j.value("dtype_reason", "");  // absent before the per-device default
    j.at("device").get_to(m.device);
    j.at("num_parameters").get_to(m.num_parameters);
    j.at("weight_bytes").get_to(m.weight_bytes);
    j.at("quantization").get_to(m.quantization);
    j.at("kernels").get_to(m.kernels);
    // Reports written before quantization_info existed describe a float model.
    if (j.contains("quantization_info")) j.at("quantization_info").get_to(m.quantization_info);
    if (j.contains("load_seconds")) m.load_seconds = number_at(j, "load_seconds");  // absent before 0.1.x
}

LatencyStats latency_stats_from_ms(const std::vector<double>& ms) {
    LatencyStats out;
    if (ms.empty()) return out;
    const auto s = stats::summarize_latency(ms);
    out = {s.n, s.mean, s.std, s.min, s.max, s.p50.value, s.p90.value, s.p95.value, s.p99.value, s.p999.value, {}};
    const std::pair<const char*, const stats::PercentileValue*> named[] = {
        {"p50", &s.p50}, {"p90", &s.p90}, {"p95", &s.p95}, {"p99", &s.p99}, {"p99.9", &s.p999}};
    for (const auto& [name, p] : named) {
        if (p->undersampled) out.undersampled.push_back(name);
    }
    return out;
}

void to_json(json& j, const LatencyStats& s) {
    j = json{{"n", s.n},
             {"mean_ms", number(s.mean_ms)},
             {"std_ms", number(s.std_ms)},
             {"min_ms", number(s.min_ms)},
             {"max_ms", number(s.max_ms)},
             {"p50_ms", number(s.p50_ms)},
             {"p90_ms", number(s.p90_ms)},
             {"p95_ms", number(s.p95_ms)},
             {"p99_ms", number(s.p99_ms)},
             {"p99_9_ms", number(s.p999_ms)},
             {"undersampled", s.undersampled}};
}

void from_json(const json& j, LatencyStats& s) {
    j.at("n").get_to(s.n);
    s.mean_ms = number_at(j, "mean_ms");
    s.std_ms = number_at(j, "std_ms");
    s.min_ms = number_at(j, "min_ms");
    s.max_ms = number_at(j, "max_ms");
    s.p50_ms = number_at(j, "p50_ms");
    s.p90_ms = number_at(j, "p90_ms");
    s.p95_ms = number_at(j, "p95_ms");
    s.p99_ms = number_at(j, "p99_ms");
    s.p999_ms = number_at(j, "p99_9_ms");
    j.at("undersampled").get_to(s.undersampled);
}

// The spread fields of a decode or prefill result (absent in reports before they existed: NaN).
void read_spread(const json& j, double& lower, double& upper, double& cv) {
    lower = upper = cv = std::numeric_limits<double>::quiet_NaN();
    if (j.contains("tokens_per_s_ci")) {
        const auto ci = numbers_at(j, "tokens_per_s_ci");
        if (ci.size() == 2) lower = ci[0], upper = ci[1];
    }
    if (j.contains("repetition_cv")) cv = number_at(j, "repetition_cv");
}

void to_json(json& j, const DecodeResult& r) {
    j = fields_json(decode_fields(), r);
    j["samples_ns"] = numbers(r.samples_ns);
    j["repetition_tokens_per_s"] = numbers(r.repetition_tokens_per_s);
    j["step_latency"] = r.step_latency;
}

void from_json(const json& j, DecodeResult& r) {
    j.at("batch_size").get_to(r.batch_size);
    j.at("context_tokens").get_to(r.context_tokens);
    j.at("steps").get_to(r.steps);
    j.at("warmup").get_to(r.warmup);
    j.at("repetitions").get_to(r.repetitions);
    r.samples_ns = numbers_at(j, "samples_ns");
    r.repetition_tokens_per_s = numbers_at(j, "repetition_tokens_per_s");
    r.tokens_per_s = number_at(j, "tokens_per_s");
    r.ms_per_token = number_at(j, "ms_per_token");
    j.at("step_latency").get_to(r.step_latency);
    r.bytes_per_step = number_at(j, "bytes_per_step");
    r.achieved_bytes_per_s = number_at(j, "achieved_bytes_per_s");
    r.bandwidth_fraction = number_at(j, "bandwidth_fraction");
    j.at("cuda_graph").get_to(r.cuda_graph);
    j.at("note").get_to(r.note);
    if (j.contains("warmup_seconds")) r.warmup_seconds = number_at(j, "warmup_seconds");  // absent in older reports
    read_spread(j, r.tokens_per_s_ci_lower, r.tokens_per_s_ci_upper, r.repetition_cv);
    if (j.contains("slow_step_fraction")) r.slow_step_fraction = number_at(j, "slow_step_fraction");
}

void to_json(json& j, const PrefillResult& r) {
    j = fields_json(prefill_fields(), r);
    j["samples_ns"] = numbers(r.samples_ns);
    j["repetition_tokens_per_s"] = numbers(r.repetition_tokens_per_s);
    j["latency"] = r.latency;
}

void from_json(const json& j, PrefillResult& r) {
    j.at("sequence_tokens").get_to(r.sequence_tokens);
    j.at("warmup").get_to(r.warmup);
    j.at("repetitions").get_to(r.repetitions);
    r.samples_ns = numbers_at(j, "samples_ns");
    r.tokens_per_s = number_at(j, "tokens_per_s");
    j.at("latency").get_to(r.latency);
    r.flop_per_token = number_at(j, "flop_per_token");
    r.achieved_flop_per_s = number_at(j, "achieved_flop_per_s");
    if (j.contains("warmup_seconds")) r.warmup_seconds = number_at(j, "warmup_seconds");  // absent in older reports
    if (j.contains("repetition_tokens_per_s")) r.repetition_tokens_per_s = numbers_at(j, "repetition_tokens_per_s");
    read_spread(j, r.tokens_per_s_ci_lower, r.tokens_per_s_ci_upper, r.repetition_cv);
}

void to_json(json& j, const RequestRecord& r) {
    j = json{{"prompt_tokens", r.prompt_tokens},
             {"output_tokens", r.output_tokens},
             {"arrival_s", number(r.arrival_s)},
             {"queue_ms", number(r.queue_ms)},
             {"ttft_ms", number(r.ttft_ms)},
             {"tpot_ms", number(r.tpot_ms)},
             {"e2e_ms", number(r.e2e_ms)},
             {"itl_ms", numbers(r.itl_ms)}};
}

void from_json(const json& j, RequestRecord& r) {
    j.at("prompt_tokens").get_to(r.prompt_tokens);
    j.at("output_tokens").get_to(r.output_tokens);
    r.arrival_s = number_at(j, "arrival_s");
    r.queue_ms = number_at(j, "queue_ms");
    r.ttft_ms = number_at(j, "ttft_ms");
    r.tpot_ms = number_at(j, "tpot_ms");
    r.e2e_ms = number_at(j, "e2e_ms");
    r.itl_ms = numbers_at(j, "itl_ms");
}

void to_json(json& j, const EndToEndResult& r) {
    j = json{{"prompts_path", r.prompts_path},
             {"arrival", r.arrival},
             {"rate_per_s", number(r.rate_per_s)},
             {"max_new_tokens", r.max_new_tokens},
             {"requests", r.requests},
             {"ttft", r.ttft},
             {"tpot", r.tpot},
             {"itl", r.itl},
             {"e2e", r.e2e},
             {"duration_s", number(r.duration_s)},
             {"output_tokens_per_s", number(r.output_tokens_per_s)}};
}

void from_json(const json& j, EndToEndResult& r) {
    j.at("prompts_path").get_to(r.prompts_path);
    j.at("arrival").get_to(r.arrival);
    r.rate_per_s = number_at(j, "rate_per_s");
    j.at("max_new_tokens").get_to(r.max_new_tokens);
    j.at("requests").get_to(r.requests);
    j.at("ttft").get_to(r.ttft);
    j.at("tpot").get_to(r.tpot);
    j.at("itl").get_to(r.itl);
    j.at("e2e").get_to(r.e2e);
    r.duration_s = number_at(j, "duration_s");
    r.output_tokens_per_s = number_at(j, "output_tokens_per_s");
}

void to_json(json& j, const MemoryResult& m) {
    j = json{{"weight_bytes", m.weight_bytes},
             {"kv_cache_bytes", m.kv_cache_bytes},
             {"peak_allocated_bytes", m.peak_allocated_bytes},
             {"peak_reserved_bytes", m.peak_reserved_bytes},
             {"peak_rss_bytes", m.peak_rss_bytes}};
}

void from_json(const json& j, MemoryResult& m) {
    j.at("weight_bytes").get_to(m.weight_bytes);
    j.at("kv_cache_bytes").get_to(m.kv_cache_bytes);
    j.at("peak_allocated_bytes").get_to(m.peak_allocated_bytes);
    j.at("peak_reserved_bytes").get_to(m.peak_reserved_bytes);
    j.at("peak_rss_bytes").get_to(m.peak_rss_bytes);
}

void to_json(json& j, const EnvironmentResult& e) {
    j = json{{"device", e.device},
             {"timing", e.timing},
             {"build_type", e.build_type},
             {"cpu_model", e.cpu_model},
             {"threads", e.threads},
             {"gpu_name", e.gpu_name},
             {"driver_version", e.driver_version},
             {"cuda_version", e.cuda_version},
             {"sm_clock_mhz_start", e.sm_clock_mhz_start},
             {"sm_clock_mhz_end", e.sm_clock_mhz_end},
             {"sm_clock_max_mhz", e.sm_clock_max_mhz},
             {"memory_clock_mhz_start", e.memory_clock_mhz_start},
             {"temperature_c_start", e.temperature_c_start},
             {"temperature_c_end", e.temperature_c_end},
             {"peak_copy_bytes_per_s", number(e.peak_copy_bytes_per_s)},
             {"other_cpu_fraction", number(e.other_cpu_fraction)},
             {"cpu_steal_fraction", number(e.cpu_steal_fraction)},
             {"load_average_start", number(e.load_average_start)},
             {"cpu_mhz_start", number(e.cpu_mhz_start)},
             {"cpu_mhz_end", number(e.cpu_mhz_end)}};
}

void from_json(const json& j, EnvironmentResult& e) {
    j.at("device").get_to(e.device);
    j.at("timing").get_to(e.timing);
    j.at("build_type").get_to(e.build_type);
    j.at("cpu_model").get_to(e.cpu_model);
    j.at("threads").get_to(e.threads);
    j.at("gpu_name").get_to(e.gpu_name);
    j.at("driver_version").get_to(e.driver_version);
    j.at("cuda_version").get_to(e.cuda_version);
    j.at("sm_clock_mhz_start").get_to(e.sm_clock_mhz_start);
    j.at("sm_clock_mhz_end").get_to(e.sm_clock_mhz_end);
    j.at("sm_clock_max_mhz").get_to(e.sm_clock_max_mhz);
    j.at("memory_clock_mhz_start").get_to(e.memory_clock_mhz_start);
    j.at("temperature_c_start").get_to(e.temperature_c_start);
    j.at("temperature_c_end").get_to(e.temperature_c_end);
    e.peak_copy_bytes_per_s = number_at(j, "peak_copy_bytes_per_s");
    // Absent in older reports: NaN (not measured).
    for (auto [key, field] : {std::pair{"other_cpu_fraction", &e.other_cpu_fraction},
                              {"cpu_steal_fraction", &e.cpu_steal_fraction},
                              {"load_average_start", &e.load_average_start},
                              {"cpu_mhz_start", &e.cpu_mhz_start}, {"cpu_mhz_end", &e.cpu_mhz_end}}) {
        *field = j.contains(key) ? number_at(j, key) : std::numeric_limits<double>::quiet_NaN();
    }
}

void to_json(json& j, const ThroughputResult& t) {
    j = json{{"decode", t.decode},
             {"prefill", t.prefill},
             {"end_to_end", t.end_to_end ? json(*t.end_to_end) : json(nullptr)},
             {"memory", t.memory},
             {"environment", t.environment},
             {"warnings", t.warnings}};
}

void from_json(const json& j, ThroughputResult& t) {
    j.at("decode").get_to(t.decode);
    j.at("prefill").get_to(t.prefill);
    if (!j.at("end_to_end").is_null()) t.end_to_end = j.at("end_to_end").get<EndToEndResult>();
    j.at("memory").get_to(t.memory);
    j.at("environment").get_to(t.environment);
    j.at("warnings").get_to(t.warnings);
}

void to_json(json& j, const CostTier& t) {
    j = fields_json(cost_tier_fields(), t);
}

void from_json(const json& j, CostTier& t) {
    j.at("name").get_to(t.name);
    t.usd_per_hour = number_at(j, "usd_per_hour");
    j.at("gpus").get_to(t.gpus);
    t.usd_per_million_tokens = number_at(j, "usd_per_million_tokens");
    t.calibration_usd_per_million_tokens = number_at(j, "calibration_usd_per_million_tokens");
    t.total_usd_per_million_tokens = number_at(j, "total_usd_per_million_tokens");
    t.quality_adjusted_usd_per_million_tokens = number_at(j, "quality_adjusted_usd_per_million_tokens");
}

void to_json(json& j, const CostResult& c) {
    j = fields_json(cost_fields(), c);
    j["tiers"] = c.tiers;
}

void from_json(const json& j, CostResult& c) {
    j.at("throughput_basis").get_to(c.throughput_basis);
    c.tokens_per_s = number_at(j, "tokens_per_s");
    c.quality_factor = number_at(j, "quality_factor");
    j.at("quality_basis").get_to(c.quality_basis);
    c.calibration_usd = number_at(j, "calibration_usd");
    j.at("tiers").get_to(c.tiers);
}

void to_json(json& j, const TaskMetricResult& m) {
    j = fields_json(task_metric_fields(), m);
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
             {"items", {{"ids", t.item_ids}, {"scores", t.item_scores}, {"hashes", t.item_hashes}}}};
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
    t.item_hashes = items.value("hashes", std::vector<std::string>{});
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
    if (v.throughput) j["throughput"] = *v.throughput;
    if (v.cost) j["cost"] = *v.cost;
    j["tasks"] = v.tasks;
    if (v.kld) j["kld"] = *v.kld;
    if (v.serving) j["serving"] = *v.serving;
    if (!v.kld_unavailable.empty()) j["kld_unavailable"] = v.kld_unavailable;
}

void from_json(const json& j, VariantResult& v) {
    j.at("name").get_to(v.name);
    j.at("baseline").get_to(v.baseline);
    j.at("status").get_to(v.status);
    j.at("error").get_to(v.error);
    v.error_code = j.value("error_code", 0);
    j.at("model").get_to(v.model);
    j.at("perplexity").get_to(v.perplexity);
    if (j.contains("throughput") && !j.at("throughput").is_null()) v.throughput = j.at("throughput").get<ThroughputResult>();
    if (j.contains("cost") && !j.at("cost").is_null()) v.cost = j.at("cost").get<CostResult>();
    if (j.contains("tasks")) j.at("tasks").get_to(v.tasks);
    if (j.contains("kld") && !j.at("kld").is_null()) v.kld = j.at("kld").get<KldResult>();
    if (j.contains("serving") && !j.at("serving").is_null()) v.serving = j.at("serving").get<ServedLoadResult>();
    if (j.contains("kld_unavailable")) j.at("kld_unavailable").get_to(v.kld_unavailable);
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
