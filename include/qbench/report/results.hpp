// Result structs: plain data, no LibTorch types (DESIGN.md rule 2). The eval/perf/model layers
// fill them; the report module alone serializes them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace qbench::report {

// One scored block of a perplexity protocol: a window (sliding, gptq, llama.cpp) or a document
// (lm-eval-rolling). The CI of a PPL ratio is computed over these blocks, never over tokens.
struct PerplexityBlock {
    double nll_sum = 0.0;       // sum of -ln p(token) over the block's scored tokens
    std::int64_t tokens = 0;    // number of scored tokens in the block
    std::int64_t words = 0;     // lm-eval-rolling only: words of the document text (0 otherwise)
    std::int64_t bytes = 0;     // lm-eval-rolling only: UTF-8 bytes of the document text

    bool operator==(const PerplexityBlock&) const = default;
};

struct PerplexityResult {
    std::string protocol;       // sliding | gptq | llama.cpp | lm-eval-rolling
    std::string data_path;
    std::string data_sha256;
    std::int64_t max_length = 0;
    std::int64_t stride = 0;    // sliding only (0 otherwise)
    std::int64_t input_tokens = 0;  // tokens in the input stream(s) before windowing
    double nll_sum = 0.0;
    std::int64_t tokens_scored = 0;
    double ppl = 0.0;           // exp(nll_sum / tokens_scored)
    std::vector<PerplexityBlock> blocks;
    // lm-eval-rolling only (absent otherwise): exp(nll/words), exp(nll/bytes), nll/bytes/ln 2.
    std::optional<double> word_perplexity;
    std::optional<double> byte_perplexity;
    std::optional<double> bits_per_byte;
    double seconds = 0.0;       // wall time of the evaluation

    bool operator==(const PerplexityResult&) const = default;
};

// Per-layer record of how a Linear is executed (filled by the quant layer; "dense" otherwise).
struct LayerKernel {
    std::string name;           // e.g. "model.layers.0.self_attn.q_proj"
    std::string kernel;         // e.g. "dense", "int4pack_mm", "dequant_matmul"

    bool operator==(const LayerKernel&) const = default;
};

struct ModelSummary {
    std::string path;
    std::string format;         // "safetensors" | "gguf"
    std::string architecture;   // config.json architectures[0]
    std::string dtype;          // compute dtype
    std::string device;
    std::int64_t num_parameters = 0;
    std::int64_t weight_bytes = 0;  // bytes really held by the weights
    std::string quantization;   // "none" or a one-line description
    std::vector<LayerKernel> kernels;

    bool operator==(const ModelSummary&) const = default;
};

// One aggregate metric of a task: "acc", "acc_norm", "exact_match,strict-match", ...
struct TaskMetricResult {
    std::string name;           // metric, or "metric,filter" for generative tasks
    double value = 0.0;         // mean of the per-item scores
    double stderr_value = 0.0;  // sample sd / sqrt(n) (lm-eval's mean_stderr); NaN for n < 2
    double ci_lower = 0.0;      // 95 % interval: Wilson for 0/1 scores, mean ± t·se otherwise
    double ci_upper = 0.0;
    bool binary = true;         // every per-item score is 0 or 1
    std::int64_t n = 0;         // items scored

    bool operator==(const TaskMetricResult&) const = default;
};

struct SubtaskResult {
    std::string name;           // e.g. an MMLU subject
    std::int64_t n = 0;
    std::vector<TaskMetricResult> metrics;

    bool operator==(const SubtaskResult&) const = default;
};

struct TaskResult {
    std::string name;
    std::string output_type;    // multiple_choice | generate_until
    std::int64_t num_fewshot = 0;
    std::int64_t n = 0;         // items evaluated
    std::string data_path;
    std::string data_sha256;
    std::string samples_path;   // per-item records, relative to the report's directory
    std::vector<TaskMetricResult> metrics;  // group score over all items (size-weighted)
    std::vector<SubtaskResult> subtasks;    // when the task splits into subtasks
    std::string note;           // e.g. how code execution was isolated
    double seconds = 0.0;
    // Per-item scores, for paired comparisons from the report alone: item_ids[i] is
    // "<doc_id>" or "<subtask>/<doc_id>", item_scores[metric][i] its score.
    std::vector<std::string> item_ids;
    std::map<std::string, std::vector<double>> item_scores;

    bool operator==(const TaskResult&) const = default;
};

struct VariantResult {
    std::string name;
    bool baseline = false;
    ModelSummary model;
    std::vector<PerplexityResult> perplexity;
    std::vector<TaskResult> tasks;
    std::string status = "ok";  // "ok" | "failed"
    std::string error;          // set when status == "failed"
    int error_code = 0;         // the exit code class of the failure (2 bad input, 3 runtime)

    bool operator==(const VariantResult&) const = default;
};

// A variant against the baseline on one task metric, paired item by item.
struct MetricComparison {
    std::string variant;
    std::string task;
    std::string metric;
    std::int64_t n = 0;             // items both have
    double baseline_value = 0.0;
    double variant_value = 0.0;
    double difference = 0.0;        // variant − baseline
    double ci_lower = 0.0;          // 95 % CI of the difference (Tango for 0/1, paired t otherwise)
    double ci_upper = 0.0;
    std::string ci_method;          // "tango" | "paired-t"
    std::int64_t b = 0;             // 0/1 metrics: right -> wrong
    std::int64_t c = 0;             // wrong -> right
    double flips = 0.0;             // (b + c) / n
    double p_value = 1.0;           // McNemar mid-p (0/1) or paired t
    std::string test;               // "mcnemar-midp" | "paired-t"
    double mde = 0.0;               // minimum detectable difference at this n (80 % power)
    double p_holm = 1.0;            // Holm-adjusted across the variant's comparisons
    bool significant = false;       // p_holm <= 0.05

    bool operator==(const MetricComparison&) const = default;
};

// One quality gate evaluated for one variant.
struct GateResult {
    std::string gate;               // the gate's name
    std::string variant;
    bool passed = true;
    std::string detail;             // what was measured against what

    bool operator==(const GateResult&) const = default;
};

}  // namespace qbench::report
