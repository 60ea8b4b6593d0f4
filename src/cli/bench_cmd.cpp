// `qbench bench MODEL`: one-off throughput measurement (decode at batch sizes, prefill at
// lengths, optionally end-to-end requests), printed as a table or one JSON object.
#include <fmt/format.h>

#include "qbench/cost/cost.hpp"

#include <cmath>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>

#include "qbench/cli/commands.hpp"
#include "qbench/config/quantize_spec.hpp"
#include "qbench/eval/api.hpp"
#include "qbench/report/report.hpp"
#include "qbench/report/serving.hpp"
#include "qbench/serve/load.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/log.hpp"

namespace qbench::cli {
namespace {

struct BenchOptions {
    eval::ModelRequest model;
    perf::ThroughputOptions perf = eval::throughput_defaults();  // the YAML section's defaults
    std::string quantize;
    bool no_cuda_graph = false;
    bool json = false;
    // --server: a load test of a served model instead of a local one
    serve::ServerSpec server;
    serve::BenchServerOptions load;
    std::string prompts;
    double slo_ttft_p99_ms = 0.0;
    double slo_tpot_p99_ms = 0.0;
    double slo_e2e_p99_ms = 0.0;
    bool no_requests = false;
    double usd_per_hour = 0.0;  // --server: per GPU of the serving instance (0: no cost)
    std::int64_t gpus = 1;
};

// Decimal units, 3-4 significant digits: "812 kB", "8.0 MB", "1.35 GB".
std::string bytes(double b) {
    static const char* const units[] = {"B", "kB", "MB", "GB", "TB"};
    int u = 0;
    while (std::abs(b) >= 1000.0 && u < 4) {
        b /= 1000.0;
        ++u;
    }
    return u == 0 ? fmt::format("{:.0f} B", b) : fmt::format(fmt::runtime(b < 10.0 ? "{:.2f} {}" : b < 100.0 ? "{:.1f} {}" : "{:.0f} {}"), b, units[u]);
}

std::string gb_per_s(double bytes_per_s) { return bytes(bytes_per_s) + "/s"; }

void print(const eval::BenchResult& r, const BenchOptions& o) {
    const auto& t = r.throughput;
    if (o.json) {
        nlohmann::json j = {{"model", r.model}, {"throughput", t}};
        fmt::print("{}\n", j.dump(2));
        return;
    }
    const auto& e = t.environment;
    fmt::print("model        {} ({}, {} of weights)\n", r.model.path, r.model.architecture,
               bytes(static_cast<double>(r.model.weight_bytes)));
    fmt::print("dtype        {} ({})\n", r.model.dtype, r.model.dtype_reason);
    fmt::print("device       {} {}(timing: {}, {} threads)\n", e.device, e.gpu_name.empty() ? "" : e.gpu_name + " ",
               e.timing, e.threads);
    fmt::print("copy peak    {}\n\n", gb_per_s(e.peak_copy_bytes_per_s));
    fmt::print("{:<24} {:>12} {:>22} {:>10} {:>10} {:>10} {:>12} {:>8}\n", "test", "tokens/s", "95% CI (reps)",
               "ms/token", "p50 ms", "p99 ms", "bandwidth", "% peak");
    auto ci = [](double lo, double hi, std::int64_t reps) {
        return std::isfinite(lo) && std::isfinite(hi) ? fmt::format("[{:.1f}, {:.1f}] ({})", lo, hi, reps)
                                                      : fmt::format("- ({})", reps);
    };
    for (const auto& d : t.decode) {
        fmt::print("{:<24} {:>12.1f} {:>22} {:>10.3f} {:>10.3f} {:>10.3f} {:>12} {:>7.1f}%{}\n",
                   fmt::format("decode b{} @ {}", d.batch_size, d.context_tokens), d.tokens_per_s,
                   ci(d.tokens_per_s_ci_lower, d.tokens_per_s_ci_upper, d.repetitions), d.ms_per_token,
                   d.step_latency.p50_ms, d.step_latency.p99_ms, gb_per_s(d.achieved_bytes_per_s),
                   100.0 * d.bandwidth_fraction, d.cuda_graph ? " (graph)" : "");
    }
    for (const auto& p : t.prefill) {
        fmt::print("{:<24} {:>12.1f} {:>22} {:>10} {:>10.3f} {:>10.3f} {:>12}\n",
                   fmt::format("prefill {}", p.sequence_tokens), p.tokens_per_s,
                   ci(p.tokens_per_s_ci_lower, p.tokens_per_s_ci_upper, p.repetitions), "", p.latency.p50_ms,
                   p.latency.p99_ms,
                   p.achieved_flop_per_s >= 1e11 ? fmt::format("{:.2f} TFLOP/s", p.achieved_flop_per_s * 1e-12)
                                                 : fmt::format("{:.2f} GFLOP/s", p.achieved_flop_per_s * 1e-9));
    }
    if (t.end_to_end) {
        const auto& x = *t.end_to_end;
        fmt::print("\nend-to-end   {} requests ({}), {:.1f} output tokens/s\n", x.requests.size(), x.arrival,
                   x.output_tokens_per_s);
        for (const auto& [name, s] : {std::pair{"TTFT", &x.ttft}, {"TPOT", &x.tpot}, {"ITL", &x.itl}, {"E2E", &x.e2e}}) {
            fmt::print("  {:<5} mean {:.2f} ms  p50 {:.2f}  p90 {:.2f}  p99 {:.2f}  (n = {})\n", name, s->mean_ms,
                       s->p50_ms, s->p90_ms, s->p99_ms, s->n);
        }
    }
    const auto& m = t.memory;
    fmt::print("\nmemory       weights {}, KV cache {}", bytes(static_cast<double>(m.weight_bytes)),
               bytes(static_cast<double>(m.kv_cache_bytes)));
    if (m.peak_allocated_bytes >= 0) {
        fmt::print(", peak allocated {}, reserved {}", bytes(static_cast<double>(m.peak_allocated_bytes)),
                   bytes(static_cast<double>(m.peak_reserved_bytes)));
    }
    if (m.peak_rss_bytes >= 0) fmt::print(", peak RSS {}", bytes(static_cast<double>(m.peak_rss_bytes)));
    fmt::print("\n");
    for (const auto& w : t.warnings) fmt::print("warning: {}\n", w);
}

std::string ms(const report::LatencyStats& s, const char* field) {
    if (s.n == 0) return "-";
    const double v = std::string(field) == "mean" ? s.mean_ms : std::string(field) == "p50" ? s.p50_ms
                     : std::string(field) == "p90" ? s.p90_ms : s.p99_ms;
    return fmt::format("{:.2f}", v);
}

// $ per million output tokens of each run at the instance's price (cost::usd_per_million_tokens
// over the run's output tokens/s); the run at the highest rate meeting the SLO is marked, and
// with an SLO search it is the figure that matters: the price of serving within the SLO.
nlohmann::json served_cost(const report::ServedBenchResult& r, const BenchOptions& o) {
    nlohmann::json runs = nlohmann::json::array();
    std::optional<double> at_slo;
    for (const auto& run : r.runs) {
        if (run.output_tokens_per_s <= 0) continue;
        const double usd = cost::usd_per_million_tokens(o.usd_per_hour * static_cast<double>(o.gpus), run.output_tokens_per_s);
        const bool slo_rate = r.max_rate_meeting_slo && run.rate_per_s == *r.max_rate_meeting_slo && run.slo_met;
        if (slo_rate) at_slo = usd;
        runs.push_back({{"arrival", run.arrival}, {"rate_per_s", std::isfinite(run.rate_per_s) ? nlohmann::json(run.rate_per_s) : nlohmann::json("inf")},
                        {"output_tokens_per_s", run.output_tokens_per_s}, {"usd_per_million_tokens", usd},
                        {"at_slo_rate", slo_rate}});
    }
    nlohmann::json j = {{"usd_per_hour", o.usd_per_hour}, {"gpus", o.gpus}, {"runs", runs}};
    j["usd_per_million_tokens_at_slo_rate"] = at_slo ? nlohmann::json(*at_slo) : nlohmann::json(nullptr);
    if (!at_slo) {
        j["note"] = r.search_log.empty() ? "no SLO search (--find-max-rate with an SLO): no rate meeting it"
                                         : "no rate tried met the SLO";
    }
    return j;
}

void print_served(const report::ServedBenchResult& r, const BenchOptions& o) {
    const bool priced = o.usd_per_hour > 0;
    if (o.json) {
        nlohmann::json j = {{"server", r}};
        if (priced) j["cost"] = served_cost(r, o);
        fmt::print("{}\n", j.dump(2));
        return;
    }
    fmt::print("server       {} model {}{}\n", r.url, r.model,
               r.max_model_len > 0 ? fmt::format(" (max_model_len {})", r.max_model_len) : "");
    fmt::print("prompts      {}\n", r.prompts_path);
    for (const auto& run : r.runs) {
        fmt::print("\n{} arrivals{}, concurrency {}, {} requests ({} ok, {} failed, {} retries), {:.2f} s\n",
                   run.arrival, run.arrival == "sequential" ? "" : fmt::format(" at {:.4g}/s (achieved {:.4g}/s)", run.rate_per_s, run.achieved_rate_per_s),
                   run.concurrency == 0 ? std::string("unlimited") : std::to_string(run.concurrency), run.requests_sent,
                   run.requests_ok, run.requests_failed, run.retries, run.duration_s);
        fmt::print("  {:<34} {:>9} {:>9} {:>9} {:>9} {:>7}\n", "metric (ms)", "mean", "p50", "p90", "p99", "n");
        const std::pair<const char*, const report::LatencyStats*> rows[] = {
            {"TTFT", &run.ttft}, {"TPOT (vLLM: (E2E-TTFT)/(n-1))", &run.tpot}, {"ITL (vLLM: gaps pooled)", &run.itl},
            {"E2E", &run.e2e}, {"ITL (GuideLLM: per-request mean)", &run.itl_per_request_mean},
            {"TPOT (GuideLLM: E2E/n)", &run.tpot_including_first}};
        for (const auto& [name, s] : rows) {
            fmt::print("  {:<34} {:>9} {:>9} {:>9} {:>9} {:>7}\n", name, ms(*s, "mean"), ms(*s, "p50"), ms(*s, "p90"),
                       ms(*s, "p99"), s->n);
        }
        fmt::print("  throughput {:.2f} requests/s, {:.1f} output tokens/s, {:.1f} total tokens/s\n",
                   run.request_throughput_per_s, run.output_tokens_per_s, run.total_tokens_per_s);
        if (run.slo) {
            fmt::print("  SLO {}: goodput {:.2f} requests/s\n", run.slo_met ? "met" : "NOT met", run.goodput_per_s);
        }
        for (const auto& f : run.failure_reasons) fmt::print("  failed: {}\n", f);
        for (const auto& w : run.warnings) fmt::print("  warning: {}\n", w);
    }
    if (!r.search_log.empty()) {
        fmt::print("\nsearch for the highest rate meeting the SLO:\n");
        for (const auto& l : r.search_log) fmt::print("  {}\n", l);
        if (r.max_rate_meeting_slo) {
            fmt::print("highest rate meeting the SLO: {:.4g} requests/s\n", *r.max_rate_meeting_slo);
        } else {
            fmt::print("no rate tried met the SLO\n");
        }
    }
    if (priced) {
        const auto c = served_cost(r, o);
        fmt::print("\ncost at {:.4g} $/h x {} GPU(s):\n", o.usd_per_hour, o.gpus);
        for (const auto& run : c.at("runs")) {
            fmt::print("  {} {}: {:.1f} output tokens/s -> {:.4f} $/M tokens{}\n", run.at("arrival").get<std::string>(),
                       run.at("rate_per_s").dump(), run.at("output_tokens_per_s").get<double>(),
                       run.at("usd_per_million_tokens").get<double>(),
                       run.at("at_slo_rate").get<bool>() ? "  <- the highest rate meeting the SLO" : "");
        }
        if (c.contains("note")) fmt::print("  {}\n", c.at("note").get<std::string>());
    }
}

void run_served(BenchOptions& o, Context& ctx) {
    if (o.prompts.empty()) throw_bad_input("bench --server: --prompts FILE.jsonl is required");
    if (o.slo_ttft_p99_ms > 0 || o.slo_tpot_p99_ms > 0 || o.slo_e2e_p99_ms > 0) {
        o.load.load.slo = report::Slo{o.slo_ttft_p99_ms, o.slo_tpot_p99_ms, o.slo_e2e_p99_ms};
    }
    o.load.load.keep_requests = !o.no_requests;
    o.load.load.seed = static_cast<std::uint64_t>(o.perf.seed);
    const serve::Client client(o.server);
    const auto prompts = serve::load_prompts(o.prompts);
    auto r = serve::bench_server(client, prompts, o.load);
    r.prompts_path = o.prompts;
    print_served(r, o);
    // Every request failed: no number to report, and that is an error, not a result.
    bool any_ok = false;
    for (const auto& run : r.runs) any_ok = any_ok || run.requests_ok > 0;
    ctx.exit_code = any_ok ? 0 : 3;
    if (!any_ok) {
        throw_runtime("server {}: every request failed ({})", r.url,
                      r.runs.empty() || r.runs.front().failure_reasons.empty() ? "no reason" : r.runs.front().failure_reasons.front());
    }
}

}  // namespace

void add_bench_command(CLI::App& app, Context& ctx) {
    auto o = std::make_shared<BenchOptions>();
    CLI::App* cmd = app.add_subcommand("bench", "Throughput of one model: decode, prefill, end-to-end");
    cmd->add_option("MODEL", o->model.path, "HF model directory (config.json alone with --random-weights); "
                                            "omit with --server");
    auto* server = cmd->add_option("--server", o->server.url,
                                   "Load-test a served model: base URL of an OpenAI-compatible server, e.g. "
                                   "http://127.0.0.1:8000/v1");
    cmd->add_option("--server-model", o->server.model, "--server: the served model's name (default: the only one)")
        ->needs(server);
    cmd->add_option("--api-key-env", o->server.api_key_env, "--server: environment variable holding the API key")
        ->needs(server);
    cmd->add_option("--timeout", o->server.timeout_s, "--server: seconds per request")->capture_default_str()->needs(server);
    cmd->add_option("--retries", o->server.max_retries, "--server: retries after 429 / 5xx / connection errors")
        ->capture_default_str()->needs(server);
    cmd->add_option("--concurrency", o->load.load.concurrency, "--server: most requests in flight (0: unlimited)")
        ->capture_default_str()->needs(server);
    cmd->add_option("--burstiness", o->load.load.burstiness, "--server --arrival gamma: shape (1 = poisson)")
        ->capture_default_str()->needs(server);
    cmd->add_option("--rates", o->load.rates, "--server: a sweep over these rates (requests/s)")->delimiter(',')->needs(server);
    cmd->add_flag("--find-max-rate", o->load.find_max_rate, "--server: search the highest rate meeting the SLO")->needs(server);
    cmd->add_option("--slo-ttft-p99-ms", o->slo_ttft_p99_ms, "--server: SLO bound on P99 TTFT")->needs(server);
    cmd->add_option("--slo-tpot-p99-ms", o->slo_tpot_p99_ms, "--server: SLO bound on P99 TPOT")->needs(server);
    cmd->add_option("--slo-e2e-p99-ms", o->slo_e2e_p99_ms, "--server: SLO bound on P99 E2E latency")->needs(server);
    cmd->add_flag("--ignore-eos", o->load.load.ignore_eos, "--server: ask for exactly --max-new-tokens (vLLM, SGLang)")
        ->needs(server);
    cmd->add_flag("--no-requests", o->no_requests, "--server --json: leave out the per-request records")->needs(server);
    cmd->add_option("--usd-per-hour", o->usd_per_hour,
                    "--server: price of one GPU of the serving instance per hour: $ per million output tokens of each "
                    "run, and at the highest rate meeting the SLO")
        ->check(CLI::NonNegativeNumber)
        ->needs(server);
    cmd->add_option("--gpus", o->gpus, "--server --usd-per-hour: GPUs of the serving instance")
        ->capture_default_str()
        ->check(CLI::PositiveNumber)
        ->needs(server);
    cmd->add_option("--batch-sizes", o->perf.batch_sizes, "Decode batch sizes")->delimiter(',')->capture_default_str();
    cmd->add_option("--context", o->perf.context, "Cached tokens when the timed decode steps start")
        ->capture_default_str();
    cmd->add_option("--steps", o->perf.decode_steps, "Timed decode steps per repetition")->capture_default_str();
    cmd->add_option("--prefill", o->perf.prefill_lengths, "Prefill lengths (tokens)")->delimiter(',')->capture_default_str();
    cmd->add_option("--warmup", o->perf.warmup, "Untimed iterations before timing")->capture_default_str();
    cmd->add_option("--repetitions", o->perf.repetitions, "Timed repetitions (at least)")->capture_default_str();
    cmd->add_option("--ci-target", o->perf.ci_target_percent,
                    "Add repetitions while the 95% interval of tokens/s is wider than +/- this % (0: off)")
        ->capture_default_str();
    cmd->add_option("--max-repetitions", o->perf.max_repetitions, "Most repetitions --ci-target may reach (0: 4x)")
        ->capture_default_str();
    cmd->add_option("--time-budget", o->perf.time_budget_s, "Timed seconds per scenario before no more are added")
        ->capture_default_str();
    cmd->add_option("--prompts", o->perf.prompts, "End-to-end: .jsonl prompt file (\"input_ids\" per line)");
    cmd->add_option("--arrival", o->perf.arrival, "End-to-end: sequential | poisson (--server also: gamma | constant)")
        ->capture_default_str();
    cmd->add_option("--rate", o->perf.rate_per_s, "End-to-end poisson: requests per second (--server: inf = all at once)")
        ->capture_default_str();
    cmd->add_option("--max-new-tokens", o->perf.max_new_tokens, "End-to-end: tokens per request")->capture_default_str();
    cmd->add_option("--requests", o->perf.requests, "End-to-end: requests (0: each prompt once)");
    cmd->add_flag("--no-cuda-graph", o->no_cuda_graph, "Decode eagerly on a GPU");
    cmd->add_option("--dtype", o->model.dtype,
                    "float32 | float16 | bfloat16 (default: per device and architecture, e.g. bfloat16 on a CPU "
                    "with avx512_bf16)");
    cmd->add_option("--device", o->model.device, "cpu | cuda | cuda:N")->capture_default_str();
    cmd->add_option("--quantize", o->quantize, "Run-time quantization SPEC, e.g. rtn:bits=4,group_size=128");
    cmd->add_flag("--gguf-dequantize", o->model.gguf_dequantize,
                  ".gguf: dequantize every tensor at load (default: Q8_0 / Q4_0 Linears stay low-bit)");
    cmd->add_option("--threads", o->model.threads, "CPU threads (0: LibTorch's default)");
    cmd->add_flag("--random-weights", o->model.random_weights, "Random weights from config.json (speed only)");
    cmd->add_option("--seed", o->perf.seed, "Seed of random tokens, weights and arrivals")->capture_default_str();
    cmd->add_flag("--json", o->json, "Print one JSON object");
    cmd->callback([o, &ctx] {
        if (!o->server.url.empty()) {
            if (!o->model.path.empty()) throw_bad_input("bench: give MODEL or --server, not both");
            o->prompts = o->perf.prompts.string();
            o->load.load.arrival = o->perf.arrival;
            o->load.load.rate_per_s = o->perf.rate_per_s;
            o->load.load.max_new_tokens = o->perf.max_new_tokens;
            o->load.load.requests = o->perf.requests;
            run_served(*o, ctx);
            return;
        }
        if (o->model.path.empty()) throw_bad_input("bench: MODEL is required (or --server URL)");
        if (!o->quantize.empty()) o->model.quantize = config::parse_quantize_spec(o->quantize);
        o->perf.cuda_graph = !o->no_cuda_graph;
        o->model.seed = o->perf.seed;
        print(eval::run_bench(o->model, o->perf), *o);
        ctx.exit_code = 0;
    });
}

}  // namespace qbench::cli
