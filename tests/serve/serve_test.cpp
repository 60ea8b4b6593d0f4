// The served-model client (serve/): the SSE parser, the load metrics from known request times
// (exact), arrival schedules, and load runs against tests/serve/fake_openai_server.py with
// scripted delays and faults: each fault ends in a counted failure or a clear error.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <numeric>

#include "qbench/report/serving.hpp"
#include "qbench/serve/client.hpp"
#include "qbench/serve/load.hpp"
#include "qbench/serve/sse.hpp"
#include "qbench/util/error.hpp"
#include "serve/fake_server.hpp"

namespace qbench::serve {
namespace {

using testing_serve::FakeServer;

std::vector<std::string> events_of(const std::vector<std::string>& chunks, SseParser** out = nullptr) {
    std::vector<std::string> events;
    SseParser p([&](std::string_view d) { events.emplace_back(d); });
    for (const auto& c : chunks) p.feed(c);
    p.finish();
    return events;
}

TEST(Sse, SplitsEventsAcrossChunkBoundariesAndLineEndings) {
    // A CRLF split between two chunks, a CR-only line end, a comment, multi-line data, and a
    // last event without the blank line.
    const auto e = events_of({"data: {\"a\":1}\r", "\n\r\n: keep-alive\n\ndata: x\ndata:y\n\n", "data: [DO", "NE]\r\r",
                              "event: message\ndata: tail"});
    ASSERT_EQ(e.size(), 4u);
    EXPECT_EQ(e[0], "{\"a\":1}");
    EXPECT_EQ(e[1], "x\ny");
    EXPECT_EQ(e[2], "[DONE]");
    EXPECT_EQ(e[3], "tail");
}

TEST(Sse, CountsLinesThatAreNotFields) {
    std::vector<std::string> events;
    SseParser p([&](std::string_view d) { events.emplace_back(d); });
    p.feed("data: 1\n\nhello world\n\ndata: 2\n\n");
    p.finish();
    EXPECT_EQ(events.size(), 2u);
    EXPECT_EQ(p.malformed_lines(), 1u);
    EXPECT_EQ(p.first_malformed(), "hello world");
}

report::ServedRequest request(double ttft, double e2e, std::int64_t tokens, std::vector<double> itl) {
    report::ServedRequest q;
    q.ok = true;
    q.attempts = 1;
    q.ttft_ms = ttft;
    q.e2e_ms = e2e;
    q.output_tokens = tokens;
    q.prompt_tokens = 10;
    q.chunks = static_cast<std::int64_t>(itl.size()) + 1;
    q.itl_ms = std::move(itl);
    q.tpot_ms = tokens > 1 ? (e2e - ttft) / static_cast<double>(tokens - 1) : std::nan("");
    return q;
}

TEST(LoadMetrics, HandComputedFromKnownRequestTimes) {
    std::vector<report::ServedRequest> qs = {request(100, 400, 4, {100, 100, 100}),
                                             request(200, 300, 3, {40, 60}),
                                             request(50, 50, 1, {})};
    report::ServedRequest failed;
    failed.ok = false;
    failed.attempts = 3;
    failed.error = "HTTP 500: boom";
    qs.push_back(failed);
    for (std::size_t i = 0; i < qs.size(); ++i) qs[i].arrival_s = qs[i].sent_s = 0.1 * static_cast<double>(i);
    LoadOptions o;
    o.arrival = "constant";
    o.rate_per_s = 10;
    o.max_new_tokens = 4;
    o.slo = report::Slo{150, 60, 0};
    const auto r = summarize_load(qs, o, 2.0);
    EXPECT_EQ(r.requests_sent, 4);
    EXPECT_EQ(r.requests_ok, 3);
    EXPECT_EQ(r.requests_failed, 1);
    EXPECT_EQ(r.retries, 2);
    ASSERT_EQ(r.failure_reasons.size(), 1u);
    EXPECT_EQ(r.failure_reasons[0], "1 x HTTP 500: boom");
    EXPECT_DOUBLE_EQ(r.ttft.mean_ms, (100.0 + 200.0 + 50.0) / 3);
    EXPECT_DOUBLE_EQ(r.ttft.p50_ms, 100.0);
    // vLLM: TPOT per request (400-100)/3 = 100 and (300-200)/2 = 50; the one-token request has none.
    EXPECT_EQ(r.tpot.n, 2);
    EXPECT_DOUBLE_EQ(r.tpot.mean_ms, 75.0);
    // ITL pooled: 100, 100, 100, 40, 60.
    EXPECT_EQ(r.itl.n, 5);
    EXPECT_DOUBLE_EQ(r.itl.mean_ms, 80.0);
    EXPECT_DOUBLE_EQ(r.itl.p50_ms, 100.0);
    // GuideLLM: per-request mean ITL 100 and 50; TPOT including the first token 400/4, 300/3, 50/1.
    EXPECT_DOUBLE_EQ(r.itl_per_request_mean.mean_ms, 75.0);
    EXPECT_DOUBLE_EQ(r.tpot_including_first.mean_ms, (100.0 + 100.0 + 50.0) / 3);
    EXPECT_DOUBLE_EQ(r.output_tokens_per_s, 8.0 / 2.0);
    EXPECT_DOUBLE_EQ(r.total_tokens_per_s, (8.0 + 30.0) / 2.0);
    EXPECT_DOUBLE_EQ(r.request_throughput_per_s, 1.5);
    // Goodput: TTFT <= 150 and TPOT <= 60: only the 50 ms one-token request (no TPOT) and ... the
    // first has TPOT 100 (> 60), the second TTFT 200 (> 150): one request in 2 s.
    EXPECT_DOUBLE_EQ(r.goodput_per_s, 0.5);
    EXPECT_FALSE(r.slo_met);  // a failure, and P99s over the bounds
}

TEST(LoadMetrics, SloMetWhenEveryP99IsWithinItsBound) {
    std::vector<report::ServedRequest> qs = {request(10, 100, 10, std::vector<double>(9, 10.0)),
                                             request(12, 102, 10, std::vector<double>(9, 10.0))};
    LoadOptions o;
    o.slo = report::Slo{20, 11, 0};
    const auto r = summarize_load(qs, o, 1.0);
    EXPECT_TRUE(r.slo_met);
    EXPECT_DOUBLE_EQ(r.goodput_per_s, 2.0);
}

TEST(LoadMetrics, FlagsAGrowingQueueAsNotSteady) {
    std::vector<report::ServedRequest> qs;
    for (int i = 0; i < 12; ++i) {
        auto q = request(20, 100, 5, {20, 20, 20, 20});
        q.index = i;
        q.arrival_s = 0.1 * i;
        q.sent_s = q.arrival_s + 0.05 * i * i;  // the wait for a slot grows
        qs.push_back(q);
    }
    LoadOptions o;
    o.arrival = "poisson";
    o.rate_per_s = 10;
    o.concurrency = 1;
    const auto r = summarize_load(qs, o, 8.0);
    EXPECT_FALSE(r.steady_state);
    bool queue = false;
    for (const auto& w : r.warnings) queue = queue || w.find("queue grew") != std::string::npos;
    EXPECT_TRUE(queue);
}

TEST(Arrivals, SchedulesHaveTheirRateAndShape) {
    LoadOptions o;
    o.arrival = "constant";
    o.rate_per_s = 4;
    auto t = arrival_times(o, 5);
    for (int i = 0; i < 5; ++i) EXPECT_DOUBLE_EQ(t[i], 0.25 * i);
    const std::int64_t n = 40000;
    for (const double shape : {1.0, 0.25}) {
        o.arrival = shape == 1.0 ? "poisson" : "gamma";
        o.burstiness = shape;
        o.rate_per_s = 8;
        o.seed = 7;
        t = arrival_times(o, n);
        std::vector<double> gaps;
        for (std::size_t i = 1; i < t.size(); ++i) gaps.push_back(t[i] - t[i - 1]);
        const double mean = std::accumulate(gaps.begin(), gaps.end(), 0.0) / static_cast<double>(gaps.size());
        double var = 0;
        for (double g : gaps) var += (g - mean) * (g - mean);
        var /= static_cast<double>(gaps.size() - 1);
        // mean 1/rate, CV 1/sqrt(shape); with 40k gaps the sampling error of each is under 2%
        // (poisson) to 4% (shape 0.25), so 5% bounds cannot fail by chance at this seed.
        EXPECT_NEAR(mean, 1.0 / 8, 0.05 / 8) << o.arrival;
        EXPECT_NEAR(std::sqrt(var) / mean, 1.0 / std::sqrt(shape), 0.05 / std::sqrt(shape)) << o.arrival;
        EXPECT_EQ(arrival_times(o, 10), std::vector<double>(t.begin(), t.begin() + 10));  // deterministic
    }
    o.rate_per_s = std::numeric_limits<double>::infinity();
    EXPECT_EQ(arrival_times(o, 3), std::vector<double>(3, 0.0));
}

TEST(LoadOptions, RejectsOptionsOutOfRange) {
    LoadOptions o;
    o.arrival = "bursty";
    EXPECT_THROW(validate(o), Error);
    o.arrival = "poisson";
    o.rate_per_s = 0;
    EXPECT_THROW(validate(o), Error);
    o.rate_per_s = 1;
    o.max_new_tokens = 0;
    EXPECT_THROW(validate(o), Error);
    o.max_new_tokens = 4;
    o.slo = report::Slo{};
    EXPECT_THROW(validate(o), Error);
}

std::string write_prompts(const std::string& name, const std::string& text) {
    const std::string path = ::testing::TempDir() + name;
    std::ofstream(path) << text;
    return path;
}

TEST(LoadPrompts, ReadsTextAndIdsAndNamesTheBadLine) {
    const auto p = load_prompts(write_prompts("ok.jsonl", "{\"prompt\": \"hi\"}\n\n{\"input_ids\": [1, 2]}\n"));
    ASSERT_EQ(p.size(), 2u);
    EXPECT_EQ(p[0].text, "hi");
    EXPECT_EQ(p[1].ids, (std::vector<std::int64_t>{1, 2}));
    try {
        load_prompts(write_prompts("bad.jsonl", "{\"prompt\": \"hi\"}\n{\"text\": 1}\n"));
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("bad.jsonl:2"), std::string::npos) << e.what();
    }
    EXPECT_THROW(load_prompts(write_prompts("trunc.jsonl", "{\"prompt\": \"h")), Error);
}

std::vector<LoadPrompt> prompts() { return {LoadPrompt{"hello", {}}, LoadPrompt{"", {5, 6, 7}}}; }

ServerSpec spec_of(const FakeServer& s) {
    ServerSpec spec;
    spec.url = s.url();
    spec.model = "fake";
    spec.timeout_s = 20;
    spec.backoff_s = 0.05;
    spec.max_retries = 2;
    return spec;
}

TEST(FakeServer, MetricsFollowTheScriptedDelays) {
    FakeServer server({"--ttft-ms", "60", "--itl-ms", "15"});
    const Client client(spec_of(server));
    const auto info = client.model_info();
    EXPECT_EQ(info.id, "fake");
    EXPECT_EQ(info.max_model_len, 512);
    EXPECT_EQ(client.tokenize("abc", false), (std::vector<std::int64_t>{97, 98, 99}));
    LoadOptions o;
    o.requests = 6;
    o.max_new_tokens = 8;
    const auto r = run_load(client, prompts(), o);
    EXPECT_EQ(r.requests_ok, 6);
    EXPECT_EQ(r.requests_failed, 0);
    EXPECT_EQ(r.retries, 0);
    ASSERT_EQ(r.requests.size(), 6u);
    for (const auto& q : r.requests) {
        EXPECT_EQ(q.output_tokens, 8);  // from the usage chunk
        EXPECT_EQ(q.chunks, 8);
        EXPECT_EQ(q.prompt_tokens, q.index % 2 == 0 ? 5 : 3);
        EXPECT_EQ(q.itl_ms.size(), 7u);
        // The server sleeps 60 ms before the first chunk: TTFT cannot be shorter; the upper
        // bound leaves room for a loaded 2-core machine.
        EXPECT_GE(q.ttft_ms, 60.0);
        EXPECT_LT(q.ttft_ms, 60.0 + 250.0);
        EXPECT_GE(q.e2e_ms, 60.0 + 7 * 15.0);
    }
    // Sequential: one in flight, so requests do not overlap.
    for (std::size_t i = 1; i < r.requests.size(); ++i) {
        EXPECT_GE(r.requests[i].sent_s * 1000.0, r.requests[i - 1].sent_s * 1000.0 + r.requests[i - 1].e2e_ms - 1.0);
    }
    EXPECT_GE(r.tpot.p50_ms, 15.0 * 0.9);  // sleep(15 ms) per gap; a chunk read late can shorten one gap
    EXPECT_LT(r.tpot.p50_ms, 15.0 + 30.0);
    EXPECT_GE(r.itl.p50_ms, 15.0 * 0.9);
}

TEST(FakeServer, TokensComeFromUsageWhenAChunkCarriesSeveral) {
    FakeServer server({"--ttft-ms", "5", "--itl-ms", "5", "--tokens-per-chunk", "4"});
    const Client client(spec_of(server));
    LoadOptions o;
    o.arrival = "poisson";
    o.rate_per_s = 50;
    o.requests = 8;
    o.max_new_tokens = 10;  // chunks of 4, 4, 2
    const auto r = run_load(client, prompts(), o);
    ASSERT_EQ(r.requests_ok, 8);
    for (const auto& q : r.requests) {
        EXPECT_EQ(q.output_tokens, 10);
        EXPECT_EQ(q.chunks, 3);
        EXPECT_EQ(q.itl_ms.size(), 2u);
        EXPECT_DOUBLE_EQ(q.tpot_ms, (q.e2e_ms - q.ttft_ms) / 9.0);
    }
    EXPECT_EQ(r.itl.n, 16);
}

struct FaultCase {
    const char* mode;
    std::int64_t ok;          // of 4 requests
    std::int64_t retries;     // with max_retries 2
    const char* reason;       // in the failure reason
};

class Faults : public ::testing::TestWithParam<FaultCase> {};

TEST_P(Faults, EndInACountedFailureNeverAWrongNumber) {
    const auto c = GetParam();
    FakeServer server({"--mode", c.mode, "--ttft-ms", "5", "--itl-ms", "2", "--fail-first", "3"});
    const Client client(spec_of(server));
    LoadOptions o;
    o.requests = 4;
    o.max_new_tokens = 6;
    const auto r = run_load(client, prompts(), o);
    EXPECT_EQ(r.requests_ok, c.ok) << c.mode;
    EXPECT_EQ(r.requests_failed, 4 - c.ok) << c.mode;
    EXPECT_EQ(r.retries, c.retries) << c.mode;
    if (c.ok < 4) {
        ASSERT_FALSE(r.failure_reasons.empty()) << c.mode;
        EXPECT_NE(r.failure_reasons[0].find(c.reason), std::string::npos) << r.failure_reasons[0];
    }
    EXPECT_EQ(r.ttft.n, c.ok);  // failed requests are not in the latencies
    for (const auto& q : r.requests) {
        if (!q.ok) continue;
        EXPECT_EQ(q.output_tokens, 6);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Serve, Faults,
    ::testing::Values(FaultCase{"drop", 0, 0, "stream dropped after 2 chunks"},
                      FaultCase{"http500", 0, 8, "HTTP 500: "},
                      // 429 to the first three attempts: request 0 retried twice (ok on its third
                      // attempt), request 1 once.
                      FaultCase{"burst429", 4, 3, ""},
                      FaultCase{"malformed", 0, 0, "malformed SSE event"},
                      FaultCase{"badlines", 0, 0, "malformed SSE"},
                      FaultCase{"nodone", 0, 0, "without a finish_reason or [DONE]"}),
    [](const auto& info) { return std::string(info.param.mode); });

TEST(FakeServer, ASlowFirstTokenShowsInThatRequestOnly) {
    FakeServer server({"--mode", "slowfirst", "--slow-ms", "400", "--ttft-ms", "5", "--itl-ms", "2"});
    const Client client(spec_of(server));
    LoadOptions o;
    o.requests = 3;
    o.max_new_tokens = 4;
    const auto r = run_load(client, prompts(), o);
    ASSERT_EQ(r.requests_ok, 3);
    EXPECT_GE(r.requests[0].ttft_ms, 400.0);
    EXPECT_LT(r.requests[1].ttft_ms, 400.0);
    EXPECT_DOUBLE_EQ(r.ttft.max_ms, r.requests[0].ttft_ms);
}

TEST(FakeServer, ConcurrencyBoundsRequestsInFlight) {
    FakeServer server({"--ttft-ms", "80", "--itl-ms", "1"});
    const Client client(spec_of(server));
    LoadOptions o;
    o.arrival = "poisson";
    o.rate_per_s = std::numeric_limits<double>::infinity();
    o.concurrency = 2;
    o.requests = 6;
    o.max_new_tokens = 2;
    const auto r = run_load(client, prompts(), o);
    ASSERT_EQ(r.requests_ok, 6);
    // Every request arrives at 0; with two slots, at most two are ever in flight.
    for (const auto& q : r.requests) {
        int overlapping = 0;
        for (const auto& p : r.requests) {
            const double a0 = q.sent_s * 1000, a1 = a0 + q.e2e_ms, b0 = p.sent_s * 1000, b1 = b0 + p.e2e_ms;
            overlapping += (b0 <= a0 && a0 < b1 - 1.0) ? 1 : 0;
        }
        EXPECT_LE(overlapping, 2);
    }
    EXPECT_GE(r.duration_s, 3 * 0.080);  // three rounds of two
}

TEST(FakeServer, ScoresPromptTokensFromEchoedLogprobs) {
    FakeServer server({});
    const Client client(spec_of(server));
    const std::vector<std::int64_t> ids = {3, 9, 0, 13};
    const auto s = client.score_prompt(ids, 2);
    ASSERT_EQ(s.logprobs.size(), 4u);
    EXPECT_TRUE(std::isnan(s.logprobs[0]));
    for (std::size_t i = 1; i < ids.size(); ++i) {
        EXPECT_DOUBLE_EQ(s.logprobs[i], -(1.0 + static_cast<double>(ids[i] % 7) / 10.0));
        // token 0 is listed at -0.5, above every other true token; alone, it is its own top
        EXPECT_DOUBLE_EQ(s.top_max[i], ids[i] == 0 ? -1.0 : -0.5);
    }
    ASSERT_EQ(s.top.size(), 4u);
    EXPECT_EQ(s.top[1].front(), (std::pair<std::int64_t, double>{0, -0.5}));
    EXPECT_EQ(s.top[1].back(), (std::pair<std::int64_t, double>{9, -1.2}));

    FakeServer few({"--mode", "fewlogprobs"});
    try {
        Client(spec_of(few)).score_prompt(ids, 1);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("returned 1 log-probs for a prompt of 4 tokens"), std::string::npos)
            << e.what();
    }
}

TEST(FakeServer, LoglikelihoodSumsTheContinuationAndChecksGreedy) {
    FakeServer server({});
    const Client client(spec_of(server));
    // The fake lists the true token and, when that is not token 0, token 0 at -0.5 above it.
    auto r = client.loglikelihood({3, 4}, {0});
    EXPECT_DOUBLE_EQ(r.logprob, -1.0);  // token 0: -(1 + 0/10), the only one listed: greedy
    EXPECT_EQ(r.tokens, 1);
    EXPECT_TRUE(r.is_greedy);
    r = client.loglikelihood({3, 4}, {9, 13});
    EXPECT_DOUBLE_EQ(r.logprob, -1.2 + -(1.0 + 6.0 / 10.0));
    EXPECT_EQ(r.tokens, 2);
    EXPECT_FALSE(r.is_greedy);  // -1.2 < -0.5
    EXPECT_THROW(client.loglikelihood({}, {1}), Error);
    Client::GenerateOptions g;
    g.max_tokens = 5;
    EXPECT_EQ(client.generate({1, 2}, g), "xxxxx");
    g.stop = {"xxx"};
    EXPECT_EQ(client.generate({1, 2}, g), "");
}

TEST(FakeServer, BadServersAndModelsAreClearErrors) {
    FakeServer server({});
    ServerSpec spec = spec_of(server);
    spec.model = "other";
    try {
        Client(spec).model_info();
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("no model 'other' (it serves fake)"), std::string::npos) << e.what();
    }
    spec = spec_of(server);
    spec.url = "http://127.0.0.1:1/v1";  // nothing listens on port 1
    spec.max_retries = 1;
    try {
        Client(spec).model_info();
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("no response after 2 attempts"), std::string::npos) << e.what();
    }
    spec.url = "ftp://example/v1";
    EXPECT_THROW(Client{spec}, Error);
    spec = spec_of(server);
    spec.api_key_env = "QBENCH_TEST_UNSET_KEY_VARIABLE";
    EXPECT_THROW(Client{spec}, Error);
    EXPECT_EQ(redact_url("http://user:secret@host:8000/v1"), "http://host:8000/v1");
    EXPECT_EQ(server_root("http://host:8000/v1/"), "http://host:8000");
}

TEST(FakeServer, FindsTheHighestRateMeetingTheSlo) {
    // A 1 ms TTFT bound cannot be met with a 20 ms scripted TTFT: the search halves to its
    // limit and reports no rate; requests overlap freely, so a loose bound is met at any rate.
    FakeServer server({"--ttft-ms", "20", "--itl-ms", "1"});
    const Client client(spec_of(server));
    BenchServerOptions b;
    b.load.arrival = "constant";
    b.load.rate_per_s = 20;
    b.load.requests = 4;
    b.load.max_new_tokens = 3;
    b.load.slo = report::Slo{1.0, 0, 0};  // 1 ms TTFT: impossible with a 20 ms scripted TTFT
    b.rates = {400};
    b.find_max_rate = true;
    b.search_steps = 1;
    const auto r = bench_server(client, prompts(), b);
    EXPECT_FALSE(r.max_rate_meeting_slo.has_value());
    EXPECT_EQ(r.runs.size(), 7u);  // the first rate, then six halvings, none met
    EXPECT_EQ(r.search_log.size(), 7u);
    EXPECT_DOUBLE_EQ(r.runs.back().rate_per_s, 400.0 / 64);
    const nlohmann::json j = r;
    EXPECT_EQ(j.get<report::ServedBenchResult>(), r);  // lossless JSON
    // A loose SLO is met at every rate: six doublings, the last one the answer.
    b.load.slo = report::Slo{5000.0, 0, 0};
    b.rates = {20};
    const auto loose = bench_server(client, prompts(), b);
    ASSERT_TRUE(loose.max_rate_meeting_slo.has_value());
    EXPECT_DOUBLE_EQ(*loose.max_rate_meeting_slo, 20.0 * 64);
}

}  // namespace
}  // namespace qbench::serve
