#include "qbench/report/fields.hpp"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <set>

#include "json_numbers.hpp"
#include "qbench/report/markdown.hpp"
#include "qbench/util/files.hpp"

namespace qbench::report {

using nlohmann::json;
using K = Value::Kind;

namespace {

json value_json(const Value& v) {
    switch (v.kind) {
        case K::kInt: return json(v.i);
        case K::kReal: return detail::number(v.x);
        case K::kText: return json(v.text);
        case K::kBool: return json(v.flag);
        case K::kInterval: return json::array({detail::number(v.x), detail::number(v.upper)});
        case K::kAbsent: break;
    }
    return json(nullptr);
}

// report.json's text of a double: the shortest decimal that reads back to the same value.
std::string real_text(double x) { return std::isfinite(x) ? json(x).dump() : std::string(); }

bool numeric(const Value& v) { return v.kind == K::kInt || v.kind == K::kReal || v.kind == K::kInterval; }

std::string markdown_number(const MarkdownStyle& s, double x) {
    if (!std::isfinite(x)) return s.primary ? "**failed**" : "-";
    return fmt::format(fmt::runtime(s.format), s.scale * x);
}

std::string markdown_value(const MarkdownStyle& s, const Value& v) {
    switch (v.kind) {
        case K::kInt: return std::to_string(v.i);
        case K::kReal: return markdown_number(s, v.x);
        case K::kText: return markdown_cell(v.text);
        case K::kBool: return v.flag ? "yes" : "no";
        case K::kInterval:
            if (!std::isfinite(v.x) || !std::isfinite(v.upper)) return "-";
            return fmt::format("[{}, {}]", markdown_number(s, v.x), markdown_number(s, v.upper));
        case K::kAbsent: break;
    }
    return "-";
}

Value real(double x) { return Value::real(x); }
Value integer(std::int64_t x) { return Value::integer(x); }
Value text(const std::string& s) { return Value::str(s); }
Value flag(bool b) { return Value::boolean(b); }
Value interval(double lo, double hi) { return Value::interval(lo, hi); }
Value optional_real(const std::optional<double>& x) { return x ? Value::real(*x) : Value::absent(); }

}  // namespace

void put_json(json& j, const std::vector<Column>& columns, const std::vector<Value>& row) {
    if (j.is_null()) j = json::object();
    for (std::size_t c = 0; c < columns.size(); ++c) {
        if (row[c].kind == K::kAbsent) continue;
        json* at = &j;
        std::string_view key = columns[c].key;
        for (auto slash = key.find('/'); slash != std::string_view::npos; slash = key.find('/')) {
            at = &(*at)[std::string(key.substr(0, slash))];
            key.remove_prefix(slash + 1);
        }
        (*at)[std::string(key)] = value_json(row[c]);
    }
}

std::string csv_cell(const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + '"';
}

namespace {

// Which columns are intervals: a column is one when any row holds an interval there (an
// interval column is two CSV columns in every row, empty where the row has none).
std::vector<bool> interval_columns(const Table& t) {
    std::vector<bool> out(t.columns.size(), false);
    for (const auto& row : t.rows)
        for (std::size_t c = 0; c < row.size(); ++c) out[c] = out[c] || row[c].kind == K::kInterval;
    return out;
}

}  // namespace

std::vector<std::string> csv_header(const Table& t) {
    const auto pairs = interval_columns(t);
    std::vector<std::string> header;
    for (std::size_t c = 0; c < t.columns.size(); ++c) {
        if (pairs[c]) {
            header.push_back(t.columns[c].key + "_lower");
            header.push_back(t.columns[c].key + "_upper");
        } else {
            header.push_back(t.columns[c].key);
        }
    }
    header.push_back("null_fields");
    return header;
}

std::string csv(const Table& t) {
    const auto pairs = interval_columns(t);
    std::string out;
    auto line = [&out](const std::vector<std::string>& cells) {
        for (std::size_t i = 0; i < cells.size(); ++i) {
            if (i) out += ',';
            out += csv_cell(cells[i]);
        }
        out += "\r\n";
    };
    line(csv_header(t));
    for (const auto& row : t.rows) {
        std::vector<std::string> cells;
        std::string nulls;
        auto null = [&nulls](const std::string& name) {
            if (!nulls.empty()) nulls += ';';
            nulls += name;
        };
        for (std::size_t c = 0; c < row.size(); ++c) {
            const Value& v = row[c];
            const std::string& key = t.columns[c].key;
            if (pairs[c]) {
                const bool has = v.kind == K::kInterval;
                cells.push_back(has ? real_text(v.x) : "");
                cells.push_back(has ? real_text(v.upper) : "");
                if (has && !std::isfinite(v.x)) null(key + "_lower");
                if (has && !std::isfinite(v.upper)) null(key + "_upper");
                continue;
            }
            switch (v.kind) {
                case K::kInt: cells.push_back(std::to_string(v.i)); break;
                case K::kReal:
                    cells.push_back(real_text(v.x));
                    if (!std::isfinite(v.x)) null(key);
                    break;
                case K::kText: cells.push_back(v.text); break;
                case K::kBool: cells.push_back(v.flag ? "true" : "false"); break;
                case K::kInterval:
                case K::kAbsent: cells.emplace_back(); break;
            }
        }
        cells.push_back(nulls);
        line(cells);
    }
    return out;
}

std::string markdown(const Table& t) {
    std::string head = "|", rule = "|";
    for (std::size_t c = 0; c < t.columns.size(); ++c) {
        const auto& col = t.columns[c];
        std::string h = col.markdown.header.empty() ? col.key : col.markdown.header;
        if (!col.unit.empty() && h.find(col.unit) == std::string::npos) h += fmt::format(" ({})", col.unit);
        head += fmt::format(" {} |", markdown_cell(h));
        const bool right = !t.rows.empty() && numeric(t.rows.front()[c]) && t.rows.front()[c].kind != K::kInterval;
        rule += right ? "--:|" : "---|";
    }
    std::string out = fmt::format("{}\n{}\n", head, rule);
    for (const auto& row : t.rows) {
        out += "|";
        for (std::size_t c = 0; c < row.size(); ++c) out += fmt::format(" {} |", markdown_value(t.columns[c].markdown, row[c]));
        out += "\n";
    }
    return out;
}

const Fields<PerplexityBlock>& perplexity_block_fields() {
    // words and bytes are lm-eval-rolling's (a document's text); absent for windows.
    auto doc = [](const PerplexityBlock& b) { return b.words != 0 || b.bytes != 0; };
    static const Fields<PerplexityBlock> f = {
        {"nll_sum", "nats", [](const PerplexityBlock& b) { return real(b.nll_sum); }},
        {"tokens", "tokens", [](const PerplexityBlock& b) { return integer(b.tokens); }},
        {"words", "words", [doc](const PerplexityBlock& b) { return doc(b) ? integer(b.words) : Value::absent(); }},
        {"bytes", "bytes", [doc](const PerplexityBlock& b) { return doc(b) ? integer(b.bytes) : Value::absent(); }},
    };
    return f;
}

const Fields<PerplexityResult>& perplexity_fields() {
    using R = PerplexityResult;
    static const Fields<R> f = {
        {"protocol", "", [](const R& r) { return text(r.protocol); }, {"protocol"}},
        {"data_path", "", [](const R& r) { return text(r.data_path); }},
        {"data_sha256", "", [](const R& r) { return text(r.data_sha256); }},
        {"max_length_tokens", "tokens", [](const R& r) { return integer(r.max_length); }},
        {"stride_tokens", "tokens", [](const R& r) { return integer(r.stride); }},
        {"input_tokens", "tokens", [](const R& r) { return integer(r.input_tokens); }},
        {"nll_sum", "nats", [](const R& r) { return real(r.nll_sum); }},
        {"ppl", "", [](const R& r) { return real(r.ppl); }, {"PPL", "{:.4f}", 1.0, true}},
        {"tokens_scored", "tokens", [](const R& r) { return integer(r.tokens_scored); }, {"tokens scored"}},
        {"ppl_stderr", "", [](const R& r) { return optional_real(r.ppl_stderr); }, {"", "{:.5f}"}},
        {"word_perplexity", "", [](const R& r) { return optional_real(r.word_perplexity); }, {"", "{:.4f}"}},
        {"byte_perplexity", "", [](const R& r) { return optional_real(r.byte_perplexity); }, {"", "{:.4f}"}},
        {"bits_per_byte", "", [](const R& r) { return optional_real(r.bits_per_byte); }, {"", "{:.4f}"}},
        {"seconds", "s", [](const R& r) { return real(r.seconds); }, {"", "{:.2f}"}},
    };
    return f;
}

const Fields<KldBlock>& kld_block_fields() {
    static const Fields<KldBlock> f = {
        {"tokens", "tokens", [](const KldBlock& b) { return integer(b.tokens); }},
        {"kld_sum", "nats", [](const KldBlock& b) { return real(b.kld_sum); }},
        {"same_top", "tokens", [](const KldBlock& b) { return integer(b.same_top); }},
        {"delta_p_sum", "", [](const KldBlock& b) { return real(b.delta_p_sum); }},
        {"delta_p_sq_sum", "", [](const KldBlock& b) { return real(b.delta_p_sq_sum); }},
    };
    return f;
}

const Fields<KldResult>& kld_fields() {
    using R = KldResult;
    static const Fields<R> f = {
        {"baseline", "", [](const R& r) { return text(r.baseline); }},
        {"protocol", "", [](const R& r) { return text(r.protocol); }},
        {"top_k", "tokens", [](const R& r) { return integer(r.top_k); }},
        {"vocab_size", "tokens", [](const R& r) { return integer(r.vocab_size); }},
        {"exact", "", [](const R& r) { return flag(r.exact); }},
        // The variant listed only its top-k (a server): a lower bound. Absent for full rows.
        {"variant_top_k", "tokens",
         [](const R& r) { return r.variant_top_k > 0 ? integer(r.variant_top_k) : Value::absent(); }},
        {"tokens", "tokens", [](const R& r) { return integer(r.tokens); }},
        {"confidence", "", [](const R& r) { return real(r.confidence); }},
        {"ci_method", "", [](const R& r) { return text(r.ci_method); }},
        {"kld_mean", "nats/token", [](const R& r) { return real(r.kld_mean); }, {"mean KLD", "{:.6f}", 1.0, true}},
        {"kld_se", "nats/token", [](const R& r) { return real(r.kld_se); }, {"", "{:.6f}"}},
        {"kld_ci", "nats/token", [](const R& r) { return interval(r.kld_ci_lower, r.kld_ci_upper); }, {"", "{:.6f}"}},
        {"same_top", "", [](const R& r) { return real(r.same_top); }, {"same top %", "{:.2f}", 100.0}},
        {"same_top_ci", "", [](const R& r) { return interval(r.same_top_ci_lower, r.same_top_ci_upper); },
         {"same top % CI", "{:.2f}", 100.0}},
        {"delta_p_mean", "", [](const R& r) { return real(r.delta_p_mean); }, {"mean Δp %", "{:+.3f}", 100.0}},
        {"delta_p_ci", "", [](const R& r) { return interval(r.delta_p_ci_lower, r.delta_p_ci_upper); },
         {"Δp % CI", "{:+.3f}", 100.0}},
        {"delta_p_rms", "", [](const R& r) { return real(r.delta_p_rms); }, {"RMS Δp %", "{:.3f}", 100.0}},
        {"base_tail_mass_mean", "", [](const R& r) { return real(r.base_tail_mass_mean); }, {"", "{:.3g}"}},
        {"seconds", "s", [](const R& r) { return real(r.seconds); }, {"", "{:.2f}"}},
    };
    return f;
}

const Fields<ModelSummary>& model_fields() {
    using M = ModelSummary;
    static const Fields<M> f = {
        {"path", "", [](const M& m) { return text(m.path); }},
        {"format", "", [](const M& m) { return text(m.format); }},
        {"architecture", "", [](const M& m) { return text(m.architecture); }},
        {"dtype", "", [](const M& m) { return text(m.dtype); }},
        {"dtype_reason", "", [](const M& m) { return text(m.dtype_reason); }},
        {"device", "", [](const M& m) { return text(m.device); }},
        {"num_parameters", "", [](const M& m) { return integer(m.num_parameters); }},
        {"weight_bytes", "bytes", [](const M& m) { return integer(m.weight_bytes); }},
        {"quantization", "", [](const M& m) { return text(m.quantization); }},
        {"load_seconds", "s", [](const M& m) { return real(m.load_seconds); }, {"", "{:.2f}"}},
    };
    return f;
}

const Fields<DecodeResult>& decode_fields() {
    using D = DecodeResult;
    static const Fields<D> f = {
        {"batch_size", "", [](const D& d) { return integer(d.batch_size); }, {"batch"}},
        {"context_tokens", "tokens", [](const D& d) { return integer(d.context_tokens); }, {"context tokens"}},
        {"steps", "", [](const D& d) { return integer(d.steps); }},
        {"warmup", "", [](const D& d) { return integer(d.warmup); }},
        {"repetitions", "", [](const D& d) { return integer(d.repetitions); }},
        {"tokens_per_s", "tokens/s", [](const D& d) { return real(d.tokens_per_s); }, {"", "{:.1f}", 1.0, true}},
        {"tokens_per_s_ci", "tokens/s", [](const D& d) { return interval(d.tokens_per_s_ci_lower, d.tokens_per_s_ci_upper); },
         {"", "{:.1f}"}},
        {"repetition_cv", "", [](const D& d) { return real(d.repetition_cv); }, {"", "{:.3f}"}},
        {"slow_step_fraction", "", [](const D& d) { return real(d.slow_step_fraction); }, {"", "{:.3f}"}},
        {"ms_per_token", "ms", [](const D& d) { return real(d.ms_per_token); }, {"", "{:.3f}"}},
        {"bytes_per_step", "bytes", [](const D& d) { return real(d.bytes_per_step); }, {"", "{:.4g}"}},
        {"achieved_bytes_per_s", "bytes/s", [](const D& d) { return real(d.achieved_bytes_per_s); }, {"", "{:.4g}"}},
        {"bandwidth_fraction", "", [](const D& d) { return real(d.bandwidth_fraction); }, {"", "{:.3f}"}},
        {"cuda_graph", "", [](const D& d) { return flag(d.cuda_graph); }},
        {"note", "", [](const D& d) { return text(d.note); }},
        {"warmup_seconds", "s", [](const D& d) { return real(d.warmup_seconds); }, {"", "{:.2f}"}},
    };
    return f;
}

const Fields<PrefillResult>& prefill_fields() {
    using P = PrefillResult;
    static const Fields<P> f = {
        {"sequence_tokens", "tokens", [](const P& p) { return integer(p.sequence_tokens); }},
        {"warmup", "", [](const P& p) { return integer(p.warmup); }},
        {"repetitions", "", [](const P& p) { return integer(p.repetitions); }},
        {"tokens_per_s", "tokens/s", [](const P& p) { return real(p.tokens_per_s); }, {"", "{:.1f}", 1.0, true}},
        {"tokens_per_s_ci", "tokens/s", [](const P& p) { return interval(p.tokens_per_s_ci_lower, p.tokens_per_s_ci_upper); },
         {"", "{:.1f}"}},
        {"repetition_cv", "", [](const P& p) { return real(p.repetition_cv); }, {"", "{:.3f}"}},
        {"flop_per_token", "FLOP", [](const P& p) { return real(p.flop_per_token); }, {"", "{:.4g}"}},
        {"achieved_flop_per_s", "FLOP/s", [](const P& p) { return real(p.achieved_flop_per_s); }, {"", "{:.4g}"}},
        {"warmup_seconds", "s", [](const P& p) { return real(p.warmup_seconds); }, {"", "{:.2f}"}},
    };
    return f;
}

const Fields<TaskMetricResult>& task_metric_fields() {
    using M = TaskMetricResult;
    static const Fields<M> f = {
        {"name", "", [](const M& m) { return text(m.name); }, {"metric"}},
        {"value", "", [](const M& m) { return real(m.value); }, {"score %", "{:.2f}", 100.0, true}},
        {"stderr", "", [](const M& m) { return real(m.stderr_value); }, {"stderr %", "{:.2f}", 100.0}},
        {"ci_lower", "", [](const M& m) { return real(m.ci_lower); }, {"CI lower %", "{:.2f}", 100.0}},
        {"ci_upper", "", [](const M& m) { return real(m.ci_upper); }, {"CI upper %", "{:.2f}", 100.0}},
        {"binary", "", [](const M& m) { return flag(m.binary); }},
        {"n", "items", [](const M& m) { return integer(m.n); }, {"n"}},
    };
    return f;
}

const Fields<CostTier>& cost_tier_fields() {
    using T = CostTier;
    static const Fields<T> f = {
        {"name", "", [](const T& t) { return text(t.name); }, {"tier"}},
        {"usd_per_hour", "USD/h", [](const T& t) { return real(t.usd_per_hour); }, {"", "{:.2f}"}},
        {"gpus", "", [](const T& t) { return integer(t.gpus); }},
        {"usd_per_million_tokens", "USD/Mtok", [](const T& t) { return real(t.usd_per_million_tokens); }, {"", "{:.4f}"}},
        {"calibration_usd_per_million_tokens", "USD/Mtok",
         [](const T& t) { return real(t.calibration_usd_per_million_tokens); }, {"", "{:.4f}"}},
        {"total_usd_per_million_tokens", "USD/Mtok", [](const T& t) { return real(t.total_usd_per_million_tokens); },
         {"", "{:.4f}", 1.0, true}},
        {"quality_adjusted_usd_per_million_tokens", "USD/Mtok",
         [](const T& t) { return real(t.quality_adjusted_usd_per_million_tokens); }, {"", "{:.4f}"}},
    };
    return f;
}

const Fields<CostResult>& cost_fields() {
    using C = CostResult;
    static const Fields<C> f = {
        {"throughput_basis", "", [](const C& c) { return text(c.throughput_basis); }},
        {"tokens_per_s", "tokens/s", [](const C& c) { return real(c.tokens_per_s); }, {"", "{:.1f}"}},
        {"quality_factor", "", [](const C& c) { return real(c.quality_factor); }, {"", "{:.4f}", 1.0, true}},
        {"quality_basis", "", [](const C& c) { return text(c.quality_basis); }},
        {"calibration_usd", "USD", [](const C& c) { return real(c.calibration_usd); }, {"", "{:.2f}"}},
    };
    return f;
}

const Fields<PerplexityComparison>& perplexity_comparison_fields() {
    using C = PerplexityComparison;
    static const Fields<C> f = {
        {"failed", "", [](const C& c) { return flag(c.failed); }},
        {"variant", "", [](const C& c) { return text(c.variant); }},
        {"baseline", "", [](const C& c) { return text(c.baseline); }},
        {"protocol", "", [](const C& c) { return text(c.protocol); }},
        {"ppl_variant", "", [](const C& c) { return real(c.ppl_variant); }, {"PPL variant", "{:.4f}", 1.0, true}},
        {"ppl_baseline", "", [](const C& c) { return real(c.ppl_baseline); }, {"PPL baseline", "{:.4f}", 1.0, true}},
        {"ratio", "", [](const C& c) { return real(c.ratio); }, {"", "{:.4f}", 1.0, true}},
        {"ratio_ci", "", [](const C& c) { return interval(c.ratio_ci_lower, c.ratio_ci_upper); }, {"", "{:.4f}"}},
        {"confidence", "", [](const C& c) { return real(c.confidence); }},
        {"blocks", "", [](const C& c) { return integer(c.blocks); }},
        {"tokens", "tokens", [](const C& c) { return integer(c.tokens); }},
        {"significant", "", [](const C& c) { return flag(c.significant); }},
        {"method", "", [](const C& c) { return text(c.method); }},
        {"note", "", [](const C& c) { return text(c.note); }},
    };
    return f;
}

namespace {

// The first element of `xs` with pred, or null.
template <class T, class P>
const T* first_where(const std::vector<T>& xs, P pred) {
    for (const auto& x : xs)
        if (pred(x)) return &x;
    return nullptr;
}

// Appends each field of `inner` under `prefix/`, read through `pick` (absent when it gives null).
template <class T>
void add_nested(Fields<VariantResult>& out, const std::string& prefix, const Fields<T>& inner,
                const std::set<std::string>& keys, std::function<const T*(const VariantResult&)> pick) {
    for (const auto& f : inner) {
        if (!keys.count(f.key)) continue;
        out.push_back({prefix + "/" + f.key, f.unit, [pick, get = f.get](const VariantResult& v) {
                           const T* x = pick(v);
                           return x ? get(*x) : Value::absent();
                       }, f.markdown});
    }
}

}  // namespace

Fields<VariantResult> summary_fields(const std::vector<VariantResult>& variants, const Derived& derived) {
    using V = VariantResult;
    Fields<V> f = {
        {"name", "", [](const V& v) { return text(v.name); }, {"variant"}},
        {"baseline", "", [](const V& v) { return flag(v.baseline); }},
        {"status", "", [](const V& v) { return text(v.status); }},
        {"error", "", [](const V& v) { return text(v.error); }},
    };
    add_nested<ModelSummary>(f, "model", model_fields(), {"quantization", "dtype", "dtype_reason", "num_parameters",
                                                          "weight_bytes", "load_seconds"},
                             [](const V& v) { return &v.model; });
    std::vector<std::string> protocols;
    std::vector<std::pair<std::string, std::string>> metrics;  // (task, metric)
    std::vector<std::pair<std::int64_t, std::int64_t>> decodes;
    std::vector<std::int64_t> prefills;
    std::vector<std::string> tiers;
    bool kld = false;
    auto add = [](auto& xs, const auto& x) {
        if (std::find(xs.begin(), xs.end(), x) == xs.end()) xs.push_back(x);
    };
    for (const auto& v : variants) {
        for (const auto& p : v.perplexity) add(protocols, p.protocol);
        for (const auto& t : v.tasks)
            for (const auto& m : t.metrics) add(metrics, std::pair{t.name, m.name});
        if (v.throughput) {
            for (const auto& d : v.throughput->decode) add(decodes, std::pair{d.batch_size, d.context_tokens});
            for (const auto& p : v.throughput->prefill) add(prefills, p.sequence_tokens);
        }
        if (v.cost)
            for (const auto& t : v.cost->tiers) add(tiers, t.name);
        kld = kld || v.kld.has_value();
    }
    std::map<std::pair<std::string, std::string>, PerplexityComparison> cmp;
    for (const auto& c : derived.perplexity) cmp[{c.variant, c.protocol}] = c;
    for (const auto& p : protocols) {
        const std::string prefix = "perplexity/" + p;
        add_nested<PerplexityResult>(f, prefix, perplexity_fields(), {"ppl", "tokens_scored"}, [p](const V& v) {
            return first_where(v.perplexity, [&p](const PerplexityResult& r) { return r.protocol == p; });
        });
        // From derived: the ratio to the baseline's PPL on the same protocol (absent for the baseline).
        add_nested<PerplexityComparison>(f, prefix, perplexity_comparison_fields(), {"ratio", "ratio_ci", "significant"},
                                         [cmp, p](const V& v) -> const PerplexityComparison* {
                                             auto it = cmp.find({v.name, p});
                                             return it == cmp.end() ? nullptr : &it->second;
                                         });
    }
    if (kld) {
        add_nested<KldResult>(f, "kld", kld_fields(), {"protocol", "kld_mean", "kld_ci", "same_top", "same_top_ci"},
                              [](const V& v) { return v.kld ? &*v.kld : nullptr; });
    }
    for (const auto& entry : metrics) {
        const std::string task = entry.first, metric = entry.second;
        add_nested<TaskMetricResult>(f, "tasks/" + task + "/" + metric, task_metric_fields(), {"value", "n"},
                                     [task, metric](const V& v) -> const TaskMetricResult* {
                                         const auto* t = first_where(v.tasks, [&](const TaskResult& x) { return x.name == task; });
                                         if (!t) return nullptr;
                                         return first_where(t->metrics, [&](const TaskMetricResult& m) { return m.name == metric; });
                                     });
    }
    for (const auto& entry : decodes) {
        const std::int64_t batch = entry.first, context = entry.second;
        add_nested<DecodeResult>(f, fmt::format("throughput/decode/b{}_c{}", batch, context), decode_fields(),
                                 {"tokens_per_s"}, [batch, context](const V& v) -> const DecodeResult* {
                                     if (!v.throughput) return nullptr;
                                     return first_where(v.throughput->decode, [&](const DecodeResult& d) {
                                         return d.batch_size == batch && d.context_tokens == context;
                                     });
                                 });
    }
    for (auto tokens : prefills) {
        add_nested<PrefillResult>(f, fmt::format("throughput/prefill/{}", tokens), prefill_fields(), {"tokens_per_s"},
                                  [tokens](const V& v) -> const PrefillResult* {
                                      if (!v.throughput) return nullptr;
                                      return first_where(v.throughput->prefill,
                                                     [&](const PrefillResult& p) { return p.sequence_tokens == tokens; });
                                  });
    }
    for (const auto& tier : tiers) {
        add_nested<CostTier>(f, "cost/" + tier, cost_tier_fields(),
                             {"total_usd_per_million_tokens", "quality_adjusted_usd_per_million_tokens"},
                             [tier](const V& v) -> const CostTier* {
                                 if (!v.cost) return nullptr;
                                 return first_where(v.cost->tiers, [&](const CostTier& t) { return t.name == tier; });
                             });
    }
    return f;
}

Fields<TaskItem> task_item_fields(const TaskResult& task) {
    using I = TaskItem;
    Fields<I> f = {
        {"item", "", [](const I& i) { return integer(static_cast<std::int64_t>(i.index)); }},
        {"id", "", [](const I& i) { return i.index < i.task->item_ids.size() ? text(i.task->item_ids[i.index]) : Value::absent(); }},
        // Empty in reports written before item hashes existed: absent, not an empty text.
        {"hash", "", [](const I& i) {
             return i.index < i.task->item_hashes.size() ? text(i.task->item_hashes[i.index]) : Value::absent();
         }},
    };
    for (const auto& entry : task.item_scores) {
        const std::string metric = entry.first;
        f.push_back({"score/" + metric, "", [metric](const I& i) {
                         const auto& xs = i.task->item_scores.at(metric);
                         return i.index < xs.size() ? real(xs[i.index]) : Value::absent();
                     }});
    }
    return f;
}

void write_csv(const std::vector<VariantResult>& variants, const Derived& derived, const std::filesystem::path& out_dir) {
    std::vector<const VariantResult*> rows;
    for (const auto& v : variants) rows.push_back(&v);
    write_file_atomic(out_dir / "report.csv", csv(make_table(summary_fields(variants, derived), rows)));
    for (const auto& v : variants) {
        const auto dir = out_dir / "items" / v.name;
        for (const auto& t : v.tasks) {
            std::vector<TaskItem> items;
            for (std::size_t i = 0; i < t.item_ids.size(); ++i) items.push_back({&t, i});
            std::vector<const TaskItem*> ptrs;
            for (const auto& i : items) ptrs.push_back(&i);
            write_file_atomic(dir / (t.name + ".csv"), csv(make_table(task_item_fields(t), ptrs)));
        }
        for (const auto& p : v.perplexity) {
            std::vector<const PerplexityBlock*> ptrs;
            for (const auto& b : p.blocks) ptrs.push_back(&b);
            write_file_atomic(dir / ("perplexity-" + p.protocol + ".csv"), csv(make_table(perplexity_block_fields(), ptrs)));
        }
        if (v.kld) {
            std::vector<const KldBlock*> ptrs;
            for (const auto& b : v.kld->blocks) ptrs.push_back(&b);
            write_file_atomic(dir / "kld.csv", csv(make_table(kld_block_fields(), ptrs)));
        }
    }
}

}  // namespace qbench::report
