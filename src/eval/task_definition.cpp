#include "qbench/eval/tasks/task.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "qbench/config/schema.hpp"
#include "qbench/io/jsonl.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"
#include "qbench/util/hash.hpp"
#include "qbench/util/strings.hpp"

namespace qbench::eval::tasks {

using config::Schema;

const Schema<FilterStep>& FilterStep::schema() {
    static const Schema<FilterStep> s = [] {
        Schema<FilterStep> s;
        s.option("function", &FilterStep::function, "regex | take_first | remove_whitespace | lowercase")
            .required()
            .one_of({"regex", "take_first", "remove_whitespace", "lowercase"});
        s.option("pattern", &FilterStep::pattern, "regex: the pattern")
            .default_value("#### (\\-?[0-9\\.\\,]+)");
        s.option("group_select", &FilterStep::group_select,
                 "regex: which match to keep (negative counts from the end)")
            .default_value(0);
        s.option("fallback", &FilterStep::fallback, "regex: the answer when nothing matches")
            .default_value("[invalid]");
        return s;
    }();
    return s;
}

const Schema<FilterChain>& FilterChain::schema() {
    static const Schema<FilterChain> s = [] {
        Schema<FilterChain> s;
        s.option("name", &FilterChain::name, "the filter's name in metric keys (metric,filter)").required();
        s.option("steps", &FilterChain::steps, "filters applied in order").required().non_empty();
        return s;
    }();
    return s;
}

const Schema<MetricConfig>& MetricConfig::schema() {
    static const Schema<MetricConfig> s = [] {
        Schema<MetricConfig> s;
        s.option("name", &MetricConfig::name, "acc | acc_norm | acc_bytes | exact_match | pass_at_k | ifeval")
            .required()
            .one_of({"acc", "acc_norm", "acc_bytes", "exact_match", "pass_at_k", "ifeval"});
        s.option("ignore_case", &MetricConfig::ignore_case, "exact_match: compare lowercased").default_value(false);
        s.option("ignore_punctuation", &MetricConfig::ignore_punctuation,
                 "exact_match: delete ASCII punctuation first")
            .default_value(false);
        s.option("regexes_to_ignore", &MetricConfig::regexes_to_ignore,
                 "exact_match: regexes deleted from both sides, in order")
            .default_value({});
        s.option("k", &MetricConfig::k, "pass_at_k: the k values").default_value({1});
        return s;
    }();
    return s;
}

const Schema<GenerationConfig>& GenerationConfig::schema() {
    static const Schema<GenerationConfig> s = [] {
        Schema<GenerationConfig> s;
        s.option("until", &GenerationConfig::until, "stop strings").default_text("[fewshot_delimiter]");
        s.option("max_gen_toks", &GenerationConfig::max_gen_toks, "most generated tokens").default_value(256).at_least(1);
        s.option("temperature", &GenerationConfig::temperature, "0 = greedy").default_value(0.0).at_least(0.0);
        s.option("top_p", &GenerationConfig::top_p, "nucleus sampling mass").default_value(1.0).range(0.0, 1.0);
        s.option("top_k", &GenerationConfig::top_k, "top-k sampling, 0 = off").default_value(0).at_least(0);
        s.option("repeats", &GenerationConfig::repeats, "samples per item (pass@k)").default_value(1).at_least(1);
        return s;
    }();
    return s;
}

const Schema<CodeConfig>& CodeConfig::schema() {
    static const Schema<CodeConfig> s = [] {
        Schema<CodeConfig> s;
        s.option("program_prefix", &CodeConfig::program_prefix, "template put before the completion")
            .default_value("");
        s.option("test", &CodeConfig::test, "template of the test code run after the program").required();
        return s;
    }();
    return s;
}

const Schema<TaskDefinition>& TaskDefinition::schema() {
    static const Schema<TaskDefinition> s = [] {
        Schema<TaskDefinition> s;
        s.option("name", &TaskDefinition::name, "task name").required().non_empty();
        s.option("output_type", &TaskDefinition::output_type, "multiple_choice | generate_until")
            .required()
            .one_of({"multiple_choice", "generate_until"});
        s.option("data", &TaskDefinition::data, "JSONL evaluation documents, relative to data_root").required();
        s.option("fewshot_data", &TaskDefinition::fewshot_data, "JSONL few-shot pool").default_text("data");
        s.option("data_root", &TaskDefinition::data_root, "base of relative data paths, relative to the YAML")
            .default_text("the YAML's directory");
        s.option("num_fewshot", &TaskDefinition::num_fewshot, "few-shot examples per prompt").default_value(0).at_least(0);
        s.option("fewshot_sampler", &TaskDefinition::fewshot_sampler, "first_n | random")
            .default_value("first_n")
            .one_of({"first_n", "random"});
        s.option("fewshot_seed", &TaskDefinition::fewshot_seed, "seed of the random sampler").default_value(1234);
        s.option("description", &TaskDefinition::description, "text before the examples").default_value("");
        s.option("doc_to_text", &TaskDefinition::doc_to_text, "prompt template").required();
        s.option("doc_to_target", &TaskDefinition::doc_to_target, "target template").required();
        s.option("fewshot_target", &TaskDefinition::fewshot_target, "target shown in few-shot examples")
            .default_text("doc_to_target");
        s.option("doc_to_choice", &TaskDefinition::doc_to_choice, "template naming the list of choices")
            .default_value("");
        s.option("choices", &TaskDefinition::choices, "fixed choices (instead of doc_to_choice)").default_value({});
        s.option("target_delimiter", &TaskDefinition::target_delimiter, "between prompt and target").default_value(" ");
        s.option("fewshot_delimiter", &TaskDefinition::fewshot_delimiter, "after each example").default_value("\n\n");
        s.option("subtask_field", &TaskDefinition::subtask_field, "split items into subtasks by this field")
            .default_value("");
        s.option("generation", &TaskDefinition::generation, "generation options (generate_until)").default_text("defaults");
        s.option("filters", &TaskDefinition::filters, "named filter chains").default_value({});
        s.option("metrics", &TaskDefinition::metrics, "metrics").required().non_empty();
        s.option("code", &TaskDefinition::code, "code execution (humaneval, mbpp)").default_text("none");
        s.finalize([](TaskDefinition& d, const config::Fields& f) {
            if (d.output_type == "multiple_choice" && d.doc_to_choice.empty() && d.choices.empty())
                f.at("doc_to_choice").fail("a multiple_choice task needs doc_to_choice or choices");
            if (d.output_type == "generate_until" && !d.generation) d.generation = GenerationConfig{};
            if (d.generation && !d.generation->until) d.generation->until = std::vector<std::string>{d.fewshot_delimiter};
            for (std::size_t i = 0; i < d.metrics.size(); ++i) {
                const auto& m = d.metrics[i].name;
                const bool mc = m == "acc" || m == "acc_norm" || m == "acc_bytes";
                if (mc != (d.output_type == "multiple_choice"))
                    f.at("metrics").element(i).fail(fmt::format("metric '{}' does not fit output_type {}", m, d.output_type));
                if (m == "pass_at_k") {
                    if (!d.code) f.at("metrics").element(i).fail("pass_at_k needs a code: section");
                    for (auto k : d.metrics[i].k)
                        if (k < 1 || k > d.generation->repeats)
                            f.at("metrics").element(i).fail(fmt::format(
                                "k = {} must be in 1..generation.repeats ({})", k, d.generation->repeats));
                }
            }
        });
        return s;
    }();
    return s;
}

fs::path find_task(const std::string& name_or_path, const std::vector<fs::path>& search_dirs) {
    std::error_code ec;
    if (name_or_path.ends_with(".yaml") || name_or_path.ends_with(".yml")) {
        if (!fs::exists(name_or_path, ec)) throw_bad_input("task file {} does not exist", name_or_path);
        return fs::absolute(name_or_path).lexically_normal();
    }
    std::set<std::string> known;
    for (const auto& dir : search_dirs) {
        const fs::path p = dir / (name_or_path + ".yaml");
        if (fs::exists(p, ec)) return p;
        if (fs::is_directory(dir, ec))
            for (const auto& e : fs::directory_iterator(dir, ec))
                if (e.path().extension() == ".yaml") known.insert(e.path().stem().string());
    }
    const std::vector<std::string> names(known.begin(), known.end());
    throw_bad_input("unknown task '{}' (known: {}){}", name_or_path, join(names, ", "),
                    did_you_mean(name_or_path, names));
}

TaskDefinition parse_task_definition(const fs::path& yaml_path) {
    const std::string text = read_file(yaml_path);
    const YAML::Node root = config::load_yaml(text, yaml_path);
    const config::ParseEnv env{yaml_path, fs::absolute(yaml_path).parent_path().lexically_normal(), nullptr};
    TaskDefinition d = TaskDefinition::schema().parse(config::Value(root, "", env));
    d.source = yaml_path;
    return d;
}

namespace {

std::vector<Doc> read_docs(const fs::path& path, const std::string& subtask_field) {
    std::vector<Doc> docs;
    for (auto& r : io::read_jsonl(path)) {
        if (!r.value.is_object()) throw_bad_input("{}:{}: expected a JSON object per line", path.string(), r.line);
        Doc d;
        d.id = static_cast<std::int64_t>(docs.size());
        if (!subtask_field.empty()) {
            const auto it = r.value.find(subtask_field);
            if (it == r.value.end() || !it->is_string())
                throw_bad_input("{}:{}: subtask field '{}' missing or not a string", path.string(), r.line, subtask_field);
            d.subtask = it->get<std::string>();
        }
        d.fields = std::move(r.value);
        docs.push_back(std::move(d));
    }
    return docs;
}

}  // namespace

Task load_task(const fs::path& yaml_path, const fs::path& data_dir, std::int64_t num_fewshot) {
    Task t;
    t.def = parse_task_definition(yaml_path);
    const fs::path yaml_dir = fs::absolute(yaml_path).parent_path();
    const fs::path root = !data_dir.empty() ? data_dir
                          : t.def.data_root.empty() ? yaml_dir
                                                    : (yaml_dir / t.def.data_root).lexically_normal();
    if (num_fewshot >= 0) t.def.num_fewshot = num_fewshot;
    const fs::path data = root / t.def.data;
    std::error_code ec;
    if (!fs::exists(data, ec)) {
        throw_bad_input("task '{}': data file {} does not exist (export it with scripts/export_hf_tasks.py, or set "
                        "tasks.data_dir)",
                        t.def.name, data.string());
    }
    t.docs = read_docs(data, t.def.subtask_field);
    t.data_sha256 = sha256_file_hex(data);
    if (t.def.fewshot_data.empty() || root / t.def.fewshot_data == data) {
        t.fewshot_docs = t.docs;
        t.fewshot_from_test = true;
    } else {
        const fs::path fewshot = root / t.def.fewshot_data;
        if (!fs::exists(fewshot, ec))
            throw_bad_input("task '{}': few-shot file {} does not exist", t.def.name, fewshot.string());
        t.fewshot_docs = read_docs(fewshot, t.def.subtask_field);
    }
    if (t.def.num_fewshot > 0 && t.fewshot_docs.size() < static_cast<std::size_t>(t.def.num_fewshot) + (t.fewshot_from_test ? 1 : 0))
        throw_bad_input("task '{}': {} few-shot examples requested, the pool has {}", t.def.name, t.def.num_fewshot,
                        t.fewshot_docs.size());
    return t;
}

// ---- templates ---------------------------------------------------------------------------------

namespace {

std::string trim(const std::string& s) {
    const auto first = s.find_first_not_of(" \t\n\r\f\v");
    if (first == std::string::npos) return "";
    const auto last = s.find_last_not_of(" \t\n\r\f\v");
    return s.substr(first, last - first + 1);
}

std::string as_text(const json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_null()) return "None";
    if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
    return v.dump();
}

json lookup(const std::string& expr, const json& doc, const std::string& tmpl) {
    std::string path = trim(expr);
    bool strip = false;
    if (auto bar = path.find('|'); bar != std::string::npos) {
        const std::string f = trim(path.substr(bar + 1));
        if (f != "strip") throw_bad_input("template '{}': unknown filter '{}' (known: strip)", tmpl, f);
        strip = true;
        path = trim(path.substr(0, bar));
    }
    const json* cur = &doc;
    std::size_t i = 0;
    auto fail = [&](const std::string& why) -> const json* {
        throw_bad_input("template '{}': {{{{{}}}}}: {}", tmpl, path, why);
    };
    while (i < path.size()) {
        if (path[i] == '.') ++i;
        if (path[i] == '[') {
            const auto close = path.find(']', i);
            if (close == std::string::npos) fail("unclosed '['");
            const long idx = std::stol(path.substr(i + 1, close - i - 1));
            if (!cur->is_array()) fail("indexing something that is not a list");
            const long n = static_cast<long>(cur->size());
            const long at = idx < 0 ? n + idx : idx;
            if (at < 0 || at >= n) fail(fmt::format("index {} out of range (size {})", idx, n));
            cur = &(*cur)[static_cast<std::size_t>(at)];
            i = close + 1;
            continue;
        }
        std::size_t end = i;
        while (end < path.size() && path[end] != '.' && path[end] != '[') ++end;
        const std::string key = path.substr(i, end - i);
        if (!cur->is_object() || !cur->contains(key)) fail(fmt::format("no field '{}' in the document", key));
        cur = &(*cur)[key];
        i = end;
    }
    if (strip) return trim(as_text(*cur));
    return *cur;
}

}  // namespace

json render(const std::string& tmpl, const json& doc) {
    std::string out;
    std::size_t pos = 0;
    bool lone = false;
    json lone_value;
    while (true) {
        const auto open = tmpl.find("{{", pos);
        if (open == std::string::npos) break;
        const auto close = tmpl.find("}}", open + 2);
        if (close == std::string::npos) throw_bad_input("template '{}': unclosed '{{{{'", tmpl);
        json v = lookup(tmpl.substr(open + 2, close - open - 2), doc, tmpl);
        if (open == 0 && close + 2 == tmpl.size()) {
            lone = true;
            lone_value = std::move(v);
            break;
        }
        out += tmpl.substr(pos, open - pos);
        out += as_text(v);
        pos = close + 2;
    }
    if (lone) return lone_value;
    out += tmpl.substr(pos);
    return out;
}

std::string render_text(const std::string& tmpl, const json& doc) {
    return as_text(render(tmpl, doc));
}

// ---- few-shot sampling ---------------------------------------------------------------------------

// CPython's random.Random: MT19937 seeded by init_by_array over the seed's 32-bit words,
// getrandbits, _randbelow_with_getrandbits and sample() (3.11 algorithm).
struct FewshotSampler::Rng {
    std::uint32_t mt[624];
    int mti = 625;

    explicit Rng(std::uint64_t seed) {
        std::vector<std::uint32_t> key;
        if (seed == 0) key.push_back(0);
        while (seed != 0) {
            key.push_back(static_cast<std::uint32_t>(seed & 0xffffffffu));
            seed >>= 32;
        }
        init_genrand(19650218u);
        std::size_t i = 1, j = 0;
        for (std::size_t k = std::max<std::size_t>(624, key.size()); k > 0; --k) {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525u)) + key[j] + static_cast<std::uint32_t>(j);
            if (++i >= 624) { mt[0] = mt[623]; i = 1; }
            if (++j >= key.size()) j = 0;
        }
        for (std::size_t k = 623; k > 0; --k) {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941u)) - static_cast<std::uint32_t>(i);
            if (++i >= 624) { mt[0] = mt[623]; i = 1; }
        }
        mt[0] = 0x80000000u;
    }
    void init_genrand(std::uint32_t s) {
        mt[0] = s;
        for (mti = 1; mti < 624; ++mti)
            mt[mti] = 1812433253u * (mt[mti - 1] ^ (mt[mti - 1] >> 30)) + static_cast<std::uint32_t>(mti);
    }
    std::uint32_t next() {
        static constexpr std::uint32_t mag01[2] = {0u, 0x9908b0dfu};
        if (mti >= 624) {
            int kk = 0;
            for (; kk < 624 - 397; ++kk) {
                const std::uint32_t y = (mt[kk] & 0x80000000u) | (mt[kk + 1] & 0x7fffffffu);
                mt[kk] = mt[kk + 397] ^ (y >> 1) ^ mag01[y & 1u];
            }
            for (; kk < 623; ++kk) {
                const std::uint32_t y = (mt[kk] & 0x80000000u) | (mt[kk + 1] & 0x7fffffffu);
                mt[kk] = mt[kk + (397 - 624)] ^ (y >> 1) ^ mag01[y & 1u];
            }
            const std::uint32_t y = (mt[623] & 0x80000000u) | (mt[0] & 0x7fffffffu);
            mt[623] = mt[396] ^ (y >> 1) ^ mag01[y & 1u];
            mti = 0;
        }
        std::uint32_t y = mt[mti++];
        y ^= (y >> 11);
        y ^= (y << 7) & 0x9d2c5680u;
        y ^= (y << 15) & 0xefc60000u;
        y ^= (y >> 18);
        return y;
    }
    std::uint64_t below(std::uint64_t n) {  // n >= 1, n < 2^32
        int k = 0;
        while ((n >> k) != 0) ++k;
        std::uint64_t r = next() >> (32 - k);
        while (r >= n) r = next() >> (32 - k);
        return r;
    }
    std::vector<std::size_t> sample(std::size_t n, std::size_t k) {
        std::vector<std::size_t> out(k);
        std::size_t setsize = 21;
        if (k > 5) setsize += static_cast<std::size_t>(std::pow(4.0, std::ceil(std::log(3.0 * static_cast<double>(k)) / std::log(4.0))));
        if (n <= setsize) {
            std::vector<std::size_t> pool(n);
            for (std::size_t i = 0; i < n; ++i) pool[i] = i;
            for (std::size_t i = 0; i < k; ++i) {
                const auto j = static_cast<std::size_t>(below(n - i));
                out[i] = pool[j];
                pool[j] = pool[n - i - 1];
            }
        } else {
            std::set<std::size_t> selected;
            for (std::size_t i = 0; i < k; ++i) {
                auto j = static_cast<std::size_t>(below(n));
                while (selected.count(j)) j = static_cast<std::size_t>(below(n));
                selected.insert(j);
                out[i] = j;
            }
        }
        return out;
    }
};

FewshotSampler::FewshotSampler(const Task& task)
    : task_(&task), rng_(std::make_unique<Rng>(static_cast<std::uint64_t>(task.def.fewshot_seed))) {}
FewshotSampler::~FewshotSampler() = default;

std::vector<const Doc*> FewshotSampler::sample(const Doc& doc) {
    const auto n = static_cast<std::size_t>(task_->def.num_fewshot);
    if (n == 0) return {};
    // The pool: the subtask's examples when items are split into subtasks.
    std::vector<const Doc*> pool;
    for (const auto& d : task_->fewshot_docs)
        if (d.subtask == doc.subtask) pool.push_back(&d);
    const std::size_t draw = std::min(pool.size(), n + (task_->fewshot_from_test ? 1 : 0));
    std::vector<const Doc*> drawn;
    if (task_->def.fewshot_sampler == "first_n") {
        drawn.assign(pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(draw));
    } else {
        for (auto i : rng_->sample(pool.size(), draw)) drawn.push_back(pool[i]);
    }
    std::vector<const Doc*> out;
    for (const Doc* d : drawn)
        if (!(task_->fewshot_from_test && d->fields == doc.fields) && out.size() < n) out.push_back(d);
    return out;
}

// ---- prompts, choices, targets ------------------------------------------------------------------

std::vector<std::string> doc_choices(const Task& task, const Doc& doc) {
    if (!task.def.choices.empty()) return task.def.choices;
    const json v = render(task.def.doc_to_choice, doc.fields);
    if (!v.is_array()) throw_bad_input("task '{}': doc_to_choice of item {} is not a list", task.def.name, doc.id);
    std::vector<std::string> out;
    for (const auto& c : v) out.push_back(as_text(c));
    return out;
}

std::vector<std::int64_t> doc_gold(const Task& task, const Doc& doc, const std::vector<std::string>& choices) {
    const json v = render(task.def.doc_to_target, doc.fields);
    auto one = [&](const json& x) -> std::int64_t {
        if (x.is_number_integer()) return x.get<std::int64_t>();
        const std::string s = as_text(x);
        auto it = std::find(choices.begin(), choices.end(), s);
        if (it != choices.end()) return it - choices.begin();
        // A digit string is an index, as Jinja renders {{label}} to text.
        if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return std::stoll(s);
        return -100;
    };
    std::vector<std::int64_t> gold;
    if (v.is_array()) {
        for (const auto& x : v) gold.push_back(one(x));
    } else {
        gold.push_back(one(v));
    }
    for (auto& g : gold)
        if (g < 0 || g >= static_cast<std::int64_t>(choices.size())) g = -100;  // lm-eval: counted wrong
    return gold;
}

std::vector<std::string> doc_references(const Task& task, const Doc& doc) {
    const json v = render(task.def.doc_to_target, doc.fields);
    std::vector<std::string> out;
    if (v.is_array()) {
        for (const auto& x : v) out.push_back(as_text(x));
    } else {
        out.push_back(as_text(v));
    }
    return out;
}

namespace {

// What a few-shot example shows as its answer (lm-eval's get_context).
std::string shot_target(const Task& task, const Doc& shot) {
    const std::string& tmpl = task.def.fewshot_target.empty() ? task.def.doc_to_target : task.def.fewshot_target;
    const json v = render(tmpl, shot.fields);
    if (v.is_array()) return v.empty() ? "" : as_text(v[0]);
    if (task.def.output_type == "multiple_choice" && !v.is_string()) {
        const auto choices = doc_choices(task, shot);
        const auto idx = v.get<std::int64_t>();
        if (idx < 0 || idx >= static_cast<std::int64_t>(choices.size()))
            throw_bad_input("task '{}': few-shot item {} has target index {} outside its choices", task.def.name, shot.id, idx);
        return choices[static_cast<std::size_t>(idx)];
    }
    if (task.def.output_type == "multiple_choice" && task.def.fewshot_target.empty()) {
        const std::string s = v.get<std::string>();
        const auto choices = doc_choices(task, shot);
        if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            const auto idx = std::stoull(s);
            if (idx < choices.size()) return choices[idx];
        }
        return s;
    }
    return as_text(v);
}

}  // namespace

std::string build_context(const Task& task, const Doc& doc, const std::vector<const Doc*>& shots) {
    const auto& d = task.def;
    std::string ctx = render_text(d.description, doc.fields);
    for (const Doc* shot : shots) {
        ctx += render_text(d.doc_to_text, shot->fields);
        ctx += d.target_delimiter;
        const std::string target = shot_target(task, *shot);
        if (!target.empty()) {
            ctx += target;
            ctx += d.fewshot_delimiter;
        }
    }
    ctx += render_text(d.doc_to_text, doc.fields);
    return ctx;
}

}  // namespace qbench::eval::tasks
