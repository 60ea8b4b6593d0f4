#include "qbench/eval/runner.hpp"

#include "qbench/report/reporter.hpp"

#include <algorithm>

#include "qbench/eval/api.hpp"
#include "qbench/eval/model_env.hpp"
#include "qbench/eval/perplexity.hpp"
#include "qbench/eval/perplexity_input.hpp"
#include "qbench/model/runtime.hpp"
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
    return result;
}

}  // namespace

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
    return rep;
}

int exit_code_of(const report::Report& report) {
    int code = 0;
    for (const auto& v : report.variants) {
        if (v.status != "ok") code = std::max(code, v.error_code > 0 ? v.error_code : 3);
    }
    return code;
}

}  // namespace qbench::eval
