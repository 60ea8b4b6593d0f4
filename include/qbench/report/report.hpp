// The report of one run and its JSON form (the schema is in docs/ARCHITECTURE.md, "report.json
// schema"). Serialization is lossless: from_json(to_json(x)) == x for every struct here and in
// results.hpp, except that non-finite numbers are written as null and read back as NaN.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "qbench/report/results.hpp"

namespace qbench::report {

namespace fs = std::filesystem;

// Bumped on any change that renames, removes or changes the meaning of a key.
inline constexpr int kSchemaVersion = 1;

// Where and how a run was made: the `context` block of report.json.
struct RunContext {
    std::string qbench_version;
    std::string git_commit;
    std::string build_type;
    std::string compiler;
    std::string libtorch_version;  // filled by the CLI (report does not use LibTorch)
    std::string cuda_version;      // "" without CUDA
    std::string gpu_name;          // "" without a GPU
    std::string cpu_model;
    std::int64_t threads = 0;      // CPU threads used for compute
    std::int64_t seed = 0;
    std::string device;            // cpu | cuda | cuda:N
    nlohmann::json config;         // the effective configuration (config::RunConfig::effective)
    std::string config_sha256;     // of the config file's bytes
    std::string start_time;        // ISO 8601 UTC, e.g. "2026-11-27T12:00:00.123Z"
    std::string end_time;          // ISO 8601 UTC; the time of the latest write while running

    bool operator==(const RunContext&) const = default;
};

// A RunContext with the build and host fields filled (version, commit, build type, compiler,
// cpu model, hardware threads) and start_time = now; the caller fills the rest.
RunContext host_run_context();

struct Report {
    int schema_version = kSchemaVersion;
    RunContext context;
    std::vector<VariantResult> variants;  // in run order; one has baseline == true

    bool operator==(const Report&) const = default;
};

void to_json(nlohmann::json& j, const PerplexityBlock& b);
void from_json(const nlohmann::json& j, PerplexityBlock& b);
void to_json(nlohmann::json& j, const PerplexityResult& r);
void from_json(const nlohmann::json& j, PerplexityResult& r);
void to_json(nlohmann::json& j, const KldBlock& b);
void from_json(const nlohmann::json& j, KldBlock& b);
void to_json(nlohmann::json& j, const SamplePercentile& p);
void from_json(const nlohmann::json& j, SamplePercentile& p);
void to_json(nlohmann::json& j, const KldResult& r);
void from_json(const nlohmann::json& j, KldResult& r);
void to_json(nlohmann::json& j, const LayerKernel& k);
void from_json(const nlohmann::json& j, LayerKernel& k);
void to_json(nlohmann::json& j, const ModelSummary& m);
void from_json(const nlohmann::json& j, ModelSummary& m);
// The LatencyStats of samples in milliseconds (stats::summarize_latency; empty: n = 0).
LatencyStats latency_stats_from_ms(const std::vector<double>& ms);

void to_json(nlohmann::json& j, const LatencyStats& x);
void from_json(const nlohmann::json& j, LatencyStats& x);
void to_json(nlohmann::json& j, const DecodeResult& x);
void from_json(const nlohmann::json& j, DecodeResult& x);
void to_json(nlohmann::json& j, const PrefillResult& x);
void from_json(const nlohmann::json& j, PrefillResult& x);
void to_json(nlohmann::json& j, const RequestRecord& x);
void from_json(const nlohmann::json& j, RequestRecord& x);
void to_json(nlohmann::json& j, const EndToEndResult& x);
void from_json(const nlohmann::json& j, EndToEndResult& x);
void to_json(nlohmann::json& j, const MemoryResult& x);
void from_json(const nlohmann::json& j, MemoryResult& x);
void to_json(nlohmann::json& j, const EnvironmentResult& x);
void from_json(const nlohmann::json& j, EnvironmentResult& x);
void to_json(nlohmann::json& j, const ThroughputResult& x);
void from_json(const nlohmann::json& j, ThroughputResult& x);
void to_json(nlohmann::json& j, const CostTier& x);
void from_json(const nlohmann::json& j, CostTier& x);
void to_json(nlohmann::json& j, const CostResult& x);
void from_json(const nlohmann::json& j, CostResult& x);
void to_json(nlohmann::json& j, const TaskMetricResult& m);
void from_json(const nlohmann::json& j, TaskMetricResult& m);
void to_json(nlohmann::json& j, const SubtaskResult& s);
void from_json(const nlohmann::json& j, SubtaskResult& s);
void to_json(nlohmann::json& j, const TaskResult& t);
void from_json(const nlohmann::json& j, TaskResult& t);
void to_json(nlohmann::json& j, const MetricComparison& c);
void from_json(const nlohmann::json& j, MetricComparison& c);
void to_json(nlohmann::json& j, const GateResult& g);
void from_json(const nlohmann::json& j, GateResult& g);
void to_json(nlohmann::json& j, const VariantResult& v);
void from_json(const nlohmann::json& j, VariantResult& v);
void to_json(nlohmann::json& j, const RunContext& c);
void from_json(const nlohmann::json& j, RunContext& c);
void to_json(nlohmann::json& j, const Report& r);
// Throws a kBadInput qbench::Error for a schema_version newer than kSchemaVersion.
void from_json(const nlohmann::json& j, Report& r);

// Reads a report.json; throws a kBadInput qbench::Error naming the file for unreadable files,
// invalid JSON, missing keys or wrong types.
Report read_report(const fs::path& path);

}  // namespace qbench::report
