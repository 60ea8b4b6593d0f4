// Task definitions: a task is data (JSONL) plus a small YAML in qbench's own schema, mirroring
// lm-evaluation-harness's fields (reference/lm-eval-harness.md §1, §4):
//
//   name: gsm8k
//   output_type: generate_until        # or multiple_choice
//   data: gsm8k/test.jsonl             # relative to data_root (default: the YAML's directory)
//   fewshot_data: gsm8k/train.jsonl    # default: data (then the item itself is never its own shot)
//   num_fewshot: 5
//   fewshot_sampler: random            # first_n | random (lm-eval's default sampler, seed 1234)
//   doc_to_text: "Question: {{question}}\nAnswer:"
//   doc_to_target: "{{answer}}"
//   doc_to_choice: "{{choices}}"       # multiple_choice: a placeholder naming a list, or a list
//   generation: {until: ["Question:"], max_gen_toks: 256}
//   filters: [{name: strict-match, steps: [{function: regex, pattern: "#### (\\-?[0-9\\.\\,]+)"},
//                                          {function: take_first}]}]
//   metrics: [{name: exact_match, ignore_case: true, regexes_to_ignore: [",", "\\$"]}]
//
// Templates are text with `{{path}}` placeholders: a field, `a.b` (map key), `a[0]` (list index),
// optionally followed by `|strip` (Python's str.strip). A template that is exactly one
// placeholder yields the field's JSON value (a list of choices, an int gold index, a list of
// references); any other template yields a string. Jinja expressions beyond this are done when
// the dataset is exported (scripts/export_hf_tasks.py), not in the template.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "qbench/config/option.hpp"

namespace qbench::eval::tasks {

namespace fs = std::filesystem;
using nlohmann::json;

struct FilterStep {
    std::string function;            // regex | take_first | remove_whitespace | lowercase
    std::string pattern;             // regex: the pattern (Python re syntax subset, PCRE2)
    std::int64_t group_select = 0;   // regex: which match (negative counts from the end)
    std::string fallback = "[invalid]";  // regex: the answer when nothing matches

    static const config::Schema<FilterStep>& schema();
};

// A named chain of filters applied to each response ("none" = the raw response).
struct FilterChain {
    std::string name;
    std::vector<FilterStep> steps;

    static const config::Schema<FilterChain>& schema();
};

struct MetricConfig {
    // acc | acc_norm | acc_bytes | exact_match | pass_at_k | ifeval
    std::string name;
    bool ignore_case = false;                    // exact_match
    bool ignore_punctuation = false;             // exact_match
    std::vector<std::string> regexes_to_ignore;  // exact_match, applied in order to both sides
    std::vector<std::int64_t> k;                 // pass_at_k: the k values (<= repeats)

    static const config::Schema<MetricConfig>& schema();
};

struct GenerationConfig {
    std::optional<std::vector<std::string>> until;  // stop strings; absent: [fewshot_delimiter]
    std::int64_t max_gen_toks = 256;
    double temperature = 0.0;        // 0: greedy
    double top_p = 1.0;
    std::int64_t top_k = 0;          // 0: off
    std::int64_t repeats = 1;        // samples per item (pass@k)

    static const config::Schema<GenerationConfig>& schema();
};

// Code tasks (humaneval, mbpp): how the program that runs is built from a completion.
struct CodeConfig {
    std::string program_prefix;  // template put before the completion (humaneval: "{{prompt}}")
    std::string test;            // template of the test code appended after it

    static const config::Schema<CodeConfig>& schema();
};

struct TaskDefinition {
    std::string name;
    std::string output_type;  // multiple_choice | generate_until
    std::string data;         // JSONL, one document per line
    std::string fewshot_data;  // JSONL of few-shot examples ("" = data)
    std::string data_root;    // base of relative data paths ("" = the YAML's directory)
    std::int64_t num_fewshot = 0;
    std::string fewshot_sampler = "first_n";  // first_n | random
    std::int64_t fewshot_seed = 1234;
    std::string description;
    std::string doc_to_text;
    std::string doc_to_target;
    std::string fewshot_target;  // the target shown in few-shot examples ("" = doc_to_target)
    std::string doc_to_choice;   // multiple_choice
    std::vector<std::string> choices;  // multiple_choice: fixed choices (mmlu's A B C D)
    std::string target_delimiter = " ";
    std::string fewshot_delimiter = "\n\n";
    std::string subtask_field;   // split the items into subtasks by this field (mmlu subjects)
    std::optional<GenerationConfig> generation;
    std::vector<FilterChain> filters;
    std::vector<MetricConfig> metrics;
    std::optional<CodeConfig> code;  // present: the task runs generated code (needs permission)

    fs::path source;  // the YAML file

    static const config::Schema<TaskDefinition>& schema();
};

// One item of a task, with its rendered prompt pieces.
struct Doc {
    std::int64_t id = 0;   // 0-based line index in the data file
    json fields;
    std::string subtask;   // "" without subtask_field
};

// A loaded task: the definition and its documents.
struct Task {
    TaskDefinition def;
    std::vector<Doc> docs;          // the evaluation documents, in file order
    std::vector<Doc> fewshot_docs;  // the pool few-shot examples are drawn from
    bool fewshot_from_test = false;  // the pool is the evaluation set itself
    std::string data_sha256;
};

// Finds a task: a path to a .yaml file, or a name looked up as `<dir>/<name>.yaml` in each of
// `search_dirs` in order. Throws kBadInput naming the known tasks when none matches.
fs::path find_task(const std::string& name_or_path, const std::vector<fs::path>& search_dirs);

// Parses and validates a task YAML (errors "FILE:LINE: KEY: problem").
TaskDefinition parse_task_definition(const fs::path& yaml_path);

// Loads the definition and its data. `data_dir`, when not empty, replaces the definition's
// data_root. `num_fewshot` >= 0 overrides the definition's count.
Task load_task(const fs::path& yaml_path, const fs::path& data_dir = {},
               std::int64_t num_fewshot = -1);

// Renders a template against a document: the JSON value for a lone placeholder, else a string.
json render(const std::string& tmpl, const json& doc);
std::string render_text(const std::string& tmpl, const json& doc);

// The few-shot examples of document `index` (position in task.docs), drawn as lm-eval draws
// them: first_n = the first n of the pool (skipping the item itself); random = Python's
// random.Random(fewshot_seed).sample(pool, n) with one generator advanced across the items in
// order (n + 1 drawn and the item removed when the pool is the evaluation set). Call it for
// documents in order: `rng_state` carries the generator.
class FewshotSampler {
public:
    explicit FewshotSampler(const Task& task);
    ~FewshotSampler();
    std::vector<const Doc*> sample(const Doc& doc);

private:
    struct Rng;
    const Task* task_;
    std::unique_ptr<Rng> rng_;
};

// The full context of a document: description + Σ(text(shot) + target_delimiter + target(shot)
// + fewshot_delimiter) + text(doc), exactly lm-eval's plain-text layout.
std::string build_context(const Task& task, const Doc& doc, const std::vector<const Doc*>& shots);

// The choices of a multiple-choice document and its gold index (or indices), resolved as
// lm-eval does: an int index, a string looked up in the choices, or a list of either.
std::vector<std::string> doc_choices(const Task& task, const Doc& doc);
std::vector<std::int64_t> doc_gold(const Task& task, const Doc& doc,
                                   const std::vector<std::string>& choices);
// The references of a generative document (a list for triviaqa-style aliases).
std::vector<std::string> doc_references(const Task& task, const Doc& doc);

}  // namespace qbench::eval::tasks
