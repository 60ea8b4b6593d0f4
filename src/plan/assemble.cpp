#include "qbench/plan/assemble.hpp"

#include <fmt/format.h>

#include "qbench/cost/cost.hpp"
#include "qbench/report/report.hpp"
#include "qbench/report/serving.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/strings.hpp"

namespace qbench::plan {

namespace {

using nlohmann::json;

// The quality factor (> 1 means worse) and what it compares.
std::pair<double, std::string> quality_factor(const report::VariantResult& v, const report::VariantResult* base) {
    if (v.baseline) return {1.0, "baseline"};
    if (base != nullptr) {
        for (const auto& p : v.perplexity) {
            for (const auto& b : base->perplexity) {
                if (p.protocol == b.protocol && b.ppl > 0 && p.ppl > 0) {
                    // Perplexity is lower-is-better: its score is 1 / ppl.
                    return {cost::quality_factor(1.0 / b.ppl, 1.0 / p.ppl),
                            "ppl " + p.protocol + " / baseline ppl (lower is better)"};
                }
            }
        }
        for (const auto& t : v.tasks) {
            for (const auto& bt : base->tasks) {
                if (t.name != bt.name || t.metrics.empty()) continue;
                const auto& m = t.metrics.front();
                for (const auto& bm : bt.metrics) {
                    if (bm.name == m.name && bm.value > 0 && m.value > 0) {
                        return {cost::quality_factor(bm.value, m.value),
                                "baseline " + t.name + " " + m.name + " / variant's (higher is better)"};
                    }
                }
            }
        }
    }
    return {1.0, "none (no perplexity or task score shared with the baseline)"};
}

}  // namespace

report::CostResult variant_cost(const config::CostConfig& cc, const config::VariantConfig& vc,
                                const report::VariantResult& v, const report::VariantResult* baseline) {
    report::CostResult r;
    if (!v.throughput && v.serving) {
        // A served variant: the output tokens/s its server sustained in the load test (the GPUs
        // and prices of the cost section are those of the serving instance).
        const auto& x = *v.serving;
        r.throughput_basis = x.arrival == "sequential"
                                 ? std::string("served load, sequential")
                                 : fmt::format("served load, {} at {:.3g}/s", x.arrival, x.rate_per_s);
        if (x.concurrency > 0) r.throughput_basis += fmt::format(", {} at once", x.concurrency);
        r.tokens_per_s = x.output_tokens_per_s;
    } else {
        const auto& decode = v.throughput->decode;
        if (decode.empty()) throw_bad_input("cost: the throughput section measured no decode batch size");
        const report::DecodeResult* basis = &decode.front();
        for (const auto& d : decode) {
            if (cc.batch_size > 0 ? d.batch_size == cc.batch_size : d.batch_size > basis->batch_size) basis = &d;
        }
        if (cc.batch_size > 0 && basis->batch_size != cc.batch_size) {
            throw_bad_input("cost.batch_size {} is not one of throughput.batch_sizes", cc.batch_size);
        }
        r.throughput_basis = fmt::format("decode batch {} at context {}", basis->batch_size, basis->context_tokens);
        r.tokens_per_s = basis->tokens_per_s;
    }
    std::tie(r.quality_factor, r.quality_basis) = quality_factor(v, baseline);
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

std::vector<report::VariantResult> assemble(const config::RunConfig& c, const std::vector<WorkUnit>& units,
                                            const UnitStore& store, const std::map<std::string, Failure>& failures) {
    std::vector<report::VariantResult> out;
    std::vector<const config::VariantConfig*> configs;
    for (const auto* vc : run_order(c)) {
        report::VariantResult v;
        v.name = vc->name;
        v.baseline = vc->baseline;
        std::vector<std::string> missing;
        for (const auto& u : units) {
            if (u.variant != vc->name) continue;
            const auto r = store.load(u);
            if (!r) {
                missing.push_back(u.id());
                continue;
            }
            if (u.section == kModel) {
                r->get_to(v.model);
            } else if (u.section == kPerplexity) {
                v.perplexity.push_back(r->at("perplexity").get<report::PerplexityResult>());
                if (r->contains("kld") && !r->at("kld").is_null()) v.kld = r->at("kld").get<report::KldResult>();
                if (r->contains("kld_unavailable")) r->at("kld_unavailable").get_to(v.kld_unavailable);
            } else if (u.section == kThroughput) {
                if (r->contains("serving")) v.serving = r->at("serving").get<report::ServedLoadResult>();
                else v.throughput = r->get<report::ThroughputResult>();
            } else if (u.section == kTasks) {
                v.tasks.push_back(r->at("task").get<report::TaskResult>());
            }
        }
        if (auto f = failures.find(vc->name); f != failures.end()) {
            v.status = "failed";
            v.error = f->second.error;
            v.error_code = f->second.code;
        } else if (!missing.empty()) {
            v.status = "incomplete";
            v.error = "not finished: " + join(missing, ", ");
            v.error_code = 3;
        }
        out.push_back(std::move(v));
        configs.push_back(vc);
    }
    const report::VariantResult* base = out.empty() ? nullptr : &out.front();  // run order: baseline first
    if (c.cost) {
        for (std::size_t i = 0; i < out.size(); ++i) {
            if (out[i].throughput || out[i].serving) out[i].cost = variant_cost(*c.cost, *configs[i], out[i], base);
        }
    }
    return out;
}

}  // namespace qbench::plan
