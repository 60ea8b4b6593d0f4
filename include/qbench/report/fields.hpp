// One declaration of each result's fields — key, unit, getter — from which its JSON object, its
// CSV columns and its Markdown table are printed (llama-bench's habit): a field added here
// appears in every format, under the same key.
//
// A value is a number, a text, a flag, an interval [lower, upper], or absent (the field does not
// apply to this row: lm-eval-rolling's word_perplexity on a sliding result). A non-finite number
// is a null value (report.json writes null; report/comparison.hpp's failed_values decides which
// nulls fail). The printers mark the two apart:
//   JSON      absent: the key is left out; null: the key holds null
//   CSV       both an empty cell; every row ends with `null_fields`, the `;`-separated columns
//             of that row that hold a null (so an empty cell is never silently a null)
//   Markdown  absent: "-"; null: "**failed**" for a primary field, "-" otherwise
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "qbench/report/comparison.hpp"
#include "qbench/report/derived.hpp"
#include "qbench/report/report.hpp"

namespace qbench::report {

struct Value {
    enum class Kind { kAbsent, kInt, kReal, kText, kBool, kInterval };
    Kind kind = Kind::kAbsent;
    std::int64_t i = 0;
    double x = 0.0;       // kReal, or the interval's lower bound
    double upper = 0.0;   // kInterval
    std::string text;
    bool flag = false;

    static Value absent() { return {}; }
    static Value integer(std::int64_t v) { Value o; o.kind = Kind::kInt; o.i = v; return o; }
    static Value real(double v) { Value o; o.kind = Kind::kReal; o.x = v; return o; }
    static Value str(std::string v) { Value o; o.kind = Kind::kText; o.text = std::move(v); return o; }
    static Value boolean(bool v) { Value o; o.kind = Kind::kBool; o.flag = v; return o; }
    static Value interval(double lo, double hi) { Value o; o.kind = Kind::kInterval; o.x = lo; o.upper = hi; return o; }
};

// How a field looks in Markdown: its header and, for numbers, a fmt format and a scale.
struct MarkdownStyle {
    std::string header;          // empty: the key
    std::string format = "{}";   // applied to scale * value (each bound of an interval)
    double scale = 1.0;
    bool primary = false;        // a null prints "**failed**" (else "-")
};

template <class T>
struct Field {
    std::string key;   // JSON key and CSV column; '/' nests JSON objects (the variant summary)
    std::string unit;  // "tokens", "nats", "s", "bytes", "tokens/s", "USD/Mtok", "" (none)
    std::function<Value(const T&)> get;
    MarkdownStyle markdown = {};
};

template <class T>
using Fields = std::vector<Field<T>>;

// A printed table: the columns of a field list and one row of values per printed item.
struct Column {
    std::string key;
    std::string unit;
    MarkdownStyle markdown;
};

struct Table {
    std::vector<Column> columns;
    std::vector<std::vector<Value>> rows;
};

template <class T>
Table make_table(const Fields<T>& fields, const std::vector<const T*>& items) {
    Table t;
    for (const auto& f : fields) t.columns.push_back({f.key, f.unit, f.markdown});
    for (const T* x : items) {
        std::vector<Value> row;
        row.reserve(fields.size());
        for (const auto& f : fields) row.push_back(f.get(*x));
        t.rows.push_back(std::move(row));
    }
    return t;
}

// A table whose rows are results named by leading text columns (e.g. variant, task): the
// columns `lead`, then the fields of `fields` whose keys are in `keys` (every field when `keys`
// is empty), in the list's order.
template <class T>
Table keyed_table(const std::vector<std::string>& lead, const Fields<T>& fields,
                  const std::vector<std::pair<std::vector<std::string>, const T*>>& rows,
                  const std::vector<std::string>& keys = {}) {
    Table t;
    for (const auto& k : lead) t.columns.push_back({k, "", {}});
    std::vector<const Field<T>*> shown;
    for (const auto& f : fields) {
        if (!keys.empty() && std::find(keys.begin(), keys.end(), f.key) == keys.end()) continue;
        shown.push_back(&f);
        t.columns.push_back({f.key, f.unit, f.markdown});
    }
    for (const auto& [names, x] : rows) {
        std::vector<Value> row;
        for (const auto& n : names) row.push_back(Value::str(n));
        for (const auto* f : shown) row.push_back(f->get(*x));
        t.rows.push_back(std::move(row));
    }
    return t;
}

// The fields of `t` as a JSON object (merged into `j`, which must be an object or null); keys
// with '/' nest ("perplexity/sliding/ppl" -> {"perplexity": {"sliding": {"ppl": ...}}}).
void put_json(nlohmann::json& j, const std::vector<Column>& columns, const std::vector<Value>& row);

template <class T>
nlohmann::json fields_json(const Fields<T>& fields, const T& x) {
    const Table t = make_table(fields, std::vector<const T*>{&x});
    nlohmann::json j = nlohmann::json::object();
    put_json(j, t.columns, t.rows.front());
    return j;
}

// RFC 4180: a header row, CRLF line ends, a cell quoted when it holds a comma, a quote, CR or LF
// (quotes doubled). An interval is two columns, KEY_lower and KEY_upper; numbers as report.json
// writes them (shortest text that reads back to the same double); flags as true/false.
std::string csv(const Table& t);
// The column names csv() writes, in order (null_fields last).
std::vector<std::string> csv_header(const Table& t);
// One CSV cell, quoted when RFC 4180 requires it.
std::string csv_cell(const std::string& s);

// A Markdown table: one header per column (its style's header, "(unit)" appended when the unit
// is set and the header does not hold it), one line per row.
std::string markdown(const Table& t);

// The field lists. Keys are report.json's: to_json of these structs is printed from them.
const Fields<PerplexityBlock>& perplexity_block_fields();
const Fields<PerplexityResult>& perplexity_fields();
const Fields<KldBlock>& kld_block_fields();
const Fields<KldResult>& kld_fields();
const Fields<ModelSummary>& model_fields();
const Fields<DecodeResult>& decode_fields();
const Fields<PrefillResult>& prefill_fields();
const Fields<TaskMetricResult>& task_metric_fields();
const Fields<CostTier>& cost_tier_fields();
const Fields<CostResult>& cost_fields();
const Fields<PerplexityComparison>& perplexity_comparison_fields();  // report.json's comparisons.perplexity[]

// The variant summary (report.csv, `qbench run --json`): name, baseline, status, error, the
// model's headline fields (model/...), then what this report has: per protocol P
// perplexity/P/{ppl, tokens_scored, ratio, ratio_ci, significant} (the ratio from `derived`),
// kld/{protocol, kld_mean, kld_ci, same_top, same_top_ci}, per task T and metric M
// tasks/T/M/{value, n}, per decode scenario throughput/decode/b<batch>_c<context>/tokens_per_s,
// per prefill length throughput/prefill/<tokens>/tokens_per_s, per cost tier
// cost/<tier>/{total_usd_per_million_tokens, quality_adjusted_usd_per_million_tokens}. A
// variant without a column's result has it absent.
Fields<VariantResult> summary_fields(const std::vector<VariantResult>& variants, const Derived& derived);

// The per-item table of one task: item (index), id, hash, then score/<metric> per metric.
struct TaskItem {
    const TaskResult* task = nullptr;
    std::size_t index = 0;
};
Fields<TaskItem> task_item_fields(const TaskResult& task);

// Writes out_dir/report.csv (the summary, one row per variant) and the per-item tables
// out_dir/items/<variant>/<task>.csv, .../perplexity-<protocol>.csv (one row per window or
// document) and .../kld.csv, each file atomically.
void write_csv(const std::vector<VariantResult>& variants, const Derived& derived, const std::filesystem::path& out_dir);

}  // namespace qbench::report
