#include "qbench/eval/runner.hpp"

#include "qbench/report/reporter.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <cstdlib>

#include "qbench/eval/api.hpp"
#include "qbench/eval/kld.hpp"
#include "qbench/eval/model_env.hpp"
#include "qbench/eval/perplexity.hpp"
#include "qbench/eval/perplexity_input.hpp"
#include "qbench/eval/records.hpp"
#include "qbench/plan/assemble.hpp"
#include "qbench/plan/plan.hpp"
#include "qbench/plan/shard.hpp"
#include "qbench/plan/unit_store.hpp"
#include "qbench/model/runtime.hpp"
#include "qbench/perf/scenarios.hpp"
#include "qbench/eval/local_model.hpp"
#include "qbench/eval/served_model.hpp"
#include "qbench/report/serving.hpp"
#include "qbench/serve/load.hpp"
#include "qbench/tokenizer/tokenizer.hpp"
#include "qbench/eval/tasks/decoder_lm.hpp"
#include "qbench/eval/tasks/evaluate.hpp"
#include "qbench/report/derived.hpp"
#include "qbench/report/gates.hpp"
#include "qbench/build_config.hpp"
#include "qbench/util/build_info.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"
#include "qbench/util/hash.hpp"
#include "qbench/util/log.hpp"
#include "qbench/util/strings.hpp"

namespace qbench::eval {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

perf::ThroughputOptions throughput_options(const config::RunConfig& c) {
    return eval::throughput_options(*c.throughput, c.seed);
}

// KLD vs the baseline while a variant runs the KLD protocol: the baseline writes its top-k
// distributions, every other variant scores against them. Returns the observer to pass to the
// perplexity scorer (null when there is nothing to do).
struct KldSession {
    std::unique_ptr<KldBaseWriter> writer;
    std::unique_ptr<KldScorer> scorer;
    std::string unavailable;  // why this variant gets no KLD (reported, never silently absent)

    WindowObserver* observer() const {
        return writer ? static_cast<WindowObserver*>(writer.get()) : static_cast<WindowObserver*>(scorer.get());
    }
};

KldSession start_kld(const config::RunConfig& c, const config::VariantConfig& v, const PerplexityOptions& o,
                     const std::string& data_sha, std::int64_t vocab, const fs::path& out_dir,
                     std::int64_t max_tokens) {
    KldSession session;
    const auto& pc = *c.perplexity;
    KldFileInfo info;
    info.baseline = c.baseline().name;
    info.protocol = o.protocol;
    info.data_sha256 = data_sha;
    info.max_length = o.max_length;
    info.stride = o.protocol == "sliding" ? o.stride : 0;
    info.limit = o.limit;
    info.vocab_size = vocab;
    info.top_k = pc.kld_top_k > 0 ? std::min(pc.kld_top_k, vocab) : default_kld_top_k(vocab);
    const fs::path path = out_dir / plan::kld_base_relpath(info.baseline, o.protocol);
    if (v.baseline) {
        if (pc.kld_top_k <= 0) {
            std::string why;
            info.top_k = kld_top_k_for_disk(info, max_tokens, path.parent_path(), &why);
            if (!why.empty()) log::warn("variant '{}': KLD: {}", v.name, why);
        }
        log::info("variant '{}': keeping the top-{} log-probs of {} tokens for KLD in {}", v.name, info.top_k,
                  o.protocol, path.string());
        session.writer = std::make_unique<KldBaseWriter>(path, info);
        return session;
    }
    if (!fs::exists(path)) {
        session.unavailable = c.baseline().served()
                                  ? "the baseline is served, and a server returns only its top-k log-probs"
                                  : fmt::format("the baseline's distributions ({}) are missing", path.string());
        log::warn("variant '{}': no KLD: {}", v.name, session.unavailable);
        return session;
    }
    try {
        session.scorer = std::make_unique<KldScorer>(path, info);
    } catch (const Error& e) {
        session.unavailable = e.what();
        log::warn("variant '{}': no KLD: {}", v.name, e.what());
    }
    return session;
}

// Where task names are looked up: the config's task_dirs, $QBENCH_TASKS_DIR, the built-ins.
std::vector<fs::path> task_search_dirs(const config::TasksConfig& tc) {
    std::vector<fs::path> dirs = tc.task_dirs;
    if (const char* env = std::getenv("QBENCH_TASKS_DIR"); env != nullptr && *env != '\0') dirs.emplace_back(env);
    dirs.emplace_back(builtin_tasks_dir());
    return dirs;
}

// The fingerprints of the planner's unit keys.
plan::Fingerprints fingerprints(const config::RunConfig& c) {
    plan::Fingerprints f;
    f.model = [](const fs::path& p) { return plan::path_fingerprint(p); };
    f.data = [](const fs::path& p) { return sha256_file_hex(p); };
    f.task = [&c](const std::string& name) {
        // The task's YAML and its data; a task that does not resolve fails when its unit runs.
        try {
            const fs::path yaml = tasks::find_task(name, task_search_dirs(*c.tasks));
            const tasks::Task task = tasks::load_task(yaml, c.tasks->data_dir, c.tasks->num_fewshot);
            return sha256_file_hex(yaml) + ":" + task.data_sha256;
        } catch (const Error& e) {
            return std::string("unresolved: ") + e.what();
        }
    };
    return f;
}

// One variant's model and what its units share, loaded when the first unit needs it.
class VariantRun {
public:
    // `shard`: score only this shard's items of the split units (plan::item_shard).
    VariantRun(const config::RunConfig& c, const config::VariantConfig& v, std::optional<plan::ShardSpec> shard)
        : c_(c), v_(v), shard_(std::move(shard)) {}

    ModelEnv& env() {
        if (!env_) {
            log::info("variant '{}': loading {}", v_.name, v_.model.string());
            ModelRequest request{v_.model, c_.device, v_.dtype, v_.quantize};
            request.gguf_dequantize = v_.gguf_dequantize;
            env_ = load_model_env(request);
        }
        return *env_;
    }

    // A served variant's client side: the server (its model listing read once) and the tokenizer
    // whose ids every request carries.
    ServedModel& served() {
        if (!served_) {
            const auto& s = *v_.server;
            log::info("variant '{}': served by {} (model {})", v_.name, serve::redact_url(s.url),
                      s.model.empty() ? "the only one listed" : s.model);
            served_ = std::make_unique<ServedModel>(
                server_spec(), v_.server_tokenizer ? make_server_tokenizer(server_spec()) : tokenizer::load_tokenizer(v_.tokenizer),
                s.top_logprobs);
        }
        return *served_;
    }

    // Runs one unit; returns its result and the artifacts it wrote (relative to the output dir).
    std::pair<json, std::vector<std::string>> run(const plan::WorkUnit& u) {
        if (u.section == plan::kModel) return {json(v_.served() ? served_summary() : env().summary), {}};
        if (u.section == plan::kPerplexity) return perplexity(u);
        if (u.section == plan::kThroughput) return {v_.served() ? served_load() : json(throughput()), {}};
        return task(u);
    }

private:
    serve::ServerSpec server_spec() const {
        const auto& s = *v_.server;
        serve::ServerSpec spec;
        spec.url = s.url;
        spec.model = s.model;
        spec.api_key_env = s.api_key_env;
        spec.timeout_s = s.timeout_s;
        spec.max_retries = s.max_retries;
        return spec;
    }

    report::ModelSummary served_summary() {
        const auto d = served().describe();
        report::ModelSummary m;
        m.path = d.device + " " + d.name;
        m.format = "served";
        m.device = d.device;
        m.dtype = d.dtype;
        m.dtype_reason = "chosen by the server";
        m.quantization = "as served";
        log::info("variant '{}': the server lists {} (max_model_len {})", v_.name, d.name,
                  d.max_context > 0 ? std::to_string(d.max_context) : std::string("not given"));
        return m;
    }

    Encoder encoder() {
        if (v_.served()) {
            const auto& tok = served().tokenizer();
            return [&tok](const std::string& text, bool add_special) { return tok.encode(text, add_special); };
        }
        return env().encoder();
    }

    // A served variant's throughput unit: the end-to-end scenario's prompts, arrivals and output
    // length sent to its server as streamed completions (token-id prompts from its tokenizer, so
    // the server sees the ids a local run would), measured as its client.
    json served_load() {
        const auto& t = *c_.throughput;
        if (t.prompts.empty()) {
            throw_bad_input("variant '{}': a served variant's throughput is a load test of its server and needs "
                            "throughput.prompts (decode and prefill micro-benchmarks are local only)", v_.name);
        }
        serve::LoadOptions o;
        o.arrival = t.arrival;
        o.rate_per_s = t.rate_per_s;
        o.requests = t.requests;
        o.max_new_tokens = t.max_new_tokens;
        o.ignore_eos = true;  // exactly max_new_tokens, as the local end-to-end scenario generates
        o.concurrency = v_.server->concurrency;
        o.seed = static_cast<std::uint64_t>(c_.seed);
        serve::validate(o);
        std::vector<serve::LoadPrompt> prompts;
        for (auto& ids : load_prompts(t.prompts, encoder())) prompts.push_back({"", std::move(ids)});
        serve::Client client(server_spec());
        auto r = serve::run_load(client, prompts, o);
        log::info("variant '{}': served load {} requests ok of {}, {:.1f} output tokens/s, TTFT P50 {:.1f} ms", v_.name,
                  r.requests_ok, r.requests_sent, r.output_tokens_per_s, r.ttft.p50_ms);
        for (const auto& w : r.warnings) log::warn("variant '{}': {}", v_.name, w);
        if (r.requests_ok == 0) {
            throw_runtime("variant '{}': every request of the load test failed ({})", v_.name,
                          r.failure_reasons.empty() ? std::string("no reason given") : r.failure_reasons.front());
        }
        return json{{"serving", r}};
    }

    // Whether this process scores the item of `u` with stable key `key` (always, unsharded).
    bool mine(const plan::WorkUnit& u, const std::string& key) const {
        return !shard_ || plan::item_shard(u, key, shard_->count) == shard_->index;
    }

    PerplexityOptions options_for(const std::string& protocol) {
        const auto& pc = *c_.perplexity;
        PerplexityOptions o;
        o.protocol = protocol;
        o.max_length = pc.max_length;
        o.stride = pc.stride;
        o.batch_size = pc.batch_size;
        o.limit = pc.limit;
        if (v_.served()) {
            // What ModelEnv::apply_special_tokens does for a local model, from the tokenizer alone.
            const auto& tok = served().tokenizer();
            o.chunk_bos = tok.add_bos() ? tok.bos_id() : std::nullopt;
            o.prefix_token = tok.bos_id() ? tok.bos_id() : tok.eos_id();
            const auto d = served().describe();
            if (d.max_context > 0 && o.max_length > d.max_context) {
                throw_bad_input("variant '{}': perplexity.max_length {} exceeds the server's max_model_len {} for {}",
                                v_.name, o.max_length, d.max_context, d.name);
            }
        } else {
            env().apply_special_tokens(o);
        }
        return o;
    }

    const PerplexityInput& input() {
        if (!input_) {
            const auto& pc = *c_.perplexity;
            input_ = load_perplexity_input(pc.data, encoder());
            data_sha_ = sha256_file_hex(pc.data);
            // Every protocol's windows first (cheap), so a protocol the data cannot serve fails
            // before any model time is spent on the others.
            for (const auto& protocol : pc.protocols) {
                try {
                    make_windows(*input_, options_for(protocol), nullptr);
                } catch (const Error& e) {
                    throw Error(e.code(), fmt::format("{}: {}", pc.data.string(), e.what()));
                }
            }
        }
        return *input_;
    }

    std::pair<json, std::vector<std::string>> perplexity(const plan::WorkUnit& u) {
        const auto& pc = *c_.perplexity;
        const PerplexityInput& in = input();
        const PerplexityOptions o = options_for(u.item);
        KldSession kld;
        json out;
        if (u.kld && v_.served() && v_.baseline) {
            // A server lists at most its top-k log-probs per position: no distributions to write.
            log::warn("variant '{}': the baseline is served: a server returns only its top-k log-probs, so no "
                      "variant gets a KLD", v_.name);
        } else if (u.kld) {
            std::int64_t vocab = v_.served() ? served().describe().vocab_size : env().decoder->config().vocab_size;
            if (v_.served()) {
                // The baseline's vocabulary (its model's, possibly padded beyond the tokenizer's
                // ids; a server tokenizer does not know its size): the variant lists ids in it.
                const fs::path base = c_.output_dir / plan::kld_base_relpath(c_.baseline().name, o.protocol);
                if (fs::exists(base)) vocab = read_kld_info(base).vocab_size;
            }
            // Every protocol scores each token at most once: the input's tokens bound the file.
            std::int64_t max_tokens = static_cast<std::int64_t>(in.joined.size());
            for (const auto* docs : {&in.documents, &in.plain}) {
                std::int64_t n = 0;
                for (const auto& d : *docs) n += static_cast<std::int64_t>(d.size());
                max_tokens = std::max(max_tokens, n);
            }
            kld = start_kld(c_, v_, o, data_sha_, vocab, c_.output_dir, max_tokens);
        }
        PerplexityOptions so = o;
        // A served variant lists only its top-k: the scorer bounds the KLD from below with them.
        so.observer_takes_top_k = v_.served();
        std::function<bool(std::size_t)> select;
        // Whole batches (group_size consecutive windows) per shard, keyed by their first window.
        const auto group = static_cast<std::size_t>(o.batch_size);
        if (shard_) select = [&](std::size_t w) { return mine(u, std::to_string(w - w % group)); };
        std::optional<LocalModel> local;
        if (!v_.served()) local.emplace(*env().decoder, nullptr);
        lm::LanguageModel& model = v_.served() ? static_cast<lm::LanguageModel&>(served()) : *local;
        const PerplexityRecords records = score_perplexity(model, in, so, kld.observer(), select);
        auto r = aggregate_perplexity(records);
        std::vector<std::string> artifacts;
        out["records"]["perplexity"] = records;
        if (kld.writer) {
            kld.writer->finish();
            artifacts.push_back(plan::kld_base_relpath(v_.name, o.protocol).string());
        }
        if (kld.scorer) {
            if (auto kr = kld.scorer->finish_records()) {
                out["records"]["kld"] = *kr;
                if (auto k = aggregate_kld(*kr)) {
                    log::info("variant '{}': KLD {:.6f} [{:.6f}, {:.6f}] over {} tokens (top-{}{}), same top {:.2f}%",
                              v_.name, k->kld_mean, k->kld_ci_lower, k->kld_ci_upper, k->tokens, k->top_k,
                              k->exact ? ", exact" : " + tail, a lower bound", 100 * k->same_top);
                    out["kld"] = *k;
                } else {
                    log::warn("variant '{}': no KLD: no scored tokens{}", v_.name, shard_ ? " in this shard" : "");
                }
            } else {
                log::warn("variant '{}': no KLD: {}", v_.name, kld.scorer->error());
                out["kld_unavailable"] = kld.scorer->error();
            }
        }
        if (!kld.unavailable.empty()) out["kld_unavailable"] = kld.unavailable;
        r.data_path = pc.data.string();
        r.data_sha256 = data_sha_;
        log::info("variant '{}': {} perplexity {:.4f} over {} tokens ({:.1f} s)", v_.name, u.item, r.ppl,
                  r.tokens_scored, r.seconds);
        out["perplexity"] = r;
        return {out, artifacts};
    }

    report::ThroughputResult throughput() {
        const auto options = throughput_options(c_);
        std::vector<std::vector<std::int64_t>> prompts;
        if (!options.prompts.empty()) prompts = load_prompts(options.prompts, env().encoder());
        LocalModel local(*env().decoder, env().tokenizer.get(), {v_.model.string(), {}, options.cuda_graph});
        auto t = perf::run_throughput(*env().decoder, options, prompts, &local);
        for (const auto& d : t.decode) {
            log::info("variant '{}': decode batch {} at context {}: {:.1f} tokens/s", v_.name, d.batch_size,
                      d.context_tokens, d.tokens_per_s);
        }
        for (const auto& w : t.warnings) log::warn("variant '{}': {}", v_.name, w);
        return t;
    }

    // One task; per-item records go to <out>/samples/<variant>/<task>.jsonl as items finish.
    std::pair<json, std::vector<std::string>> task(const plan::WorkUnit& u) {
        const std::string& name = u.item;
        const auto& tc = *c_.tasks;
        if (v_.served()) {
            lm_ = &served();
        } else if (!local_lm_) {
            ModelEnv& e = env();
            if (!e.tokenizer) {
                throw_bad_input("{}: tasks need the model's tokenizer{}", v_.model.string(),
                                e.tokenizer_error.empty() ? " (no tokenizer.json or tokenizer.model)"
                                                          : ": " + e.tokenizer_error);
            }
            LocalModelOptions lo;
            lo.name = v_.model.string();
            lo.tasks.batch_size = tc.batch_size;
            lo.tasks.max_length = tc.max_length;
            local_lm_ = std::make_unique<LocalModel>(*e.decoder, e.tokenizer.get(), lo);
            lm_ = local_lm_.get();
        }
        const fs::path yaml = tasks::find_task(name, task_search_dirs(tc));
        tasks::Task task = tasks::load_task(yaml, tc.data_dir, tc.num_fewshot);
        if (tc.max_gen_toks > 0 && task.def.generation) task.def.generation->max_gen_toks = tc.max_gen_toks;
        const fs::path samples_rel = fs::path("samples") / v_.name / (task.def.name + ".jsonl");
        tasks::SamplesWriter writer(c_.output_dir / samples_rel);
        tasks::TaskRunOptions o;
        o.limit = tc.limit;
        o.allow_code_execution = tc.allow_code_execution;
        o.seed = static_cast<std::uint64_t>(c_.seed);
        o.code_timeout_s = tc.code_timeout_s;
        o.on_item = [&writer](const tasks::ItemRecord& r) { writer.write(r); };
        // Chunks of batch_size items scored together, keyed by their first item's id.
        o.items_per_chunk = tc.batch_size;
        if (shard_) o.select = [&](const std::string& id) { return mine(u, id); };
        const auto records = tasks::run_task(task, *lm_, o);
        auto r = tasks::aggregate_task(records.summary, records.items);
        r.data_path = (yaml.parent_path() / task.def.data).string();
        r.samples_path = samples_rel.string();
        for (const auto& m : r.metrics)
            log::info("variant '{}': task {} {} = {:.4f} (n = {})", v_.name, task.def.name, m.name, m.value, m.n);
        json out = {{"task", r}, {"records", {{"summary", records.summary}, {"positions", records.positions}}}};
        return {out, {samples_rel.string()}};
    }

    const config::RunConfig& c_;
    const config::VariantConfig& v_;
    std::optional<ModelEnv> env_;
    std::optional<PerplexityInput> input_;
    std::string data_sha_;
    std::unique_ptr<LocalModel> local_lm_;
    std::unique_ptr<ServedModel> served_;
    lm::LanguageModel* lm_ = nullptr;
    std::optional<plan::ShardSpec> shard_;
};

}  // namespace

fs::path builtin_tasks_dir() {
    return QBENCH_BUILTIN_TASKS_DIR;
}

RunOutcome run_benchmark(const config::RunConfig& c, report::RunContext context, const RunnerOptions& options) {
    model::set_threads(static_cast<int>(c.threads));
    torch::manual_seed(static_cast<std::uint64_t>(c.seed));
    fill_runtime_context(context, c.device);
    context.seed = c.seed;
    context.config = c.effective;
    context.config_sha256 = c.sha256;
    const plan::Fingerprints fps = fingerprints(c);
    std::vector<plan::WorkUnit> units = plan::plan_run(c, fps);
    plan::UnitStore store(c.output_dir);
    if (!options.resume) store.clear();
    if (options.shard) {
        // The header first, so that a shard directory names its shard and plan from the start; a
        // retried worker rewrites it (and, without --resume, its units) in place.
        const auto& s = *options.shard;
        const auto header = plan::shard_header(c, options.config_text, units, fps, s);
        fs::create_directories(c.output_dir);
        write_file_atomic(c.output_dir / plan::kShardHeader, header.dump(1));
        std::erase_if(units, [&](const plan::WorkUnit& u) { return !plan::unit_in_shard(u, s); });
        log::info("shard {}/{} ({}): {} of the run's units, this shard's windows and items of each{}", s.index,
                  s.count, s.source, units.size(),
                  c.throughput ? (s.index == 0 ? ", throughput included (shard 0 only)" : ", no throughput (shard 0 only)")
                               : "");
    }
    // A shard holds only part of the results, so the gates are judged by the merge, not here.
    const auto gates = options.shard ? decltype(report::gate_specs(context)){} : report::gate_specs(context);
    std::map<std::string, plan::Failure> failures;
    RunOutcome outcome;
    outcome.report.context = std::move(context);
    // The report is rebuilt from the unit results after each unit, so an interrupted run keeps
    // a valid report of everything finished.
    auto write = [&] {
        auto& rep = outcome.report;
        rep.variants = plan::assemble(c, units, store, failures);
        rep.context.end_time = utc_now_iso8601();
        outcome.derived = report::derive(rep.variants, gates);
        report::write_report(rep, outcome.derived, c.output_dir);
    };
    for (const auto* v : plan::run_order(c)) {
        std::vector<const plan::WorkUnit*> pending;
        for (const auto& u : units) {
            if (u.variant == v->name && !store.done(u)) pending.push_back(&u);
        }
        if (pending.empty()) {
            log::info("variant '{}': kept from the previous run (--resume)", v->name);
            continue;
        }
        VariantRun run(c, *v, options.shard);
        if (v->served()) {
            // What a server cannot do fails that unit, not the variant's others: llama.cpp's
            // server refuses prompt log-probs (no perplexity, no multiple choice) and still
            // generates and takes a load test. A server that does not answer fails the model unit
            // first, and then every other unit would fail the same way: stop there.
            std::vector<std::string> failed;
            int code = 0;
            for (const auto* u : pending) {
                try {
                    auto [result, artifacts] = run.run(*u);
                    store.save(*u, result, artifacts);
                } catch (const Error& e) {
                    log::warn("variant '{}': {} failed: {}", v->name, u->id(), e.what());
                    failed.push_back(fmt::format("{}: {}", u->id(), e.what()));
                    code = std::max(code, e.exit_code());
                    failures[v->name] = {join(failed, "; "), code};
                    if (u->section == plan::kModel) break;
                }
                write();
            }
            write();
            continue;
        }
        try {
            for (const auto* u : pending) {
                auto [result, artifacts] = run.run(*u);
                store.save(*u, result, artifacts);
                write();
            }
        } catch (const Error& e) {
            log::warn("variant '{}' failed: {}", v->name, e.what());
            failures[v->name] = {e.what(), e.exit_code()};
            write();
        }
    }
    write();
    if (!c.gates.empty() && !options.shard) report::write_gate_files(outcome.derived.gates, outcome.derived.tasks, c.output_dir);
    return outcome;
}

int exit_code_of(const RunOutcome& outcome) {
    int code = outcome.derived.gates_passed() ? 0 : 1;
    for (const auto& v : outcome.report.variants) {
        if (v.status != "ok") code = std::max(code, v.error_code > 0 ? v.error_code : 3);
    }
    return code;
}

}  // namespace qbench::eval
