#include "qbench/eval/runner.hpp"

#include "qbench/report/reporter.hpp"

#include <algorithm>
#include <cstdlib>

#include "qbench/eval/api.hpp"
#include "qbench/eval/model_env.hpp"
#include "qbench/eval/perplexity.hpp"
#include "qbench/eval/perplexity_input.hpp"
#include "qbench/eval/tasks/decoder_lm.hpp"
#include "qbench/eval/tasks/evaluate.hpp"
#include "qbench/report/gates.hpp"
#include "qbench/model/runtime.hpp"
#include "qbench/build_config.hpp"
#include "qbench/util/build_info.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/hash.hpp"
#include "qbench/util/log.hpp"

namespace qbench::eval {
namespace {

namespace fs = std::filesystem;

// Variants in run order: the baseline first, then the others as written.
std::vector<const config::VariantConfig*> run_order(const config::RunConfig& c) {
    std::vector<const config::VariantConfig*> out{&c.baseline()};
    for (const auto& v : c.variants) {
        if (!v.baseline) out.push_back(&v);
    }
    return out;
}

// What a previous run of the same config left in the output directory.
std::vector<report::VariantResult> resumable(const config::RunConfig& c) {
    const fs::path path = c.output_dir / "report.json";
    if (!fs::exists(path)) return {};
    report::Report old = report::read_report(path);
    if (old.context.config_sha256 != c.sha256) {
        throw_bad_input("{}: made from a different configuration (sha256 {} , now {}); remove it or "
                        "choose another --out to start over",
                        path.string(), old.context.config_sha256, c.sha256);
    }
    std::vector<report::VariantResult> out;
    for (auto& v : old.variants) {
        if (v.status == "ok") out.push_back(std::move(v));
    }
    return out;
}

// Where task names are looked up: the config's task_dirs, $QBENCH_TASKS_DIR, the built-ins.
std::vector<fs::path> task_search_dirs(const config::TasksConfig& tc) {
    std::vector<fs::path> dirs = tc.task_dirs;
    if (const char* env = std::getenv("QBENCH_TASKS_DIR"); env != nullptr && *env != '\0') dirs.emplace_back(env);
    dirs.emplace_back(builtin_tasks_dir());
    return dirs;
}

// Runs the config's tasks on one variant; per-item records go to
// <out>/samples/<variant>/<task>.jsonl as items finish, the report is rewritten after each task.
void run_tasks(const config::RunConfig& c, const config::VariantConfig& v, const ModelEnv& env,
               report::VariantResult& result, const report::Report& rep, const fs::path& out_dir) {
    const auto& tc = *c.tasks;
    if (!env.tokenizer) {
        throw_bad_input("{}: tasks need the model's tokenizer{}", v.model.string(),
                        env.tokenizer_error.empty() ? " (no tokenizer.json or tokenizer.model)" : ": " + env.tokenizer_error);
    }
    tasks::DecoderLMOptions lo;
    lo.batch_size = tc.batch_size;
    lo.max_length = tc.max_length;
    tasks::DecoderLM lm(*env.decoder, *env.tokenizer, lo);
    for (const auto& name : tc.names) {
        const fs::path yaml = tasks::find_task(name, task_search_dirs(tc));
        tasks::Task task = tasks::load_task(yaml, tc.data_dir, tc.num_fewshot);
        if (tc.max_gen_toks > 0 && task.def.generation) task.def.generation->max_gen_toks = tc.max_gen_toks;
        const fs::path samples_rel = fs::path("samples") / v.name / (task.def.name + ".jsonl");
        tasks::SamplesWriter writer(out_dir / samples_rel);
        tasks::TaskRunOptions o;
        o.limit = tc.limit;
        o.allow_code_execution = tc.allow_code_execution;
        o.seed = static_cast<std::uint64_t>(c.seed);
        o.code_timeout_s = tc.code_timeout_s;
        o.on_item = [&writer](const tasks::ItemRecord& r) { writer.write(r); };
        auto r = tasks::evaluate_task(task, lm, o);
        r.data_path = (yaml.parent_path() / task.def.data).string();
        r.samples_path = samples_rel.string();
        for (const auto& m : r.metrics)
            log::info("variant '{}': task {} {} = {:.4f} (n = {})", v.name, task.def.name, m.name, m.value, m.n);
        result.tasks.push_back(std::move(r));
        auto partial = rep;
        partial.variants.push_back(result);
        partial.context.end_time = utc_now_iso8601();
        report::write_report(partial, out_dir);
    }
}

report::VariantResult run_variant(const config::RunConfig& c, const config::VariantConfig& v,
                                  report::Report& rep, const fs::path& out_dir) {
    report::VariantResult result;
    result.name = v.name;
    result.baseline = v.baseline;
    log::info("variant '{}': loading {}", v.name, v.model.string());
    ModelEnv env = load_model_env({v.model, c.device, v.dtype, v.quantize});
    result.model = env.summary;
    if (c.perplexity) {
        const auto& pc = *c.perplexity;
        const PerplexityInput input = load_perplexity_input(pc.data, env.encoder());
        const std::string data_sha = sha256_file_hex(pc.data);
        for (const auto& protocol : pc.protocols) {
            PerplexityOptions o;
            o.protocol = protocol;
            o.max_length = pc.max_length;
            o.stride = pc.stride;
            o.batch_size = pc.batch_size;
            o.limit = pc.limit;
            env.apply_special_tokens(o);
            auto r = evaluate_perplexity(*env.decoder, input, o);
            r.data_path = pc.data.string();
            r.data_sha256 = data_sha;
            log::info("variant '{}': {} perplexity {:.4f} over {} tokens ({:.1f} s)", v.name, protocol, r.ppl,
                      r.tokens_scored, r.seconds);
            result.perplexity.push_back(std::move(r));
            // Write the partial variant so an interruption keeps this section.
            auto partial = rep;
            partial.variants.push_back(result);
            partial.context.end_time = utc_now_iso8601();
            report::write_report(partial, out_dir);
        }
    }
    if (c.tasks) run_tasks(c, v, env, result, rep, out_dir);
    return result;
}

}  // namespace

fs::path builtin_tasks_dir() {
    return QBENCH_BUILTIN_TASKS_DIR;
}

report::Report run_benchmark(const config::RunConfig& c, report::RunContext context,
                             const RunnerOptions& options) {
    model::set_threads(static_cast<int>(c.threads));
    torch::manual_seed(static_cast<std::uint64_t>(c.seed));
    fill_runtime_context(context, c.device);
    context.seed = c.seed;
    context.config = c.effective;
    context.config_sha256 = c.sha256;
    auto previous = options.resume ? resumable(c) : std::vector<report::VariantResult>{};
    report::Report rep;
    rep.context = std::move(context);
    for (const auto* v : run_order(c)) {
        auto done = std::find_if(previous.begin(), previous.end(),
                                 [&](const report::VariantResult& r) { return r.name == v->name; });
        if (done != previous.end()) {
            log::info("variant '{}': kept from the previous run (--resume)", v->name);
            rep.variants.push_back(std::move(*done));
            continue;
        }
        try {
            rep.variants.push_back(run_variant(c, *v, rep, c.output_dir));
        } catch (const Error& e) {
            log::warn("variant '{}' failed: {}", v->name, e.what());
            report::VariantResult failed;
            failed.name = v->name;
            failed.baseline = v->baseline;
            failed.status = "failed";
            failed.error = e.what();
            failed.error_code = e.exit_code();
            rep.variants.push_back(std::move(failed));
        }
        rep.context.end_time = utc_now_iso8601();
        report::write_report(rep, c.output_dir);
    }
    rep.context.end_time = utc_now_iso8601();
    report::write_report(rep, c.output_dir);
    if (!c.gates.empty()) {
        const auto gates = report::evaluate_gates(rep.variants, report::gate_specs(rep.context));
        report::write_gate_files(rep.variants, gates, c.output_dir);
    }
    return rep;
}

int exit_code_of(const report::Report& report) {
    int code = 0;
    for (const auto& g : report::evaluate_gates(report.variants, report::gate_specs(report.context))) {
        if (!g.passed) code = 1;
    }
    for (const auto& v : report.variants) {
        if (v.status != "ok") code = std::max(code, v.error_code > 0 ? v.error_code : 3);
    }
    return code;
}

}  // namespace qbench::eval
