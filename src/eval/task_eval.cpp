#include <chrono>
#include <cmath>
#include <set>

#include "qbench/eval/tasks/code_sandbox.hpp"
#include "qbench/eval/tasks/evaluate.hpp"
#include "qbench/eval/tasks/ifeval.hpp"
#include "qbench/eval/tasks/scoring.hpp"
#include "qbench/stats/means.hpp"
#include "qbench/stats/proportion.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/hash.hpp"
#include "qbench/util/log.hpp"
#include "qbench/util/progress.hpp"

namespace qbench::eval::tasks {

std::string item_hash(const ItemRecord& r) {
    return r.doc_hash.substr(0, 16) + ":" + r.prompt_hash.substr(0, 16) + ":" + r.target_hash.substr(0, 16);
}

json ItemRecord::to_json() const {
    json j{{"doc_id", doc_id},         {"doc_hash", doc_hash}, {"prompt_hash", prompt_hash},
           {"target_hash", target_hash}, {"prompt", prompt},     {"target", target}};
    if (!subtask.empty()) j["subtask"] = subtask;
    if (!loglikelihoods.empty()) {
        j["loglikelihoods"] = loglikelihoods;
        j["is_greedy"] = is_greedy;
    }
    if (!responses.empty()) j["responses"] = responses;
    if (!filtered.empty()) j["filtered"] = filtered;
    j["scores"] = scores;
    if (!details.is_null()) j["details"] = details;
    return j;
}

ItemRecord ItemRecord::from_json(const json& j) {
    ItemRecord r;
    j.at("doc_id").get_to(r.doc_id);
    r.subtask = j.value("subtask", "");
    j.at("doc_hash").get_to(r.doc_hash);
    j.at("prompt_hash").get_to(r.prompt_hash);
    j.at("target_hash").get_to(r.target_hash);
    j.at("prompt").get_to(r.prompt);
    r.target = j.at("target");
    if (j.contains("loglikelihoods")) {
        for (const auto& x : j.at("loglikelihoods"))
            r.loglikelihoods.push_back(x.is_null() ? std::numeric_limits<double>::quiet_NaN() : x.get<double>());
        for (const auto& x : j.at("is_greedy")) r.is_greedy.push_back(x.get<bool>());
    }
    if (j.contains("responses")) j.at("responses").get_to(r.responses);
    if (j.contains("filtered")) j.at("filtered").get_to(r.filtered);
    for (const auto& [k, v] : j.at("scores").items())
        r.scores[k] = v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>();
    if (j.contains("details")) r.details = j.at("details");
    return r;
}

std::string item_id(const ItemRecord& r) {
    return r.subtask.empty() ? std::to_string(r.doc_id) : r.subtask + "/" + std::to_string(r.doc_id);
}

void to_json(json& j, const TaskSummary& s) {
    j = {{"name", s.name},
         {"output_type", s.output_type},
         {"num_fewshot", s.num_fewshot},
         {"data_sha256", s.data_sha256},
         {"metric_keys", s.metric_keys},
         {"subtasks", s.subtasks},
         {"note", s.note},
         {"items_total", s.items_total},
         {"item_ids", s.item_ids},
         {"group_size", s.group_size},
         {"seconds", s.seconds}};
}

void from_json(const json& j, TaskSummary& s) {
    j.at("name").get_to(s.name);
    j.at("output_type").get_to(s.output_type);
    j.at("num_fewshot").get_to(s.num_fewshot);
    j.at("data_sha256").get_to(s.data_sha256);
    j.at("metric_keys").get_to(s.metric_keys);
    j.at("subtasks").get_to(s.subtasks);
    j.at("note").get_to(s.note);
    j.at("items_total").get_to(s.items_total);
    j.at("item_ids").get_to(s.item_ids);
    j.at("group_size").get_to(s.group_size);
    j.at("seconds").get_to(s.seconds);
}

SamplesWriter::SamplesWriter(const std::filesystem::path& path) : path_(path) {
    std::filesystem::create_directories(path.parent_path());
    out_.open(path, std::ios::binary | std::ios::trunc);
    if (!out_) throw_runtime("{}: cannot open for writing", path.string());
}

void SamplesWriter::write(const ItemRecord& record) {
    out_ << record.to_json().dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
    out_.flush();
    if (!out_) throw_runtime("{}: write failed", path_.string());
}

namespace {

constexpr const char* kWeightPrefix = "weight:";  // per-item weights of micro-averaged metrics

report::TaskMetricResult aggregate_one(const std::string& key, const std::vector<const ItemRecord*>& items) {
    report::TaskMetricResult m;
    m.name = key;
    std::vector<double> xs;
    double wsum = 0.0, wx = 0.0;
    bool weighted = false;
    for (const auto* it : items) {
        auto s = it->scores.find(key);
        if (s == it->scores.end()) continue;
        double w = 1.0;
        if (auto wi = it->scores.find(kWeightPrefix + key); wi != it->scores.end()) {
            w = wi->second;
            weighted = true;
        }
        xs.push_back(s->second);
        wsum += w;
        wx += w * s->second;
        if (s->second != 0.0 && s->second != 1.0) m.binary = false;
    }
    m.n = static_cast<std::int64_t>(xs.size());
    const double nan = std::numeric_limits<double>::quiet_NaN();
    if (xs.empty() || wsum <= 0.0) {
        m.value = m.stderr_value = m.ci_lower = m.ci_upper = nan;
        return m;
    }
    m.value = wx / wsum;
    if (weighted) {
        // Micro-average over instructions: a proportion of sum(w) trials (lm-eval: stderr N/A).
        m.binary = false;
        m.stderr_value = nan;
        const auto trials = static_cast<std::int64_t>(std::llround(wsum));
        const auto iv = stats::wilson_proportion(std::clamp(m.value, 0.0, 1.0), std::max<std::int64_t>(trials, 1));
        m.ci_lower = iv.lower;
        m.ci_upper = iv.upper;
        return m;
    }
    if (xs.size() >= 2) {
        const auto est = stats::mean_estimate(xs);
        m.stderr_value = est.se;
        if (!m.binary) {
            m.ci_lower = est.ci.lower;
            m.ci_upper = est.ci.upper;
        }
    } else {
        m.stderr_value = nan;
        m.ci_lower = m.ci_upper = nan;
    }
    if (m.binary) {
        const auto k = static_cast<std::int64_t>(std::llround(m.value * static_cast<double>(m.n)));
        const auto iv = stats::wilson(k, m.n);
        m.ci_lower = iv.lower;
        m.ci_upper = iv.upper;
    }
    return m;
}

std::vector<std::string> metric_keys(const TaskDefinition& d) {
    std::vector<std::string> keys;
    std::vector<std::string> filters;
    for (const auto& f : d.filters) filters.push_back(f.name);
    if (filters.empty()) filters.push_back("none");
    for (const auto& m : d.metrics) {
        if (m.name == "acc" || m.name == "acc_norm" || m.name == "acc_bytes") {
            keys.push_back(m.name);
        } else if (m.name == "exact_match") {
            for (const auto& f : filters) keys.push_back("exact_match," + f);
        } else if (m.name == "pass_at_k") {
            for (auto k : m.k) keys.push_back("pass@" + std::to_string(k));
        } else if (m.name == "ifeval") {
            for (const char* k : {"prompt_level_strict_acc", "inst_level_strict_acc", "prompt_level_loose_acc",
                                  "inst_level_loose_acc"})
                keys.push_back(k);
        }
    }
    return keys;
}

void score_multiple_choice(const Task& task, std::vector<ItemRecord>& items, const std::vector<const Doc*>& docs,
                           LanguageModel& lm) {
    std::vector<LoglikelihoodRequest> requests;
    std::vector<std::vector<std::string>> choices(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
        choices[i] = doc_choices(task, *docs[i]);
        for (const auto& c : choices[i]) requests.push_back({items[i].prompt, task.def.target_delimiter + c});
    }
    const auto results = lm.loglikelihood(requests);
    std::size_t at = 0;
    for (std::size_t i = 0; i < items.size(); ++i) {
        auto& it = items[i];
        for (std::size_t c = 0; c < choices[i].size(); ++c, ++at) {
            if (!std::isfinite(results[at].logprob)) {
                throw_runtime("task '{}' item {} choice {}: the loglikelihood is {}{}", task.def.name,
                              it.subtask.empty() ? std::to_string(it.doc_id) : it.subtask + "/" + std::to_string(it.doc_id),
                              c, results[at].logprob, results[at].nonfinite.empty() ? "" : ": " + results[at].nonfinite);
            }
            it.loglikelihoods.push_back(results[at].logprob);
            it.is_greedy.push_back(results[at].is_greedy);
        }
        const auto gold = doc_gold(task, *docs[i], choices[i]);
        it.target = gold.size() == 1 ? json(gold[0]) : json(gold);
        const auto s = score_choices(it.loglikelihoods, choices[i], gold);
        it.details = json{{"pred", s.pred}, {"pred_norm", s.pred_norm}, {"pred_bytes", s.pred_bytes}};
        for (const auto& m : task.def.metrics) {
            if (m.name == "acc") it.scores["acc"] = s.acc;
            if (m.name == "acc_norm") it.scores["acc_norm"] = s.acc_norm;
            if (m.name == "acc_bytes") it.scores["acc_bytes"] = s.acc_bytes;
        }
    }
}

std::string sandbox_note() {
    return network_isolation_available()
               ? "code ran in a python3 sandbox: own process group, temp dir, rlimits, no network (network namespace)"
               : "code ran in a python3 sandbox: own process group, temp dir, rlimits; NETWORK NOT ISOLATED (this "
                 "kernel refused a network namespace)";
}

void score_generation(const Task& task, std::vector<ItemRecord>& items, const std::vector<const Doc*>& docs,
                      LanguageModel& lm, const TaskRunOptions& opt, std::uint64_t seed) {
    const auto& g = *task.def.generation;
    GenerationOptions o;
    o.until = g.until.value_or(std::vector<std::string>{task.def.fewshot_delimiter});
    o.max_gen_toks = g.max_gen_toks;
    o.temperature = g.temperature;
    o.top_p = g.top_p;
    o.top_k = g.top_k;
    o.seed = seed;
    const auto repeats = static_cast<std::size_t>(g.repeats);
    std::vector<std::string> prompts;
    for (const auto& it : items)
        for (std::size_t r = 0; r < repeats; ++r) prompts.push_back(it.prompt);
    const auto responses = lm.generate(prompts, o);
    for (std::size_t i = 0; i < items.size(); ++i) {
        auto& it = items[i];
        const Doc& doc = *docs[i];
        it.responses.assign(responses.begin() + static_cast<std::ptrdiff_t>(i * repeats),
                            responses.begin() + static_cast<std::ptrdiff_t>((i + 1) * repeats));
        const std::string& first = it.responses[0];
        std::vector<std::pair<std::string, std::string>> filtered;
        if (task.def.filters.empty()) filtered.emplace_back("none", first);
        for (const auto& f : task.def.filters) filtered.emplace_back(f.name, apply_filters(f.steps, first));
        for (const auto& [name, value] : filtered) it.filtered[name] = value;
        for (const auto& m : task.def.metrics) {
            if (m.name == "exact_match") {
                const auto refs = doc_references(task, doc);
                it.target = refs.size() == 1 ? json(refs[0]) : json(refs);
                for (const auto& [name, value] : filtered) {
                    double best = 0.0;
                    for (const auto& r : refs) best = std::max(best, exact_match(m, value, r));
                    it.scores["exact_match," + name] = best;
                }
            } else if (m.name == "pass_at_k") {
                const auto& code = *task.def.code;
                const std::string prefix = render_text(code.program_prefix, doc.fields);
                const std::string test = render_text(code.test, doc.fields);
                it.target = test;
                SandboxLimits limits;
                limits.timeout_s = opt.code_timeout_s;
                std::int64_t passed = 0;
                json runs = json::array();
                for (const auto& resp : it.responses) {
                    const auto r = run_python_sandboxed(prefix + resp + "\n" + test, limits);
                    passed += r.passed ? 1 : 0;
                    runs.push_back(r.status);
                }
                it.details = json{{"runs", runs}, {"passed", passed}};
                for (auto k : m.k)
                    it.scores["pass@" + std::to_string(k)] =
                        pass_at_k(static_cast<std::int64_t>(repeats), passed, k);
            } else if (m.name == "ifeval") {
                const auto s = score_ifeval(doc.fields, first);
                auto frac = [](const std::vector<bool>& v) {
                    if (v.empty()) return 1.0;
                    return static_cast<double>(std::count(v.begin(), v.end(), true)) / static_cast<double>(v.size());
                };
                const auto n = static_cast<double>(s.strict.size());
                it.scores["prompt_level_strict_acc"] = s.prompt_strict ? 1.0 : 0.0;
                it.scores["inst_level_strict_acc"] = frac(s.strict);
                it.scores[std::string(kWeightPrefix) + "inst_level_strict_acc"] = n;
                it.scores["prompt_level_loose_acc"] = s.prompt_loose ? 1.0 : 0.0;
                it.scores["inst_level_loose_acc"] = frac(s.loose);
                it.scores[std::string(kWeightPrefix) + "inst_level_loose_acc"] = n;
                it.details = json{{"strict", s.strict}, {"loose", s.loose}};
                it.target = doc.fields.value("instruction_id_list", json::array());
            }
        }
    }
}

}  // namespace

std::vector<report::TaskMetricResult> aggregate_scores(const std::vector<std::string>& keys,
                                                       const std::vector<ItemRecord>& items) {
    std::vector<const ItemRecord*> ptrs;
    for (const auto& it : items) ptrs.push_back(&it);
    std::vector<report::TaskMetricResult> out;
    for (const auto& k : keys) out.push_back(aggregate_one(k, ptrs));
    return out;
}

TaskRecords run_task(const Task& task, LanguageModel& lm, const TaskRunOptions& opt) {
    const auto& d = task.def;
    if (d.code && !opt.allow_code_execution) {
        throw_bad_input("task '{}' runs model-generated code; it runs only with --allow-code-execution (or "
                        "tasks.allow_code_execution: true in the config)",
                        d.name);
    }
    const auto started = std::chrono::steady_clock::now();
    std::size_t n = task.docs.size();
    if (opt.limit > 0) n = std::min(n, static_cast<std::size_t>(opt.limit));
    // Every item's prompt in document order (the few-shot sampler draws for each), then the
    // selected chunks scored.
    const auto chunk = static_cast<std::size_t>(std::max<std::int64_t>(1, opt.items_per_chunk));
    FewshotSampler sampler(task);
    TaskRecords out;
    std::vector<ItemRecord> prepared;
    std::vector<std::size_t> positions;
    for (std::size_t i = 0; i < n; ++i) {
        const Doc& doc = task.docs[i];
        ItemRecord it;
        it.doc_id = doc.id;
        it.subtask = doc.subtask;
        it.prompt = build_context(task, doc, sampler.sample(doc));
        out.summary.item_ids.push_back(item_id(it));
        if (opt.select && !opt.select(out.summary.item_ids[i - i % chunk])) continue;
        it.prompt_hash = sha256_hex(it.prompt);
        it.doc_hash = sha256_hex(doc.fields.dump(-1, ' ', false, json::error_handler_t::replace));
        prepared.push_back(std::move(it));
        positions.push_back(i);
    }
    out.items.reserve(prepared.size());
    const std::uint64_t repeats = d.generation ? static_cast<std::uint64_t>(d.generation->repeats) : 1;
    Progress progress("task " + d.name, prepared.size(), "items");
    for (std::size_t start = 0; start < prepared.size(); start += chunk) {
        const std::size_t end = std::min(prepared.size(), start + chunk);
        std::vector<ItemRecord> items(std::make_move_iterator(prepared.begin() + static_cast<std::ptrdiff_t>(start)),
                                      std::make_move_iterator(prepared.begin() + static_cast<std::ptrdiff_t>(end)));
        std::vector<const Doc*> docs;
        for (std::size_t i = start; i < end; ++i) docs.push_back(&task.docs[positions[i]]);
        if (d.output_type == "multiple_choice") {
            score_multiple_choice(task, items, docs, lm);
        } else {
            // Item p's repeat r samples with seed + p * repeats + r, whichever items run with it:
            // one call per run of consecutive positions.
            std::size_t run = 0;
            while (run < items.size()) {
                std::size_t stop = run + 1;
                while (stop < items.size() && positions[start + stop] == positions[start + stop - 1] + 1) ++stop;
                if (d.generation->temperature <= 0.0) stop = items.size();  // greedy: no seed
                std::vector<ItemRecord> part(std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(run)),
                                             std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(stop)));
                const std::vector<const Doc*> part_docs(docs.begin() + static_cast<std::ptrdiff_t>(run),
                                                        docs.begin() + static_cast<std::ptrdiff_t>(stop));
                score_generation(task, part, part_docs, lm, opt, opt.seed + positions[start + run] * repeats);
                std::move(part.begin(), part.end(), items.begin() + static_cast<std::ptrdiff_t>(run));
                run = stop;
            }
        }
        for (std::size_t k = 0; k < items.size(); ++k) {
            auto& it = items[k];
            it.target_hash = sha256_hex(it.target.dump(-1, ' ', false, json::error_handler_t::replace));
            if (opt.on_item) opt.on_item(it);
            out.items.push_back(std::move(it));
            out.positions.push_back(static_cast<std::int64_t>(positions[start + k]));
        }
        progress.advance(end - start);
    }
    progress.finish();
    auto& s = out.summary;
    s.name = d.name;
    s.output_type = d.output_type;
    s.num_fewshot = d.num_fewshot;
    s.data_sha256 = task.data_sha256;
    s.metric_keys = metric_keys(d);
    s.subtasks = !d.subtask_field.empty();
    if (d.code) s.note = sandbox_note();
    s.items_total = static_cast<std::int64_t>(n);
    s.group_size = static_cast<std::int64_t>(chunk);
    s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return out;
}

report::TaskResult aggregate_task(const TaskSummary& s, const std::vector<ItemRecord>& all) {
    report::TaskResult r;
    r.name = s.name;
    r.output_type = s.output_type;
    r.num_fewshot = s.num_fewshot;
    r.n = static_cast<std::int64_t>(all.size());
    r.data_sha256 = s.data_sha256;
    const auto& keys = s.metric_keys;
    r.metrics = aggregate_scores(keys, all);
    for (const auto& it : all) {
        r.item_ids.push_back(item_id(it));
        r.item_hashes.push_back(item_hash(it));
    }
    for (const auto& k : keys) {
        auto& xs = r.item_scores[k];
        for (const auto& it : all) {
            const auto sc = it.scores.find(k);
            xs.push_back(sc != it.scores.end() ? sc->second : std::numeric_limits<double>::quiet_NaN());
        }
    }
    if (s.subtasks) {
        std::map<std::string, std::vector<ItemRecord>> by;
        for (const auto& it : all) by[it.subtask].push_back(it);
        for (const auto& [name, items] : by) {
            report::SubtaskResult sub;
            sub.name = name;
            sub.n = static_cast<std::int64_t>(items.size());
            sub.metrics = aggregate_scores(keys, items);
            r.subtasks.push_back(std::move(sub));
        }
    }
    r.note = s.note;
    r.seconds = s.seconds;
    return r;
}

report::TaskResult evaluate_task(const Task& task, LanguageModel& lm, const TaskRunOptions& opt) {
    const auto records = run_task(task, lm, opt);
    return aggregate_task(records.summary, records.items);
}

}  // namespace qbench::eval::tasks
