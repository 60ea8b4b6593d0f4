#include "qbench/eval/runner.hpp"

#include "qbench/report/reporter.hpp"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>
#include <cstdlib>

#include "qbench/eval/api.hpp"
#include "qbench/eval/kld.hpp"
#include "qbench/eval/model_env.hpp"
#include "qbench/eval/perplexity.hpp"
#include "qbench/eval/perplexity_input.hpp"
#include "qbench/cost/cost.hpp"
#include "qbench/model/runtime.hpp"
#include "qbench/perf/scenarios.hpp"
#include "qbench/eval/tasks/decoder_lm.hpp"
#include "qbench/eval/tasks/evaluate.hpp"
#include "qbench/report/gates.hpp"
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

perf::ThroughputOptions throughput_options(const config::RunConfig& c) {
    const auto& t = *c.throughput;
    perf::ThroughputOptions o;
    o.batch_sizes = t.batch_sizes;
    o.context = t.context;
    o.decode_steps = t.decode_steps;
    o.prefill_lengths = t.prefill_lengths;
    o.warmup = t.warmup;
    o.repetitions = t.repetitions;
    o.ci_target_percent = t.ci_target_percent;
    o.max_repetitions = t.max_repetitions;
    o.time_budget_s = t.time_budget_s;
    o.cuda_graph = t.cuda_graph;
    o.prompts = t.prompts;
    o.arrival = t.arrival;
    o.rate_per_s = t.rate_per_s;
    o.max_new_tokens = t.max_new_tokens;
    o.requests = t.requests;
    o.seed = static_cast<std::uint64_t>(c.seed);
    return o;
}

// The quality factor multiplies the cost, so > 1 means worse: ppl(variant) / ppl(baseline) on the
// first protocol both have (lower is better); else, for the first task metric both have with a
// positive score, score(baseline) / score(variant) (higher is better); 1 without either.
std::pair<double, std::string> quality_factor(const report::VariantResult& v, const report::Report& rep) {
    if (v.baseline) return {1.0, "baseline"};
    for (const auto& base : rep.variants) {
        if (!base.baseline) continue;
        for (const auto& p : v.perplexity) {
            for (const auto& b : base.perplexity) {
                if (p.protocol == b.protocol && b.ppl > 0 && p.ppl > 0) {
                    return {p.ppl / b.ppl, "ppl " + p.protocol + " / baseline ppl (lower is better)"};
                }
            }
        }
        for (const auto& t : v.tasks) {
            for (const auto& bt : base.tasks) {
                if (t.name != bt.name || t.metrics.empty()) continue;
                const auto& m = t.metrics.front();
                for (const auto& bm : bt.metrics) {
                    if (bm.name == m.name && bm.value > 0 && m.value > 0) {
                        return {bm.value / m.value,
                                "baseline " + t.name + " " + m.name + " / variant's (higher is better)"};
                    }
                }
            }
        }
    }
    return {1.0, "none (no perplexity or task score shared with the baseline)"};
}

report::CostResult variant_cost(const config::CostConfig& cc, const config::VariantConfig& vc,
                                const report::VariantResult& v, const report::Report& rep) {
    const auto& decode = v.throughput->decode;
    if (decode.empty()) throw_bad_input("cost: the throughput section measured no decode batch size");
    const report::DecodeResult* basis = &decode.front();
    for (const auto& d : decode) {
        if (cc.batch_size > 0 ? d.batch_size == cc.batch_size : d.batch_size > basis->batch_size) basis = &d;
    }
    if (cc.batch_size > 0 && basis->batch_size != cc.batch_size) {
        throw_bad_input("cost.batch_size {} is not one of throughput.batch_sizes", cc.batch_size);
    }
    report::CostResult r;
    r.throughput_basis = fmt::format("decode batch {} at context {}", basis->batch_size, basis->context_tokens);
    r.tokens_per_s = basis->tokens_per_s;
    std::tie(r.quality_factor, r.quality_basis) = quality_factor(v, rep);
    const cost::Calibration calibration{vc.calibration_gpu_hours, cc.calibration_usd_per_gpu_hour, cc.served_tokens};
    r.calibration_usd = cost::calibration_usd(calibration);
    const std::pair<const char*, double> tiers[] = {{"on_demand", cc.on_demand_usd_per_hour},
                                                    {"reserved", cc.reserved_usd_per_hour},
                                                    {"spot", cc.spot_usd_per_hour}};
    for (const auto& [name, price] : tiers) {
        if (price <= 0) continue;
        const auto b = cost::cost_breakdown(
            {price * static_cast<double>(cc.gpus), r.tokens_per_s, r.quality_factor, calibration});
        r.tiers.push_back({name, price, cc.gpus, b.usd_per_million_tokens, b.calibration_usd_per_million_tokens,
                           b.total_usd_per_million_tokens, b.quality_adjusted_usd_per_million_tokens});
    }
    return r;
}

// Where the baseline's distributions for KLD live: <out>/kld/<baseline>.<protocol>.kldbase.
fs::path kld_base_path(const fs::path& out_dir, const std::string& baseline, const std::string& protocol) {
    return out_dir / "kld" / (baseline + "." + protocol + ".kldbase");
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
    if (!pc.kld || o.protocol != pc.kld_protocol || c.variants.size() < 2) return session;
    KldFileInfo info;
    info.baseline = c.baseline().name;
    info.protocol = o.protocol;
    info.data_sha256 = data_sha;
    info.max_length = o.max_length;
    info.stride = o.protocol == "sliding" ? o.stride : 0;
    info.limit = o.limit;
    info.vocab_size = vocab;
    info.top_k = pc.kld_top_k > 0 ? std::min(pc.kld_top_k, vocab) : default_kld_top_k(vocab);
    const fs::path path = kld_base_path(out_dir, info.baseline, o.protocol);
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

void write_partial(const report::Report& rep, const report::VariantResult& result, const fs::path& out_dir) {
    auto partial = rep;
    partial.variants.push_back(result);
    partial.context.end_time = utc_now_iso8601();
    report::write_report(partial, out_dir);
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
        write_partial(rep, result, out_dir);
    }
}

report::VariantResult run_variant(const config::RunConfig& c, const config::VariantConfig& v,
                                  report::Report& rep, const fs::path& out_dir) {
    report::VariantResult result;
    result.name = v.name;
    result.baseline = v.baseline;
    log::info("variant '{}': loading {}", v.name, v.model.string());
    ModelRequest request{v.model, c.device, v.dtype, v.quantize};
    request.gguf_dequantize = v.gguf_dequantize;
    ModelEnv env = load_model_env(request);
    result.model = env.summary;
    if (c.perplexity) {
        const auto& pc = *c.perplexity;
        const PerplexityInput input = load_perplexity_input(pc.data, env.encoder());
        const std::string data_sha = sha256_file_hex(pc.data);
        auto options_for = [&](const std::string& protocol) {
            PerplexityOptions o;
            o.protocol = protocol;
            o.max_length = pc.max_length;
            o.stride = pc.stride;
            o.batch_size = pc.batch_size;
            o.limit = pc.limit;
            env.apply_special_tokens(o);
            return o;
        };
        // Every protocol's windows first (cheap), so a protocol the data cannot serve fails
        // before any model time is spent on the others.
        for (const auto& protocol : pc.protocols) {
            try {
                make_windows(input, options_for(protocol), nullptr);
            } catch (const Error& e) {
                throw Error(e.code(), fmt::format("{}: {}", pc.data.string(), e.what()));
            }
        }
        for (const auto& protocol : pc.protocols) {
            const PerplexityOptions o = options_for(protocol);
            KldSession kld = start_kld(c, v, o, data_sha, env.decoder->config().vocab_size, out_dir);
            auto r = evaluate_perplexity(*env.decoder, input, o, kld.observer());
            if (kld.writer) kld.writer->finish();
            if (kld.scorer) {
                result.kld = kld.scorer->finish();
                if (result.kld) {
                    const auto& k = *result.kld;
                    log::info("variant '{}': KLD {:.6f} [{:.6f}, {:.6f}] over {} tokens (top-{}{}), same top {:.2f}%",
                              v.name, k.kld_mean, k.kld_ci_lower, k.kld_ci_upper, k.tokens, k.top_k,
                              k.exact ? ", exact" : " + tail, a lower bound", 100 * k.same_top);
                } else {
                    log::warn("variant '{}': no KLD: {}", v.name, kld.scorer->error());
                }
            }
            r.data_path = pc.data.string();
            r.data_sha256 = data_sha;
            log::info("variant '{}': {} perplexity {:.4f} over {} tokens ({:.1f} s)", v.name, protocol, r.ppl,
                      r.tokens_scored, r.seconds);
            result.perplexity.push_back(std::move(r));
            // Write the partial variant so an interruption keeps this section.
            write_partial(rep, result, out_dir);
        }
    }
    if (c.throughput) {
        const auto options = throughput_options(c);
        std::vector<std::vector<std::int64_t>> prompts;
        if (!options.prompts.empty()) prompts = load_prompts(options.prompts, env.encoder());
        result.throughput = perf::run_throughput(*env.decoder, options, prompts);
        for (const auto& d : result.throughput->decode) {
            log::info("variant '{}': decode batch {} at context {}: {:.1f} tokens/s", v.name, d.batch_size,
                      d.context_tokens, d.tokens_per_s);
        }
        for (const auto& w : result.throughput->warnings) log::warn("variant '{}': {}", v.name, w);
        if (c.cost) result.cost = variant_cost(*c.cost, v, result, rep);
        write_partial(rep, result, out_dir);
    }
    if (c.tasks) {
        run_tasks(c, v, env, result, rep, out_dir);
        // Without a shared perplexity the quality factor comes from the first task: recompute.
        if (c.cost && result.throughput) {
            result.cost = variant_cost(*c.cost, v, result, rep);
            write_partial(rep, result, out_dir);
        }
    }
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
