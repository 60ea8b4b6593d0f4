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
#include "qbench/plan/assemble.hpp"
#include "qbench/plan/plan.hpp"
#include "qbench/plan/unit_store.hpp"
#include "qbench/model/runtime.hpp"
#include "qbench/perf/scenarios.hpp"
#include "qbench/eval/local_model.hpp"
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

    WindowObserver* observer() const {
        return writer ? static_cast<WindowObserver*>(writer.get()) : static_cast<WindowObserver*>(scorer.get());
    }
};

KldSession start_kld(const config::RunConfig& c, const config::VariantConfig& v, const PerplexityOptions& o,
                     const std::string& data_sha, std::int64_t vocab, const fs::path& out_dir) {
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
        log::info("variant '{}': keeping the top-{} log-probs of {} tokens for KLD in {}", v.name, info.top_k,
                  o.protocol, path.string());
        session.writer = std::make_unique<KldBaseWriter>(path, info);
        return session;
    }
    if (!fs::exists(path)) {
        log::warn("variant '{}': no KLD: the baseline's distributions ({}) are missing", v.name, path.string());
        return session;
    }
    try {
        session.scorer = std::make_unique<KldScorer>(path, info);
    } catch (const Error& e) {
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
    VariantRun(const config::RunConfig& c, const config::VariantConfig& v) : c_(c), v_(v) {}

    ModelEnv& env() {
        if (!env_) {
            log::info("variant '{}': loading {}", v_.name, v_.model.string());
            ModelRequest request{v_.model, c_.device, v_.dtype, v_.quantize};
            request.gguf_dequantize = v_.gguf_dequantize;
            env_ = load_model_env(request);
        }
        return *env_;
    }

    // Runs one unit; returns its result and the artifacts it wrote (relative to the output dir).
    std::pair<json, std::vector<std::string>> run(const plan::WorkUnit& u) {
        if (u.section == plan::kModel) return {json(env().summary), {}};
        if (u.section == plan::kPerplexity) return perplexity(u);
        if (u.section == plan::kThroughput) return {json(throughput()), {}};
        return task(u.item);
    }

private:
    PerplexityOptions options_for(const std::string& protocol) {
        const auto& pc = *c_.perplexity;
        PerplexityOptions o;
        o.protocol = protocol;
        o.max_length = pc.max_length;
        o.stride = pc.stride;
        o.batch_size = pc.batch_size;
        o.limit = pc.limit;
        env().apply_special_tokens(o);
        return o;
    }

    const PerplexityInput& input() {
        if (!input_) {
            const auto& pc = *c_.perplexity;
            input_ = load_perplexity_input(pc.data, env().encoder());
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
        if (u.kld) kld = start_kld(c_, v_, o, data_sha_, env().decoder->config().vocab_size, c_.output_dir);
        auto r = evaluate_perplexity(*env().decoder, in, o, kld.observer());
        std::vector<std::string> artifacts;
        json out;
        if (kld.writer) {
            kld.writer->finish();
            artifacts.push_back(plan::kld_base_relpath(v_.name, o.protocol).string());
        }
        if (kld.scorer) {
            auto k = kld.scorer->finish();
            if (k) {
                log::info("variant '{}': KLD {:.6f} [{:.6f}, {:.6f}] over {} tokens (top-{}{}), same top {:.2f}%",
                          v_.name, k->kld_mean, k->kld_ci_lower, k->kld_ci_upper, k->tokens, k->top_k,
                          k->exact ? ", exact" : " + tail, a lower bound", 100 * k->same_top);
                out["kld"] = *k;
            } else {
                log::warn("variant '{}': no KLD: {}", v_.name, kld.scorer->error());
            }
        }
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
    std::pair<json, std::vector<std::string>> task(const std::string& name) {
        const auto& tc = *c_.tasks;
        ModelEnv& e = env();
        if (!e.tokenizer) {
            throw_bad_input("{}: tasks need the model's tokenizer{}", v_.model.string(),
                            e.tokenizer_error.empty() ? " (no tokenizer.json or tokenizer.model)"
                                                      : ": " + e.tokenizer_error);
        }
        if (!lm_) {
            LocalModelOptions lo;
            lo.name = v_.model.string();
            lo.tasks.batch_size = tc.batch_size;
            lo.tasks.max_length = tc.max_length;
            lm_ = std::make_unique<LocalModel>(*e.decoder, e.tokenizer.get(), lo);
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
        auto r = tasks::evaluate_task(task, *lm_, o);
        r.data_path = (yaml.parent_path() / task.def.data).string();
        r.samples_path = samples_rel.string();
        for (const auto& m : r.metrics)
            log::info("variant '{}': task {} {} = {:.4f} (n = {})", v_.name, task.def.name, m.name, m.value, m.n);
        return {json(r), {samples_rel.string()}};
    }

    const config::RunConfig& c_;
    const config::VariantConfig& v_;
    std::optional<ModelEnv> env_;
    std::optional<PerplexityInput> input_;
    std::string data_sha_;
    std::unique_ptr<LocalModel> lm_;
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
        log::info("shard {}/{} ({}): {} of the run's units{}", s.index, s.count, s.source, units.size(),
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
        VariantRun run(c, *v);
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
