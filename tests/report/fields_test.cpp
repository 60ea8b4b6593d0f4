// The printers over one field list per result (report/fields.hpp): JSON, CSV and Markdown show
// the same fields under the same keys; CSV is RFC 4180 with lossless numbers and no silent null.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <limits>
#include <set>
#include <sstream>

#include "qbench/report/fields.hpp"
#include "qbench/report/reporter.hpp"
#include "qbench/util/files.hpp"

namespace qbench::report {
namespace {

using nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A minimal RFC 4180 reader (independent of the writer): records of fields, quotes honoured.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
    std::vector<std::vector<std::string>> records(1, std::vector<std::string>(1));
    bool quoted = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                records.back().back() += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                records.back().back() += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            records.back().emplace_back();
        } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
            ++i;
            if (i + 1 < text.size()) records.emplace_back(1);
        } else {
            EXPECT_NE(c, '\n') << "a bare LF outside quotes at offset " << i;
            records.back().back() += c;
        }
    }
    return records;
}

// The Markdown table's header cells.
std::vector<std::string> markdown_header(const std::string& md) {
    std::vector<std::string> out;
    std::stringstream line(md.substr(0, md.find('\n')));
    std::string cell;
    std::getline(line, cell, '|');
    while (std::getline(line, cell, '|')) {
        const auto b = cell.find_first_not_of(' '), e = cell.find_last_not_of(' ');
        out.push_back(cell.substr(b, e - b + 1));
    }
    return out;
}

struct Row {
    std::string name;
    double x = 0.0;
    std::int64_t n = 0;
    std::optional<double> extra;
};

const Fields<Row>& row_fields() {
    static const Fields<Row> f = {
        {"name", "", [](const Row& r) { return Value::str(r.name); }},
        {"x", "nats", [](const Row& r) { return Value::real(r.x); }, {"x", "{:.3f}", 1.0, true}},
        {"n", "tokens", [](const Row& r) { return Value::integer(r.n); }},
        {"extra", "", [](const Row& r) { return r.extra ? Value::real(*r.extra) : Value::absent(); }},
        {"x_ci", "", [](const Row& r) { return Value::interval(r.x - 1, r.x + 1); }, {"", "{:.1f}"}},
    };
    return f;
}

TEST(Csv, QuotesCommasQuotesAndLineBreaksAsRfc4180) {
    EXPECT_EQ(csv_cell("plain text"), "plain text");
    EXPECT_EQ(csv_cell("a,b"), "\"a,b\"");
    EXPECT_EQ(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
    EXPECT_EQ(csv_cell("two\nlines"), "\"two\nlines\"");
    EXPECT_EQ(csv_cell("cr\rhere"), "\"cr\rhere\"");
    const std::vector<Row> rows = {{"exact_match,strict-match", 1.5, 3, 2.0}, {"q\"uote\nand line", 2.5, 4, {}}};
    const std::string text = csv(make_table(row_fields(), {&rows[0], &rows[1]}));
    EXPECT_EQ(text.substr(0, text.find("\r\n")), "name,x,n,extra,x_ci_lower,x_ci_upper,null_fields");
    const auto records = parse_csv(text);
    ASSERT_EQ(records.size(), 3u) << text;
    EXPECT_EQ(records[1][0], "exact_match,strict-match");
    EXPECT_EQ(records[2][0], "q\"uote\nand line");
    for (const auto& r : records) EXPECT_EQ(r.size(), 7u);
}

TEST(Csv, NumbersReadBackToTheSameDoubleAsInReportJson) {
    const std::vector<double> xs = {0.1, 1.0 / 3.0, 2.2161583614349365, 1e-300, 6.02214076e23, -0.0, 123456789.0};
    std::vector<Row> rows;
    for (double x : xs) rows.push_back({"r", x, 0, {}});
    std::vector<const Row*> ptrs;
    for (const auto& r : rows) ptrs.push_back(&r);
    const auto records = parse_csv(csv(make_table(row_fields(), ptrs)));
    ASSERT_EQ(records.size(), xs.size() + 1);
    for (std::size_t i = 0; i < xs.size(); ++i) {
        const double back = std::strtod(records[i + 1][1].c_str(), nullptr);
        EXPECT_EQ(std::memcmp(&back, &xs[i], sizeof back), 0) << records[i + 1][1];
        EXPECT_EQ(records[i + 1][1], json(xs[i]).dump());  // the text report.json holds
    }
}

// Absent (the field does not apply) and null (a non-finite number) are both empty cells; the
// row's null_fields names the nulls, so an empty cell is never a silent null.
TEST(Csv, AbsentAndNullValuesAreEmptyCellsAndNullsAreNamed) {
    const std::vector<Row> rows = {{"ok", 1.0, 1, {}}, {"bad", kNaN, 2, kNaN}};
    const auto records = parse_csv(csv(make_table(row_fields(), {&rows[0], &rows[1]})));
    ASSERT_EQ(records.size(), 3u);
    EXPECT_EQ(records[1][3], "");      // extra: absent
    EXPECT_EQ(records[1][6], "");      // no nulls
    EXPECT_EQ(records[2][1], "");      // x: null
    EXPECT_EQ(records[2][3], "");      // extra: null
    EXPECT_EQ(records[2][4], "");      // the interval around a null
    EXPECT_EQ(records[2][6], "x;extra;x_ci_lower;x_ci_upper");
    // JSON: absent leaves the key out, null writes null; Markdown: "-" and "**failed**".
    const json a = fields_json(row_fields(), rows[0]);
    EXPECT_FALSE(a.contains("extra"));
    const json b = fields_json(row_fields(), rows[1]);
    EXPECT_TRUE(b.at("x").is_null());
    EXPECT_TRUE(b.at("extra").is_null());
    const std::string md = markdown(make_table(row_fields(), {&rows[0], &rows[1]}));
    EXPECT_NE(md.find("| ok | 1.000 | 1 | - | [0.0, 2.0] |"), std::string::npos) << md;
    EXPECT_NE(md.find("| bad | **failed** | 2 | - | - |"), std::string::npos) << md;
}

// Each list prints the same fields in all three formats: the JSON object's keys (less the
// arrays and objects to_json adds), the CSV header (intervals as _lower/_upper, then
// null_fields) and the Markdown header (a field's header, or its key with the unit).
template <class T>
void expect_same_fields(const Fields<T>& fields, const T& x, const json& report_json) {
    const Table t = make_table(fields, std::vector<const T*>{&x});
    const json j = fields_json(fields, x);
    std::vector<std::string> keys, csv_keys, md_keys;
    for (const auto& c : t.columns) keys.push_back(c.key);
    for (std::size_t c = 0; c < t.columns.size(); ++c) {
        if (t.rows[0][c].kind == Value::Kind::kAbsent) continue;
        EXPECT_TRUE(j.contains(t.columns[c].key)) << t.columns[c].key;
        EXPECT_EQ(j.at(t.columns[c].key), report_json.at(t.columns[c].key)) << t.columns[c].key;
    }
    const std::set<std::string> listed(keys.begin(), keys.end());
    for (const auto& [k, v] : report_json.items()) {
        if (v.is_object() || (v.is_array() && !listed.count(k))) continue;
        EXPECT_TRUE(listed.count(k)) << "report.json key " << k << " is not in the field list";
    }
    for (const auto& h : csv_header(t)) csv_keys.push_back(h);
    EXPECT_EQ(csv_keys.back(), "null_fields");
    csv_keys.pop_back();
    std::vector<std::string> expected_csv;
    for (std::size_t c = 0; c < t.columns.size(); ++c) {
        if (t.rows[0][c].kind == Value::Kind::kInterval) {
            expected_csv.push_back(keys[c] + "_lower");
            expected_csv.push_back(keys[c] + "_upper");
        } else {
            expected_csv.push_back(keys[c]);
        }
    }
    EXPECT_EQ(csv_keys, expected_csv);
    md_keys = markdown_header(markdown(t));
    ASSERT_EQ(md_keys.size(), keys.size());
    for (std::size_t c = 0; c < keys.size(); ++c) {
        const auto& s = t.columns[c].markdown;
        std::string h = s.header.empty() ? keys[c] : s.header;
        if (!t.columns[c].unit.empty() && h.find(t.columns[c].unit) == std::string::npos) h += " (" + t.columns[c].unit + ")";
        EXPECT_EQ(md_keys[c], h);
    }
}

PerplexityResult rolling_result() {
    PerplexityResult r;
    r.protocol = "lm-eval-rolling";
    r.data_path = "/data/a,b.txt";
    r.data_sha256 = "ab";
    r.max_length = 512;
    r.input_tokens = 900;
    r.nll_sum = 123.456;
    r.tokens_scored = 900;
    r.ppl = std::exp(r.nll_sum / 900);
    r.blocks = {{60.0, 400, 70, 350}, {63.456, 500, 80, 450}};
    r.word_perplexity = 100.5;
    r.byte_perplexity = 2.25;
    r.bits_per_byte = 1.17;
    r.seconds = 0.5;
    return r;
}

TEST(Fields, JsonCsvAndMarkdownShowTheSameFieldsForEveryResult) {
    const PerplexityResult p = rolling_result();
    expect_same_fields(perplexity_fields(), p, json(p));
    expect_same_fields(perplexity_block_fields(), p.blocks[0], json(p.blocks[0]));
    KldResult k;
    k.baseline = "fp16";
    k.protocol = "sliding";
    k.kld_mean = 0.01;
    k.kld_ci_lower = kNaN;
    k.blocks = {{10, 0.1, 9, 0.01, 0.001}};
    expect_same_fields(kld_fields(), k, json(k));
    expect_same_fields(kld_block_fields(), k.blocks[0], json(k.blocks[0]));
    ModelSummary m;
    m.path = "/m";
    m.weight_bytes = 10;
    expect_same_fields(model_fields(), m, json(m));
    DecodeResult d;
    d.batch_size = 1;
    d.tokens_per_s = 812.5;
    d.note = "no graph, on a CPU";
    expect_same_fields(decode_fields(), d, json(d));
    PrefillResult pf;
    pf.sequence_tokens = 512;
    expect_same_fields(prefill_fields(), pf, json(pf));
    TaskMetricResult tm{"exact_match,strict-match", 0.5, 0.1, 0.3, 0.7, true, 20};
    expect_same_fields(task_metric_fields(), tm, json(tm));
    CostTier ct{"on_demand", 3.5, 1, 0.249, 0.014, 0.263, 0.302};
    expect_same_fields(cost_tier_fields(), ct, json(ct));
    CostResult c;
    c.throughput_basis = "decode batch 1";
    c.tiers = {ct};
    expect_same_fields(cost_fields(), c, json(c));
}

// report.json's perplexity entry is printed from the list: exactly its scalar keys, and
// running_ppl / blocks besides.
TEST(Fields, PerplexityJsonIsTheFieldListPlusItsArrays) {
    PerplexityResult r = rolling_result();
    r.protocol = "sliding";
    r.word_perplexity.reset();
    r.byte_perplexity.reset();
    r.bits_per_byte.reset();
    const json j = r;
    std::set<std::string> keys;
    for (const auto& [k, v] : j.items()) keys.insert(k);
    EXPECT_EQ(keys, (std::set<std::string>{"protocol", "data_path", "data_sha256", "max_length_tokens",
                                           "stride_tokens", "input_tokens", "nll_sum", "tokens_scored", "ppl",
                                           "seconds", "blocks"}));
}

VariantResult variant(std::string name, bool baseline, double ppl) {
    VariantResult v;
    v.name = std::move(name);
    v.baseline = baseline;
    v.model.quantization = baseline ? "none" : "rtn:bits=4";
    v.model.weight_bytes = baseline ? 2000 : 600;
    PerplexityResult p = rolling_result();
    p.protocol = "llama.cpp";
    p.word_perplexity.reset();
    p.ppl = ppl;
    p.nll_sum = std::log(ppl) * 900;
    p.blocks = {{p.nll_sum / 2, 450}, {p.nll_sum / 2, 450}};
    v.perplexity = {p};
    TaskResult t;
    t.name = "mc";
    t.metrics = {{"acc", baseline ? 0.5 : 0.25, 0.1, 0.2, 0.8, true, 4}};
    t.item_ids = {"0", "1", "2", "3"};
    t.item_hashes = {"a:b:c", "d:e:f", "g:h:i", "j:k:l"};
    t.item_scores["acc"] = baseline ? std::vector<double>{1, 0, 1, 0} : std::vector<double>{1, 0, 0, 0};
    v.tasks = {t};
    return v;
}

// report.csv: one row per variant, the summary's columns; the protocol name "llama.cpp" keeps its
// dot because nesting is at '/'; the ratio comes from the derived comparison.
TEST(WriteCsv, ReportCsvHasOneRowPerVariantAndItemTables) {
    const fs::path dir = fs::temp_directory_path() / "qbench_fields_csv_test";
    fs::remove_all(dir);
    VariantResult failed;
    failed.name = "broken";
    failed.status = "failed";
    failed.error = "out of memory, at load";
    const std::vector<VariantResult> variants = {variant("fp16", true, 20.0), variant("int4", false, 23.0), failed};
    const Derived derived = derive(variants, {});
    write_csv(variants, derived, dir);
    const auto records = parse_csv(read_file(dir / "report.csv"));
    ASSERT_EQ(records.size(), 4u);
    const auto& h = records[0];
    auto col = [&h](const std::string& k) {
        const auto it = std::find(h.begin(), h.end(), k);
        EXPECT_NE(it, h.end()) << k;
        return static_cast<std::size_t>(it - h.begin());
    };
    EXPECT_EQ(records[1][col("name")], "fp16");
    EXPECT_EQ(records[2][col("perplexity/llama.cpp/ppl")], "23.0");
    ASSERT_EQ(derived.perplexity.size(), 1u);
    EXPECT_NEAR(derived.perplexity[0].ratio, 23.0 / 20.0, 1e-12);
    EXPECT_EQ(records[2][col("perplexity/llama.cpp/ratio")], json(derived.perplexity[0].ratio).dump());
    EXPECT_EQ(records[1][col("perplexity/llama.cpp/ratio")], "");  // the baseline: absent
    EXPECT_EQ(records[2][col("tasks/mc/acc/value")], "0.25");
    EXPECT_EQ(records[3][col("status")], "failed");
    EXPECT_EQ(records[3][col("error")], "out of memory, at load");
    EXPECT_EQ(records[3][col("perplexity/llama.cpp/ppl")], "");
    for (const auto& r : records) EXPECT_EQ(r.size(), h.size());
    // run --json's objects are the same fields, nested at '/'.
    const json j = fields_json(summary_fields(variants, derived), variants[1]);
    EXPECT_EQ(j["perplexity"]["llama.cpp"]["ppl"], 23.0);
    EXPECT_EQ(j["model"]["weight_bytes"], 600);
    EXPECT_EQ(j["tasks"]["mc"]["acc"]["n"], 4);

    const auto items = parse_csv(read_file(dir / "items" / "int4" / "mc.csv"));
    ASSERT_EQ(items.size(), 5u);
    EXPECT_EQ(items[0], (std::vector<std::string>{"item", "id", "hash", "score/acc", "null_fields"}));
    EXPECT_EQ(items[1], (std::vector<std::string>{"0", "0", "a:b:c", "1.0", ""}));
    const auto blocks = parse_csv(read_file(dir / "items" / "fp16" / "perplexity-llama.cpp.csv"));
    ASSERT_EQ(blocks.size(), 3u);
    EXPECT_EQ(blocks[0], (std::vector<std::string>{"nll_sum", "tokens", "words", "bytes", "null_fields"}));
    EXPECT_EQ(blocks[1][1], "450");
    EXPECT_EQ(blocks[1][2], "");  // a window has no words
    fs::remove_all(dir);
}

}  // namespace
}  // namespace qbench::report
