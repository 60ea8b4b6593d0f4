#include "qbench/perf/scenarios.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <thread>

#include "qbench/model/runtime.hpp"
#include "qbench/report/report.hpp"
#include "qbench/perf/bandwidth.hpp"
#include "qbench/perf/environment.hpp"
#include "qbench/perf/memory.hpp"
#include "qbench/perf/noise.hpp"
#include "qbench/perf/timer.hpp"
#include "qbench/stats/latency.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/log.hpp"

namespace qbench::perf {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kBusyMachine = 0.10;  // other processes' share of all CPU time that earns a warning
constexpr double kStolen = 0.02;       // hypervisor steal that does

double sum(const std::vector<double>& xs) { return std::accumulate(xs.begin(), xs.end(), 0.0); }

torch::Tensor random_tokens(const model::Decoder& decoder, std::int64_t batch, std::int64_t length,
                            std::uint64_t seed) {
    auto gen = at::detail::createCPUGenerator(seed);
    const auto vocab = decoder.config().vocab_size;
    return torch::randint(std::min<std::int64_t>(3, vocab - 1), vocab, {batch, length}, gen, torch::kInt64)
        .to(decoder.device());
}

void warn_undersampled(const std::string& what, const report::LatencyStats& s, std::vector<std::string>& warnings) {
    if (s.undersampled.empty()) return;
    std::string names;
    for (const auto& u : s.undersampled) names += (names.empty() ? "" : ", ") + u;
    warnings.push_back(fmt::format("{}: {} from only {} samples (unreliable tail)", what, names, s.n));
}

// Whether to time another repetition: always below `repetitions`; then while the 95% interval
// of the per-repetition rates is wider than the target, up to the cap and the time budget.
bool another_repetition(const std::vector<double>& rates, double timed_s, const ThroughputOptions& o) {
    const auto n = static_cast<std::int64_t>(rates.size());
    if (n < o.repetitions) return true;
    const auto cap = o.max_repetitions > 0 ? o.max_repetitions : 4 * o.repetitions;
    if (o.ci_target_percent <= 0 || n >= cap || timed_s >= o.time_budget_s) return false;
    return ci_half_width_percent(rate_spread(rates)) > o.ci_target_percent;
}

}  // namespace

report::LatencyStats latency_stats_ms(const std::vector<double>& samples_ns) {
    std::vector<double> ms(samples_ns.size());
    std::transform(samples_ns.begin(), samples_ns.end(), ms.begin(), [](double ns) { return ns * 1e-6; });
    return report::latency_stats_from_ms(ms);
}

double checked_rate(double count, double seconds, const std::string& what) {
    const double rate = count / seconds;
    if (!std::isfinite(rate) || !(rate > 0)) {
        throw_runtime("{}: the throughput is {} ({} tokens in {} s): the timer did not advance or nothing was "
                      "produced",
                      what, rate, count, seconds);
    }
    return rate;
}

report::DecodeResult run_decode(const model::Decoder& decoder, std::int64_t batch, const ThroughputOptions& o,
                                double peak_bytes_per_s) {
    torch::InferenceMode inference;
    const auto device = decoder.device();
    const bool graph = o.cuda_graph && device.is_cuda();
    auto cache = decoder.make_cache(batch, o.context + std::max(o.warmup, o.decode_steps) + 1, graph);
    model::DecodeStep step(decoder, cache, o.cuda_graph);
    auto set_context = [&] {
        cache.reset();
        cache.length = o.context;
        if (cache.slot.defined()) cache.slot.fill_(o.context);
    };
    auto tokens = random_tokens(decoder, batch, 1, o.seed);  // [B, 1]
    set_context();
    const auto warm_start = std::chrono::steady_clock::now();
    for (std::int64_t i = 0; i < o.warmup; ++i) tokens = step(tokens).argmax(-1, /*keepdim=*/true);
    model::synchronize(device);
    const double warmup_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - warm_start).count();

    report::DecodeResult r;
    r.batch_size = batch;
    r.context_tokens = o.context;
    r.steps = o.decode_steps;
    r.warmup = o.warmup;
    LapTimer timer(device);
    while (another_repetition(r.repetition_tokens_per_s, sum(r.samples_ns) * 1e-9, o)) {
        set_context();
        timer.mark();
        for (std::int64_t s = 0; s < o.decode_steps; ++s) {
            tokens = step(tokens).argmax(-1, /*keepdim=*/true);
            timer.mark();
        }
        const auto laps = timer.laps_ns();
        r.samples_ns.insert(r.samples_ns.end(), laps.begin(), laps.end());
        r.repetition_tokens_per_s.push_back(static_cast<double>(batch * o.decode_steps) / (sum(laps) * 1e-9));
    }
    r.repetitions = static_cast<std::int64_t>(r.repetition_tokens_per_s.size());
    const auto spread = rate_spread(r.repetition_tokens_per_s);
    r.tokens_per_s_ci_lower = spread.ci_lower;
    r.tokens_per_s_ci_upper = spread.ci_upper;
    r.repetition_cv = spread.cv;
    r.slow_step_fraction = slow_fraction(r.samples_ns);
    const double total_s = sum(r.samples_ns) * 1e-9;
    const double steps = static_cast<double>(r.samples_ns.size());
    r.tokens_per_s = checked_rate(static_cast<double>(batch) * steps, total_s,
                                  fmt::format("decode batch {} at context {}", batch, o.context));
    r.ms_per_token = 1e3 * total_s / steps;
    r.step_latency = latency_stats_ms(r.samples_ns);
    r.bytes_per_step = decode_step_bytes(decoder, batch, o.context + o.decode_steps / 2);
    r.achieved_bytes_per_s = r.bytes_per_step * steps / total_s;
    r.bandwidth_fraction = peak_bytes_per_s > 0 ? r.achieved_bytes_per_s / peak_bytes_per_s : kNaN;
    r.cuda_graph = step.graphed();
    r.note = step.note();
    r.warmup_seconds = warmup_seconds;
    return r;
}

report::PrefillResult run_prefill(const model::Decoder& decoder, std::int64_t length, const ThroughputOptions& o) {
    torch::InferenceMode inference;
    auto cache = decoder.make_cache(1, length);
    const auto ids = random_tokens(decoder, 1, length, o.seed + 1);
    const auto warm_start = std::chrono::steady_clock::now();
    for (std::int64_t i = 0; i < o.warmup; ++i) {
        cache.reset();
        model::prefill(decoder, ids, cache);
    }
    model::synchronize(decoder.device());
    report::PrefillResult r;
    r.warmup_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - warm_start).count();
    r.sequence_tokens = length;
    r.warmup = o.warmup;
    LapTimer timer(decoder.device());
    while (another_repetition(r.repetition_tokens_per_s, sum(r.samples_ns) * 1e-9, o)) {
        cache.reset();
        timer.mark();
        model::prefill(decoder, ids, cache);
        timer.mark();
        const auto laps = timer.laps_ns();
        r.samples_ns.push_back(laps.at(0));
        r.repetition_tokens_per_s.push_back(static_cast<double>(length) / (laps.at(0) * 1e-9));
    }
    r.repetitions = static_cast<std::int64_t>(r.samples_ns.size());
    r.tokens_per_s = checked_rate(static_cast<double>(length * r.repetitions), sum(r.samples_ns) * 1e-9,
                                  fmt::format("prefill of {} tokens", length));
    const auto spread = rate_spread(r.repetition_tokens_per_s);
    r.tokens_per_s_ci_lower = spread.ci_lower;
    r.tokens_per_s_ci_upper = spread.ci_upper;
    r.repetition_cv = spread.cv;
    r.latency = latency_stats_ms(r.samples_ns);
    r.flop_per_token = prefill_flop_per_token(decoder, length);
    r.achieved_flop_per_s = r.flop_per_token * r.tokens_per_s;
    return r;
}

report::EndToEndResult run_end_to_end(lm::LanguageModel& model, const std::vector<model::TokenIds>& prompts,
                                      const ThroughputOptions& o) {
    using Clock = std::chrono::steady_clock;
    if (prompts.empty()) throw_bad_input("end-to-end: the prompt file has no prompts");
    if (o.arrival != "sequential" && o.arrival != "poisson") {
        throw_bad_input("end-to-end: unknown arrival '{}' (sequential | poisson)", o.arrival);
    }
    const auto n = o.requests > 0 ? static_cast<std::size_t>(o.requests) : prompts.size();
    std::size_t width = 0;
    for (const auto& p : prompts) width = std::max(width, p.size());
    std::vector<lm::TokenIds> ids;
    for (const auto& p : prompts) {
        if (p.empty()) throw_bad_input("end-to-end: a prompt has no tokens");
        ids.emplace_back(p.begin(), p.end());
    }
    model.prepare_generation(static_cast<std::int64_t>(width) + o.max_new_tokens);
    lm::TokenGenerationOptions g;
    g.max_new_tokens = o.max_new_tokens;
    if (o.warmup > 0) model.generate_tokens(ids.front(), g);

    std::vector<double> arrival(n, 0.0);
    if (o.arrival == "poisson") {
        std::mt19937_64 rng(o.seed);
        std::exponential_distribution<double> gap(o.rate_per_s);
        double t = 0.0;
        for (auto& a : arrival) a = (t += gap(rng));
    }
    report::EndToEndResult r;
    r.arrival = o.arrival;
    r.rate_per_s = o.arrival == "poisson" ? o.rate_per_s : 0.0;
    r.max_new_tokens = o.max_new_tokens;
    const auto t0 = Clock::now();
    std::int64_t output_tokens = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const auto& prompt = ids[i % ids.size()];
        double now = seconds_since(t0);
        if (o.arrival == "poisson" && now < arrival[i]) {
            std::this_thread::sleep_for(std::chrono::duration<double>(arrival[i] - now));
            now = seconds_since(t0);
        } else if (o.arrival == "sequential") {
            arrival[i] = now;
        }
        const auto out = model.generate_tokens(prompt, g);
        const auto& ts = out.token_seconds;
        if (ts.empty() || ts.size() != out.tokens.size()) {
            throw_runtime("end-to-end: request {}: {} tokens came with {} timestamps", i, out.tokens.size(), ts.size());
        }
        report::RequestRecord q;
        q.prompt_tokens = static_cast<std::int64_t>(prompt.size());
        q.output_tokens = static_cast<std::int64_t>(out.tokens.size());
        q.arrival_s = arrival[i];
        q.queue_ms = 1e3 * (now - arrival[i]);
        q.ttft_ms = q.queue_ms + 1e3 * ts.front();
        q.e2e_ms = q.queue_ms + 1e3 * ts.back();
        q.tpot_ms = q.output_tokens > 1 ? (q.e2e_ms - q.ttft_ms) / static_cast<double>(q.output_tokens - 1) : kNaN;
        for (std::size_t k = 1; k < ts.size(); ++k) q.itl_ms.push_back(1e3 * (ts[k] - ts[k - 1]));
        output_tokens += q.output_tokens;
        r.requests.push_back(std::move(q));
    }
    r.duration_s = seconds_since(t0);
    r.output_tokens_per_s = checked_rate(static_cast<double>(output_tokens), r.duration_s, "end-to-end");
    std::vector<double> ttft, tpot, itl, e2e;  // in ns for latency_stats_ms
    for (const auto& q : r.requests) {
        ttft.push_back(q.ttft_ms * 1e6);
        e2e.push_back(q.e2e_ms * 1e6);
        if (std::isfinite(q.tpot_ms)) tpot.push_back(q.tpot_ms * 1e6);
        for (double x : q.itl_ms) itl.push_back(x * 1e6);
    }
    r.ttft = latency_stats_ms(ttft);
    r.tpot = latency_stats_ms(tpot);
    r.itl = latency_stats_ms(itl);
    r.e2e = latency_stats_ms(e2e);
    return r;
}

void validate(const ThroughputOptions& o) {
    for (auto b : o.batch_sizes) {
        if (b < 1) throw_bad_input("throughput: every decode batch size must be at least 1, got {}", b);
    }
    for (auto l : o.prefill_lengths) {
        if (l < 1) throw_bad_input("throughput: every prefill length must be at least 1, got {}", l);
    }
    if (o.context < 0) throw_bad_input("throughput: context must be at least 0, got {}", o.context);
    if (o.decode_steps < 1) throw_bad_input("throughput: decode steps must be at least 1, got {}", o.decode_steps);
    if (o.warmup < 0) throw_bad_input("throughput: warmup must be at least 0, got {}", o.warmup);
    if (o.repetitions < 1) throw_bad_input("throughput: repetitions must be at least 1, got {}", o.repetitions);
    if (!(o.ci_target_percent >= 0) || !std::isfinite(o.ci_target_percent)) {
        throw_bad_input("throughput: the interval target must be a finite percentage of at least 0, got {}",
                        o.ci_target_percent);
    }
    if (o.max_repetitions < 0) throw_bad_input("throughput: max repetitions must be at least 0, got {}", o.max_repetitions);
    if (!(o.time_budget_s > 0) || !std::isfinite(o.time_budget_s)) {
        throw_bad_input("throughput: the time budget must be a finite number of seconds above 0, got {}", o.time_budget_s);
    }
    if (o.arrival != "sequential" && o.arrival != "poisson") {
        throw_bad_input("throughput: arrival '{}' is not one of sequential, poisson", o.arrival);
    }
    if (!(o.rate_per_s > 0) || !std::isfinite(o.rate_per_s)) {
        throw_bad_input("throughput: the poisson rate must be a finite number of requests per second above 0, got {}",
                        o.rate_per_s);
    }
    if (o.max_new_tokens < 1) throw_bad_input("throughput: max new tokens must be at least 1, got {}", o.max_new_tokens);
    if (o.requests < 0) throw_bad_input("throughput: requests must be at least 0, got {}", o.requests);
}

report::ThroughputResult run_throughput(const model::Decoder& decoder, const ThroughputOptions& o,
                                        const std::vector<model::TokenIds>& prompts,
                                        lm::LanguageModel* end_to_end_model) {
    validate(o);
    return model::guard_torch("throughput", [&] {
        const auto device = decoder.device();
        report::ThroughputResult t;
        t.environment = environment_at_start(device, t.warnings);
        t.environment.peak_copy_bytes_per_s = measure_copy_bandwidth(device);
        if (o.repetitions < 3) {
            t.warnings.push_back(fmt::format("{} repetitions: too few to judge run-to-run spread", o.repetitions));
        }
        if (!reset_peak_memory(device)) {
            t.warnings.push_back(
                "peak RSS is the process's lifetime peak (the RSS high-water mark could not be reset through "
                "/proc/self/clear_refs): it includes the bandwidth probe's buffers and whatever ran before");
        }
        const auto& c = decoder.config();
        const auto longest_decode = o.context + std::max(o.warmup, o.decode_steps) + 1;
        const auto longest_prefill =
            o.prefill_lengths.empty() ? 0 : *std::max_element(o.prefill_lengths.begin(), o.prefill_lengths.end());
        if (std::max(longest_decode, longest_prefill) > c.max_position_embeddings) {
            t.warnings.push_back(fmt::format(
                "the scenarios reach position {}, beyond the model's max_position_embeddings {}: timed, but not a "
                "length this model is meant to serve",
                std::max(longest_decode, longest_prefill), c.max_position_embeddings));
        }
        t.environment.load_average_start = load_average();
        t.environment.cpu_mhz_start = cpu_mhz();
        const auto cpu_start = read_cpu_times();
        const double kv_per_token =
            2.0 * static_cast<double>(c.num_layers * c.num_kv_heads * c.head_dim * c10::elementSize(decoder.dtype()));
        double kv_bytes = 0.0;
        for (auto batch : o.batch_sizes) {
            log::info("throughput: decode batch {} at context {}", batch, o.context);
            auto d = run_decode(decoder, batch, o, t.environment.peak_copy_bytes_per_s);
            kv_bytes = std::max(kv_bytes, kv_per_token * static_cast<double>(
                                                             batch * (o.context + std::max(o.warmup, o.decode_steps) + 1)));
            warn_undersampled(fmt::format("decode batch {}", batch), d.step_latency, t.warnings);
            for (auto& w : spread_warnings(fmt::format("decode batch {}", batch),
                                           {(d.tokens_per_s_ci_lower + d.tokens_per_s_ci_upper) / 2, d.tokens_per_s_ci_lower,
                                            d.tokens_per_s_ci_upper, d.repetition_cv},
                                           d.slow_step_fraction, o.ci_target_percent)) {
                t.warnings.push_back(std::move(w));
            }
            if (!d.note.empty()) t.warnings.push_back(fmt::format("decode batch {}: {}", batch, d.note));
            t.decode.push_back(std::move(d));
        }
        for (auto length : o.prefill_lengths) {
            log::info("throughput: prefill {} tokens", length);
            auto p = run_prefill(decoder, length, o);
            kv_bytes = std::max(kv_bytes, kv_per_token * static_cast<double>(length));
            warn_undersampled(fmt::format("prefill {}", length), p.latency, t.warnings);
            for (auto& w : spread_warnings(fmt::format("prefill {}", length),
                                           {(p.tokens_per_s_ci_lower + p.tokens_per_s_ci_upper) / 2, p.tokens_per_s_ci_lower,
                                            p.tokens_per_s_ci_upper, p.repetition_cv},
                                           slow_fraction(p.samples_ns), o.ci_target_percent)) {
                t.warnings.push_back(std::move(w));
            }
            t.prefill.push_back(std::move(p));
        }
        if (!prompts.empty()) {
            log::info("throughput: end-to-end, {} arrivals", o.arrival);
            if (end_to_end_model == nullptr) throw_runtime("end-to-end: no language model to run the prompts on");
            auto e = run_end_to_end(*end_to_end_model, prompts, o);
            e.prompts_path = o.prompts.string();
            warn_undersampled("end-to-end TTFT", e.ttft, t.warnings);
            t.end_to_end = std::move(e);
        }
        const auto activity = cpu_activity(cpu_start, read_cpu_times());
        t.environment.other_cpu_fraction = activity.other_fraction;
        t.environment.cpu_steal_fraction = activity.steal_fraction;
        t.environment.cpu_mhz_end = cpu_mhz();
        if (activity.other_fraction > kBusyMachine) {
            t.warnings.push_back(fmt::format(
                "other processes used {:.0f}% of the machine's CPU time during the timed scenarios: the figures "
                "measure a shared machine", 100.0 * activity.other_fraction));
        }
        if (activity.steal_fraction > kStolen) {
            t.warnings.push_back(fmt::format("the hypervisor took {:.1f}% of the CPU time (steal) during the timed "
                                             "scenarios", 100.0 * activity.steal_fraction));
        }
        const auto peaks = memory_peaks(device);
        t.memory.weight_bytes = decoder.weight_bytes();
        t.memory.kv_cache_bytes = static_cast<std::int64_t>(kv_bytes);
        t.memory.peak_allocated_bytes = peaks.allocated_bytes;
        t.memory.peak_reserved_bytes = peaks.reserved_bytes;
        t.memory.peak_rss_bytes = peaks.rss_bytes;
        environment_at_end(device, t.environment);
        return t;
    });
}

}  // namespace qbench::perf
