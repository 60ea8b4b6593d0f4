// Running one task on a LanguageModel: prompts, requests, filters, metrics, per-item records
// and the task's aggregate result (accuracy with a Wilson interval for 0/1 metrics, the mean
// with a t interval otherwise; lm-eval's stderr = sample sd / sqrt(n)).
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "qbench/eval/tasks/language_model.hpp"
#include "qbench/eval/tasks/task.hpp"
#include "qbench/report/results.hpp"

namespace qbench::eval::tasks {

// The record of one item, one line of samples/<variant>/<task>.jsonl.
struct ItemRecord {
    std::int64_t doc_id = 0;
    std::string subtask;
    std::string doc_hash;      // sha256 of the document's JSON (keys sorted, compact)
    std::string prompt_hash;   // sha256 of the full context
    std::string target_hash;   // sha256 of the target's JSON
    std::string prompt;
    json target;               // gold index / indices or reference text(s)
    std::vector<double> loglikelihoods;  // multiple_choice: per choice
    std::vector<bool> is_greedy;
    std::vector<std::string> responses;  // generate_until: one per repeat
    std::map<std::string, std::string> filtered;  // filter name -> extracted answer (1st response)
    std::map<std::string, double> scores;         // "metric" or "metric,filter" -> score
    json details;              // code results, IFEval per-instruction results

    json to_json() const;
    static ItemRecord from_json(const json& j);  // the inverse of to_json (a samples log line)
};

// An item's stable key: "<doc_id>", or "<subtask>/<doc_id>" (report::TaskResult::item_ids).
std::string item_id(const ItemRecord& record);

struct TaskRunOptions {
    std::int64_t limit = 0;                 // first N items (0 = all)
    bool allow_code_execution = false;
    std::uint64_t seed = 1234;              // sampling seed base
    std::int64_t items_per_chunk = 64;      // items scored (and flushed) together
    double code_timeout_s = 3.0;            // per program (lm-eval's code_eval default)
    // Called for every finished item in document order (e.g. to append it to the samples log).
    std::function<void(const ItemRecord&)> on_item;
    // The chunks to score, by the id of the chunk's first item (all when empty); a shard of a
    // sharded run scores its own. Whole chunks are kept or dropped, so an item is always scored
    // with the same others, and few-shot examples are still drawn for every item in order, so an
    // item's prompt does not depend on which others are scored.
    std::function<bool(const std::string&)> select;
};

// What a task's result is made of besides its items: identical in every shard.
struct TaskSummary {
    std::string name, output_type;
    std::int64_t num_fewshot = 0;
    std::string data_sha256;
    std::vector<std::string> metric_keys;
    bool subtasks = false;
    std::string note;
    std::int64_t items_total = 0;  // items of the task (after the limit), scored here or elsewhere
    std::vector<std::string> item_ids;  // theirs, in document order
    std::int64_t group_size = 1;        // items per chunk (scored together), from a multiple of it
    double seconds = 0.0;
};

// The items scored (document order) and each one's position among the task's items.
struct TaskRecords {
    TaskSummary summary;
    std::vector<ItemRecord> items;
    std::vector<std::int64_t> positions;
};

void to_json(nlohmann::json& j, const TaskSummary& s);
void from_json(const nlohmann::json& j, TaskSummary& s);

// The task's result from its items in document order: metrics with stderr and intervals, the
// per-item ids, hashes and scores (paired comparisons read them), subtasks. A single run and
// `qbench merge` (over the pooled items of every shard) both call it.
report::TaskResult aggregate_task(const TaskSummary& summary, const std::vector<ItemRecord>& items);

// Runs the selected items of `task`; throws kBadInput before any model work for a code task
// without permission.
TaskRecords run_task(const Task& task, LanguageModel& lm, const TaskRunOptions& options);

// aggregate_task of run_task.
report::TaskResult evaluate_task(const Task& task, LanguageModel& lm, const TaskRunOptions& options);

// Appends item records to a JSONL file, flushing after each line.
class SamplesWriter {
public:
    explicit SamplesWriter(const std::filesystem::path& path);  // truncates
    void write(const ItemRecord& record);

private:
    std::filesystem::path path_;
    std::ofstream out_;
};

// An item's identity in report::TaskResult::item_hashes: "<doc>:<prompt>:<target>", the first 16
// hex digits of each hash.
std::string item_hash(const ItemRecord& record);

// The aggregate metrics of per-item scores, in first-seen key order.
std::vector<report::TaskMetricResult> aggregate_scores(const std::vector<std::string>& keys,
                                                       const std::vector<ItemRecord>& items);

}  // namespace qbench::eval::tasks
