#include "qbench/serve/load.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <random>

#include "qbench/report/report.hpp"
#include "qbench/serve/sse.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/log.hpp"

namespace qbench::serve {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

report::LatencyStats latency_ms(const std::vector<double>& ms) { return report::latency_stats_from_ms(ms); }

double seconds_since(Clock::time_point t0, Clock::time_point t) {
    return std::chrono::duration<double>(t - t0).count();
}

// One request in flight (or waiting for a retry).
struct Flight {
    report::ServedRequest rec;
    std::string body;
    std::string error_body;             // the body of a non-200 response
    std::unique_ptr<SseParser> sse;
    std::vector<Clock::time_point> text_times;  // arrival of each chunk with text
    Clock::time_point sent{};
    Clock::time_point last_event{};
    std::int64_t usage_prompt = -1;
    std::int64_t usage_completion = -1;
    bool done = false;                  // data: [DONE] seen
    bool finished = false;              // a choice with a finish_reason seen
    std::string stream_error;           // malformed event, an error event
    long status = 0;
    CURL* easy = nullptr;
    curl_slist* headers = nullptr;
    char errbuf[CURL_ERROR_SIZE] = {0};

    ~Flight() { release(); }
    void release() {
        if (easy != nullptr) curl_easy_cleanup(easy);
        if (headers != nullptr) curl_slist_free_all(headers);
        easy = nullptr;
        headers = nullptr;
    }
    void reset_attempt() {
        error_body.clear();
        text_times.clear();
        usage_prompt = usage_completion = -1;
        done = finished = false;
        stream_error.clear();
        status = 0;
        errbuf[0] = '\0';
    }
};

void on_event(Flight& f, std::string_view data) {
    f.last_event = Clock::now();
    if (!f.stream_error.empty()) return;
    const CompletionEvent e = parse_completion_event(data);
    f.done = f.done || e.done;
    f.finished = f.finished || e.finished;
    if (!e.error.empty()) f.stream_error = e.error;
    if (e.usage_prompt >= 0) f.usage_prompt = e.usage_prompt;
    if (e.usage_completion >= 0) f.usage_completion = e.usage_completion;
    if (e.text_choices > 0) f.text_times.push_back(f.last_event);
}

std::size_t on_bytes(char* data, std::size_t size, std::size_t n, void* user) {
    auto& f = *static_cast<Flight*>(user);
    const std::size_t bytes = size * n;
    if (f.status == 0) curl_easy_getinfo(f.easy, CURLINFO_RESPONSE_CODE, &f.status);
    if (f.status != 200) {
        if (f.error_body.size() < 4096) f.error_body.append(data, bytes);
        return bytes;
    }
    f.sse->feed(std::string_view(data, bytes));
    return bytes;
}

std::string request_body(const LoadPrompt& p, const ServerSpec& spec, const LoadOptions& o, std::int64_t index) {
    json b = {{"max_tokens", o.max_new_tokens},
              {"temperature", o.temperature},
              {"stream", true},
              {"stream_options", {{"include_usage", true}}}};
    if (!spec.model.empty()) b["model"] = spec.model;
    if (!p.ids.empty()) {
        b["prompt"] = p.ids;
    } else {
        b["prompt"] = p.text;
    }
    if (o.ignore_eos) b["ignore_eos"] = true;
    if (o.temperature > 0) b["seed"] = o.seed + static_cast<std::uint64_t>(index);
    return b.dump();
}

std::string one_line(std::string s) {
    for (char& c : s) {
        if (c == '\n' || c == '\r') c = ' ';
    }
    return s.size() > 160 ? s.substr(0, 160) + "..." : s;
}

}  // namespace

CompletionEvent parse_completion_event(std::string_view data) {
    CompletionEvent e;
    if (data == "[DONE]") {
        e.done = true;
        return e;
    }
    const json j = json::parse(data, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        e.error = fmt::format("malformed SSE event (not a JSON object): {}", one_line(std::string(data.substr(0, 80))));
        return e;
    }
    if (j.contains("error")) {
        const auto& err = j.at("error");
        e.error = "error event: " + one_line(err.is_object() && err.contains("message") ? err.at("message").dump() : err.dump());
        return e;
    }
    if (j.contains("usage") && j.at("usage").is_object()) {
        const auto& u = j.at("usage");
        if (u.contains("prompt_tokens") && u.at("prompt_tokens").is_number_integer())
            e.usage_prompt = std::max<std::int64_t>(0, u.at("prompt_tokens").get<std::int64_t>());
        if (u.contains("completion_tokens") && u.at("completion_tokens").is_number_integer())
            e.usage_completion = std::max<std::int64_t>(0, u.at("completion_tokens").get<std::int64_t>());
    }
    if (!j.contains("choices") || j.at("choices").is_null()) return e;
    if (!j.at("choices").is_array()) {
        e.error = "malformed SSE event: \"choices\" is not a list";
        return e;
    }
    for (const auto& c : j.at("choices")) {
        if (!c.is_object()) {
            e.error = "malformed SSE event: a choice is not an object";
            return e;
        }
        const bool text = (c.contains("text") && c.at("text").is_string() && !c.at("text").get_ref<const std::string&>().empty()) ||
                          (c.contains("delta") && c.at("delta").is_object() && c.at("delta").contains("content") &&
                           c.at("delta").at("content").is_string() &&
                           !c.at("delta").at("content").get_ref<const std::string&>().empty());
        e.text_choices += text ? 1 : 0;
        if (c.contains("finish_reason") && !c.at("finish_reason").is_null()) e.finished = true;
    }
    return e;
}

std::vector<LoadPrompt> load_prompts(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) throw_bad_input("{}: cannot open the prompt file", path.string());
    std::vector<LoadPrompt> out;
    std::string line;
    for (std::int64_t n = 1; std::getline(in, line); ++n) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const json j = json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) throw_bad_input("{}:{}: not a JSON object", path.string(), n);
        LoadPrompt p;
        if (j.contains("input_ids")) {
            const auto& ids = j.at("input_ids");
            if (!ids.is_array() || ids.empty()) throw_bad_input("{}:{}: \"input_ids\" must be a non-empty list", path.string(), n);
            for (const auto& t : ids) {
                if (!t.is_number_integer() || t.get<std::int64_t>() < 0)
                    throw_bad_input("{}:{}: \"input_ids\" holds something that is not a token id", path.string(), n);
                p.ids.push_back(t.get<std::int64_t>());
            }
        } else if (const char* key = j.contains("prompt") ? "prompt" : j.contains("text") ? "text" : nullptr;
                   key != nullptr && j.at(key).is_string()) {
            p.text = j.at(key).get<std::string>();
            if (p.text.empty()) throw_bad_input("{}:{}: empty \"{}\"", path.string(), n, key);
        } else {
            throw_bad_input("{}:{}: each line needs \"prompt\" or \"text\" (text), or \"input_ids\" (token ids)",
                            path.string(), n);
        }
        out.push_back(std::move(p));
    }
    if (out.empty()) throw_bad_input("{}: no prompts", path.string());
    return out;
}

void validate(const LoadOptions& o) {
    static const char* const arrivals[] = {"sequential", "poisson", "gamma", "constant"};
    if (std::find(std::begin(arrivals), std::end(arrivals), o.arrival) == std::end(arrivals)) {
        throw_bad_input("load: unknown arrival '{}' (sequential | poisson | gamma | constant)", o.arrival);
    }
    if (o.arrival != "sequential" && !(o.rate_per_s > 0)) {
        throw_bad_input("load: arrival '{}' needs a rate above 0 requests/s (inf: all at once), got {}", o.arrival,
                        o.rate_per_s);
    }
    if (o.arrival == "gamma" && !(o.burstiness > 0 && std::isfinite(o.burstiness))) {
        throw_bad_input("load: the gamma burstiness must be a finite number above 0, got {}", o.burstiness);
    }
    if (o.concurrency < 0) throw_bad_input("load: concurrency must be >= 0 (0: unlimited), got {}", o.concurrency);
    if (o.requests < 0) throw_bad_input("load: requests must be >= 0, got {}", o.requests);
    if (o.max_new_tokens < 1) throw_bad_input("load: max_new_tokens must be >= 1, got {}", o.max_new_tokens);
    if (o.slo) {
        for (double b : {o.slo->ttft_p99_ms, o.slo->tpot_p99_ms, o.slo->e2e_p99_ms}) {
            if (!(b >= 0) || !std::isfinite(b)) throw_bad_input("load: SLO bounds must be finite milliseconds >= 0");
        }
        if (o.slo->ttft_p99_ms == 0 && o.slo->tpot_p99_ms == 0 && o.slo->e2e_p99_ms == 0) {
            throw_bad_input("load: the SLO sets no bound (ttft_p99_ms, tpot_p99_ms, e2e_p99_ms)");
        }
    }
}

std::vector<double> arrival_times(const LoadOptions& o, std::int64_t n) {
    std::vector<double> t(static_cast<std::size_t>(n), 0.0);
    if (o.arrival == "sequential" || std::isinf(o.rate_per_s)) return t;
    std::mt19937_64 rng(o.seed);
    double now = 0.0;
    for (std::int64_t i = 0; i < n; ++i) {
        t[static_cast<std::size_t>(i)] = now;
        double gap = 1.0 / o.rate_per_s;
        if (o.arrival == "poisson") {
            gap = std::exponential_distribution<double>(o.rate_per_s)(rng);
        } else if (o.arrival == "gamma") {
            // shape k = burstiness, mean 1 / rate (vLLM's parameterization)
            gap = std::gamma_distribution<double>(o.burstiness, 1.0 / (o.rate_per_s * o.burstiness))(rng);
        }
        now += gap;
    }
    return t;
}

report::ServedLoadResult summarize_load(std::vector<report::ServedRequest> requests, const LoadOptions& o,
                                        double duration_s) {
    report::ServedLoadResult r;
    r.arrival = o.arrival;
    r.rate_per_s = o.arrival == "sequential" ? 0.0 : o.rate_per_s;
    r.burstiness = o.arrival == "gamma" ? o.burstiness : 1.0;
    r.concurrency = o.arrival == "sequential" ? 1 : o.concurrency;
    r.max_new_tokens = o.max_new_tokens;
    r.slo = o.slo;
    r.duration_s = duration_s;
    r.requests_sent = static_cast<std::int64_t>(requests.size());
    std::vector<double> ttft, tpot, itl, e2e, itl_mean, tpot_first;
    std::map<std::string, std::int64_t> reasons;
    std::int64_t out_tokens = 0, prompt_tokens = 0, good = 0;
    for (const auto& q : requests) {
        r.retries += std::max<std::int64_t>(0, q.attempts - 1);
        if (!q.ok) {
            ++r.requests_failed;
            ++reasons[q.error];
            continue;
        }
        ++r.requests_ok;
        out_tokens += q.output_tokens;
        prompt_tokens += q.prompt_tokens;
        ttft.push_back(q.ttft_ms);
        e2e.push_back(q.e2e_ms);
        if (std::isfinite(q.tpot_ms)) tpot.push_back(q.tpot_ms);
        itl.insert(itl.end(), q.itl_ms.begin(), q.itl_ms.end());
        if (q.output_tokens > 1) itl_mean.push_back((q.e2e_ms - q.ttft_ms) / static_cast<double>(q.output_tokens - 1));
        if (q.output_tokens > 0) tpot_first.push_back(q.e2e_ms / static_cast<double>(q.output_tokens));
        if (o.slo) {
            const auto& s = *o.slo;
            const bool meets = (s.ttft_p99_ms == 0 || q.ttft_ms <= s.ttft_p99_ms) &&
                               (s.tpot_p99_ms == 0 || !std::isfinite(q.tpot_ms) || q.tpot_ms <= s.tpot_p99_ms) &&
                               (s.e2e_p99_ms == 0 || q.e2e_ms <= s.e2e_p99_ms);
            good += meets ? 1 : 0;
        }
    }
    for (const auto& [reason, count] : reasons) r.failure_reasons.push_back(fmt::format("{} x {}", count, reason));
    r.ttft = latency_ms(ttft);
    r.tpot = latency_ms(tpot);
    r.itl = latency_ms(itl);
    r.e2e = latency_ms(e2e);
    r.itl_per_request_mean = latency_ms(itl_mean);
    r.tpot_including_first = latency_ms(tpot_first);
    const double d = duration_s > 0 ? duration_s : kNaN;
    r.request_throughput_per_s = static_cast<double>(r.requests_ok) / d;
    r.output_tokens_per_s = static_cast<double>(out_tokens) / d;
    r.total_tokens_per_s = static_cast<double>(out_tokens + prompt_tokens) / d;
    r.goodput_per_s = o.slo ? static_cast<double>(good) / d : kNaN;
    if (o.slo) {
        const auto& s = *o.slo;
        r.slo_met = r.requests_ok > 0 && r.requests_failed == 0 && (s.ttft_p99_ms == 0 || r.ttft.p99_ms <= s.ttft_p99_ms) &&
                    (s.tpot_p99_ms == 0 || r.tpot.n == 0 || r.tpot.p99_ms <= s.tpot_p99_ms) &&
                    (s.e2e_p99_ms == 0 || r.e2e.p99_ms <= s.e2e_p99_ms);
    }

    // Steady state: the arrivals were sent at the rate asked for, and neither the wait for a
    // free slot nor the time to first token grew from the first third of the run to the last.
    std::vector<const report::ServedRequest*> by_arrival;
    for (const auto& q : requests) by_arrival.push_back(&q);
    std::sort(by_arrival.begin(), by_arrival.end(),
              [](const auto* a, const auto* b) { return a->arrival_s < b->arrival_s || (a->arrival_s == b->arrival_s && a->index < b->index); });
    double scheduled_rate = kNaN;
    if (by_arrival.size() >= 2) {
        double first = std::numeric_limits<double>::infinity(), last = -first;
        for (const auto* q : by_arrival) {
            // A retried request's first send is not kept; its arrival stands in for it.
            const double first_send = q->attempts <= 1 ? q->sent_s : q->arrival_s;
            first = std::min(first, first_send);
            last = std::max(last, first_send);
        }
        r.achieved_rate_per_s = last > first ? static_cast<double>(by_arrival.size() - 1) / (last - first) : kNaN;
        const double span = by_arrival.back()->arrival_s - by_arrival.front()->arrival_s;
        scheduled_rate = span > 0 ? static_cast<double>(by_arrival.size() - 1) / span : kNaN;
    }
    // The schedule drawn (a Poisson schedule of few requests is itself off the nominal rate) is
    // what the sends are held to.
    if (r.rate_per_s > 0 && std::isfinite(scheduled_rate) && std::isfinite(r.achieved_rate_per_s) &&
        r.achieved_rate_per_s < 0.9 * scheduled_rate) {
        r.steady_state = false;
        r.warnings.push_back(fmt::format(
            "requests went out at {:.3g}/s, below the {:.3g}/s scheduled ({:.3g}/s asked for): the client waited for "
            "free slots (concurrency {}), so this is not the latency at that rate",
            r.achieved_rate_per_s, scheduled_rate, r.rate_per_s,
            r.concurrency == 0 ? std::string("unlimited") : std::to_string(r.concurrency)));
    }
    const std::size_t third = by_arrival.size() / 3;
    if (third >= 3) {
        auto mean_of = [&](std::size_t from, std::size_t to, auto field) {
            double s = 0;
            std::size_t n = 0;
            for (std::size_t i = from; i < to; ++i) {
                const auto* q = by_arrival[i];
                if (!q->ok) continue;
                s += field(*q);
                ++n;
            }
            return n ? s / static_cast<double>(n) : kNaN;
        };
        auto wait = [](const report::ServedRequest& q) { return 1000.0 * (q.sent_s - q.arrival_s); };
        auto first_token = [](const report::ServedRequest& q) { return q.ttft_ms; };
        const double w0 = mean_of(0, third, wait), w1 = mean_of(by_arrival.size() - third, by_arrival.size(), wait);
        const double t0 = mean_of(0, third, first_token),
                     t1 = mean_of(by_arrival.size() - third, by_arrival.size(), first_token);
        if (std::isfinite(w0) && std::isfinite(w1) && w1 > 2.0 * w0 + 5.0 && r.arrival != "sequential") {
            r.steady_state = false;
            r.warnings.push_back(fmt::format(
                "the client queue grew (mean wait for a slot {:.1f} ms in the first third, {:.1f} ms in the last): "
                "arrivals outpace completions, the server is saturated at this rate",
                w0, w1));
        }
        if (std::isfinite(t0) && std::isfinite(t1) && t1 > 2.0 * t0 + 5.0 && r.arrival != "sequential") {
            r.steady_state = false;
            r.warnings.push_back(fmt::format(
                "time to first token grew from {:.1f} ms (first third) to {:.1f} ms (last third): the server's queue "
                "grew, it is saturated at this rate",
                t0, t1));
        }
    }
    if (r.requests_failed > 0) {
        r.warnings.push_back(fmt::format("{} of {} requests failed; they are not in the latencies", r.requests_failed,
                                         r.requests_sent));
    }
    std::string undersampled;
    const std::pair<const char*, const report::LatencyStats*> named[] = {
        {"TTFT", &r.ttft}, {"TPOT", &r.tpot}, {"ITL", &r.itl}, {"E2E", &r.e2e}};
    for (const auto& [name, st] : named) {
        if (st->n == 0 || st->undersampled.empty()) continue;
        std::string list;
        for (const auto& u : st->undersampled) list += (list.empty() ? "" : "/") + u;
        undersampled += fmt::format("{}{} {} (n = {})", undersampled.empty() ? "" : ", ", name, list, st->n);
    }
    if (!undersampled.empty()) {
        r.warnings.push_back("under-sampled percentiles (fewer than 10 / (1 - q) samples): " + undersampled);
    }
    if (o.keep_requests) r.requests = std::move(requests);
    return r;
}

report::ServedLoadResult run_load(const Client& client, const std::vector<LoadPrompt>& prompts, const LoadOptions& o) {
    validate(o);
    if (prompts.empty()) throw_bad_input("load: no prompts");
    ensure_curl_global();
    const auto& spec = client.spec();
    const std::int64_t n = o.requests > 0 ? o.requests : static_cast<std::int64_t>(prompts.size());
    const std::vector<double> arrivals = arrival_times(o, n);
    const std::int64_t slots = o.arrival == "sequential" ? 1 : (o.concurrency > 0 ? o.concurrency : n);
    const std::string url = spec.url + "/completions";
    const std::vector<std::string> headers = [&] {
        auto h = client.headers();
        h.push_back("Accept: text/event-stream");
        return h;
    }();

    std::unique_ptr<CURLM, decltype(&curl_multi_cleanup)> multi(curl_multi_init(), &curl_multi_cleanup);
    if (!multi) throw_runtime("server {}: libcurl could not start", redact_url(spec.url));
    std::vector<std::unique_ptr<Flight>> flights;
    flights.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        auto f = std::make_unique<Flight>();
        f->rec.index = i;
        f->rec.arrival_s = arrivals[static_cast<std::size_t>(i)];
        f->body = request_body(prompts[static_cast<std::size_t>(i % static_cast<std::int64_t>(prompts.size()))], spec, o, i);
        const auto& p = prompts[static_cast<std::size_t>(i % static_cast<std::int64_t>(prompts.size()))];
        f->rec.prompt_tokens = static_cast<std::int64_t>(p.ids.size());
        flights.push_back(std::move(f));
    }

    const Clock::time_point t0 = Clock::now();
    std::size_t next = 0;                                       // next arrival not yet sent
    std::deque<std::pair<Clock::time_point, Flight*>> retry;   // waiting out a backoff, by ready time
    std::map<CURL*, Flight*> active;
    std::size_t completed = 0;
    Clock::time_point last_done = t0;

    auto start = [&](Flight& f) {
        f.release();
        f.reset_attempt();
        f.sse = std::make_unique<SseParser>([&f](std::string_view d) { on_event(f, d); });
        f.easy = curl_easy_init();
        if (f.easy == nullptr) throw_runtime("server {}: libcurl could not start a transfer", redact_url(spec.url));
        for (const auto& h : headers) f.headers = curl_slist_append(f.headers, h.c_str());
        curl_easy_setopt(f.easy, CURLOPT_URL, url.c_str());
        curl_easy_setopt(f.easy, CURLOPT_HTTPHEADER, f.headers);
        curl_easy_setopt(f.easy, CURLOPT_POST, 1L);
        curl_easy_setopt(f.easy, CURLOPT_POSTFIELDS, f.body.c_str());
        curl_easy_setopt(f.easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(f.body.size()));
        curl_easy_setopt(f.easy, CURLOPT_WRITEFUNCTION, &on_bytes);
        curl_easy_setopt(f.easy, CURLOPT_WRITEDATA, &f);
        curl_easy_setopt(f.easy, CURLOPT_ERRORBUFFER, f.errbuf);
        curl_easy_setopt(f.easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(f.easy, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(f.easy, CURLOPT_TIMEOUT_MS, static_cast<long>(spec.timeout_s * 1000));
        curl_easy_setopt(f.easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(spec.connect_timeout_s * 1000));
        ++f.rec.attempts;
        f.sent = Clock::now();
        f.rec.sent_s = seconds_since(t0, f.sent);
        curl_multi_add_handle(multi.get(), f.easy);
        active[f.easy] = &f;
    };

    auto finish = [&](Flight& f, CURLcode rc) {
        const Clock::time_point now = Clock::now();
        if (f.status == 0) curl_easy_getinfo(f.easy, CURLINFO_RESPONSE_CODE, &f.status);
        if (rc == CURLE_OK && f.status == 200) f.sse->finish();
        auto& q = f.rec;
        q.status = f.status;
        std::string error;
        if (rc != CURLE_OK) {
            error = f.text_times.empty() ? fmt::format("transfer failed: {}", f.errbuf[0] ? f.errbuf : curl_easy_strerror(rc))
                                         : fmt::format("stream dropped after {} chunks: {}", f.text_times.size(),
                                                       f.errbuf[0] ? f.errbuf : curl_easy_strerror(rc));
        } else if (f.status != 200) {
            error = fmt::format("HTTP {}: {}", f.status, one_line(f.error_body));
        } else if (!f.stream_error.empty()) {
            error = f.stream_error;
        } else if (f.sse->malformed_lines() > 0) {
            error = fmt::format("malformed SSE: {} line(s) that are not event fields, first: '{}'", f.sse->malformed_lines(),
                                f.sse->first_malformed());
        } else if (!f.done && !f.finished) {
            error = f.text_times.empty() ? "the stream ended without an event"
                                         : fmt::format("the stream ended after {} chunks without a finish_reason or [DONE]",
                                                       f.text_times.size());
        } else if (f.text_times.empty()) {
            error = "the server returned no tokens";
        }
        const bool can_retry = f.text_times.empty() && (rc != CURLE_OK || f.status == 408 || f.status == 429 ||
                                                        f.status >= 500);
        curl_multi_remove_handle(multi.get(), f.easy);
        active.erase(f.easy);
        if (!error.empty() && can_retry && q.attempts <= spec.max_retries) {
            const double wait = spec.backoff_s * std::pow(2.0, static_cast<double>(q.attempts - 1));
            retry.emplace_back(now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait)), &f);
            std::sort(retry.begin(), retry.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
            f.release();
            return;
        }
        q.ok = error.empty();
        q.error = error;
        if (q.ok) {
            const double first = seconds_since(f.sent, f.text_times.front()) * 1000.0;
            const Clock::time_point end = std::max(f.last_event, f.text_times.back());
            q.ttft_ms = first;
            q.e2e_ms = seconds_since(f.sent, end) * 1000.0;
            q.chunks = static_cast<std::int64_t>(f.text_times.size());
            q.output_tokens = f.usage_completion >= 0 ? f.usage_completion : q.chunks;
            if (f.usage_prompt >= 0) q.prompt_tokens = f.usage_prompt;
            for (std::size_t i = 1; i < f.text_times.size(); ++i)
                q.itl_ms.push_back(seconds_since(f.text_times[i - 1], f.text_times[i]) * 1000.0);
            q.tpot_ms = q.output_tokens > 1 ? (q.e2e_ms - q.ttft_ms) / static_cast<double>(q.output_tokens - 1) : kNaN;
        }
        last_done = now;
        ++completed;
        f.release();
    };

    while (completed < flights.size()) {
        const Clock::time_point now = Clock::now();
        while (!retry.empty() && retry.front().first <= now && static_cast<std::int64_t>(active.size()) < slots) {
            Flight* f = retry.front().second;
            retry.pop_front();
            start(*f);
        }
        while (next < flights.size() && static_cast<std::int64_t>(active.size()) < slots &&
               seconds_since(t0, now) >= flights[next]->rec.arrival_s) {
            start(*flights[next++]);
        }
        int running = 0;
        curl_multi_perform(multi.get(), &running);
        int left = 0;
        while (CURLMsg* m = curl_multi_info_read(multi.get(), &left)) {
            if (m->msg != CURLMSG_DONE) continue;
            const auto it = active.find(m->easy_handle);
            if (it != active.end()) finish(*it->second, m->data.result);
        }
        if (completed == flights.size()) break;
        // Sleep until the next arrival, retry or socket activity, whichever comes first.
        double wait_ms = 50.0;
        const double t = seconds_since(t0, Clock::now());
        if (next < flights.size() && static_cast<std::int64_t>(active.size()) < slots)
            wait_ms = std::min(wait_ms, std::max(0.0, (flights[next]->rec.arrival_s - t) * 1000.0));
        if (!retry.empty())
            wait_ms = std::min(wait_ms, std::max(0.0, std::chrono::duration<double, std::milli>(retry.front().first - Clock::now()).count()));
        if (!active.empty() || wait_ms > 0) curl_multi_poll(multi.get(), nullptr, 0, static_cast<int>(std::ceil(wait_ms)), nullptr);
    }
    std::vector<report::ServedRequest> records;
    records.reserve(flights.size());
    for (auto& f : flights) records.push_back(std::move(f->rec));
    return summarize_load(std::move(records), o, seconds_since(t0, last_done));
}

report::ServedBenchResult bench_server(const Client& client, const std::vector<LoadPrompt>& prompts,
                                       const BenchServerOptions& options) {
    report::ServedBenchResult out;
    out.url = redact_url(client.spec().url);
    const auto info = client.model_info();
    out.model = info.id;
    out.max_model_len = info.max_model_len;
    LoadOptions base = options.load;
    validate(base);
    auto run_at = [&](double rate) {
        LoadOptions o = base;
        if (o.arrival != "sequential") o.rate_per_s = rate;
        log::info("server {}: {} requests, arrival {}{}", out.url, o.requests > 0 ? o.requests : static_cast<std::int64_t>(prompts.size()),
                  o.arrival, o.arrival == "sequential" ? "" : fmt::format(" at {:.4g}/s", rate));
        auto r = run_load(client, prompts, o);
        log::info("server {}: ttft p50 {:.1f} ms p99 {:.1f} ms, tpot p50 {:.2f} ms p99 {:.2f} ms, {} failed", out.url,
                  r.ttft.p50_ms, r.ttft.p99_ms, r.tpot.p50_ms, r.tpot.p99_ms, r.requests_failed);
        return r;
    };
    const std::vector<double> rates = options.rates.empty() ? std::vector<double>{base.rate_per_s} : options.rates;
    for (double rate : rates) out.runs.push_back(run_at(rate));
    if (options.find_max_rate) {
        if (!base.slo) throw_bad_input("load: finding the highest rate needs an SLO");
        if (base.arrival == "sequential") throw_bad_input("load: finding the highest rate needs poisson, gamma or constant arrivals");
        if (!std::isfinite(rates.front())) throw_bad_input("load: finding the highest rate needs a finite starting rate");
        auto describe = [](double rate, const report::ServedLoadResult& r) {
            return fmt::format("rate {:.4g}/s: {} (p99 TTFT {:.1f} ms, p99 TPOT {:.2f} ms, {} failed)", rate,
                               r.slo_met ? "met" : "not met", r.ttft.p99_ms, r.tpot.p99_ms, r.requests_failed);
        };
        double rate = rates.front();
        bool met = out.runs.front().slo_met;
        out.search_log.push_back(describe(rate, out.runs.front()));
        double lo = met ? rate : 0.0, hi = met ? 0.0 : rate;
        for (int k = 0; k < 6 && (met ? hi == 0.0 : lo == 0.0); ++k) {
            rate = met ? rate * 2.0 : rate / 2.0;
            auto r = run_at(rate);
            out.search_log.push_back(describe(rate, r));
            if (r.slo_met) {
                lo = std::max(lo, rate);
            } else {
                hi = hi == 0.0 ? rate : std::min(hi, rate);
            }
            out.runs.push_back(std::move(r));
        }
        for (std::int64_t s = 0; s < options.search_steps && lo > 0 && hi > 0; ++s) {
            rate = 0.5 * (lo + hi);
            auto r = run_at(rate);
            out.search_log.push_back(describe(rate, r));
            (r.slo_met ? lo : hi) = rate;
            out.runs.push_back(std::move(r));
        }
        if (lo > 0) out.max_rate_meeting_slo = lo;
    }
    return out;
}

}  // namespace qbench::serve
