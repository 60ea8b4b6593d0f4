#include "qbench/report/serving.hpp"

#include <cmath>
#include <limits>

#include "json_numbers.hpp"
#include "qbench/report/report.hpp"

namespace qbench::report {

using nlohmann::json;

using detail::number;
using detail::number_at;
using detail::numbers;
using detail::numbers_at;

void to_json(json& j, const ServedRequest& r) {
    j = json{{"index", r.index},           {"ok", r.ok},
             {"error", r.error},           {"status", r.status},
             {"attempts", r.attempts},     {"arrival_s", number(r.arrival_s)},
             {"sent_s", number(r.sent_s)},    {"prompt_tokens", r.prompt_tokens},
             {"output_tokens", r.output_tokens}, {"chunks", r.chunks},
             {"ttft_ms", number(r.ttft_ms)},  {"e2e_ms", number(r.e2e_ms)},
             {"tpot_ms", number(r.tpot_ms)},  {"itl_ms", numbers(r.itl_ms)}};
}

void from_json(const json& j, ServedRequest& r) {
    j.at("index").get_to(r.index);
    j.at("ok").get_to(r.ok);
    j.at("error").get_to(r.error);
    j.at("status").get_to(r.status);
    j.at("attempts").get_to(r.attempts);
    r.arrival_s = number_at(j, "arrival_s");
    r.sent_s = number_at(j, "sent_s");
    j.at("prompt_tokens").get_to(r.prompt_tokens);
    j.at("output_tokens").get_to(r.output_tokens);
    j.at("chunks").get_to(r.chunks);
    r.ttft_ms = number_at(j, "ttft_ms");
    r.e2e_ms = number_at(j, "e2e_ms");
    r.tpot_ms = number_at(j, "tpot_ms");
    r.itl_ms = numbers_at(j, "itl_ms");
}

void to_json(json& j, const Slo& s) {
    j = json{{"ttft_p99_ms", number(s.ttft_p99_ms)}, {"tpot_p99_ms", number(s.tpot_p99_ms)}, {"e2e_p99_ms", number(s.e2e_p99_ms)}};
}

void from_json(const json& j, Slo& s) {
    s.ttft_p99_ms = number_at(j, "ttft_p99_ms");
    s.tpot_p99_ms = number_at(j, "tpot_p99_ms");
    s.e2e_p99_ms = number_at(j, "e2e_p99_ms");
}

void to_json(json& j, const ServedLoadResult& r) {
    j = json{{"arrival", r.arrival},
             {"rate_per_s", number(r.rate_per_s)},
             {"burstiness", number(r.burstiness)},
             {"concurrency", r.concurrency},
             {"max_new_tokens", r.max_new_tokens},
             {"requests_sent", r.requests_sent},
             {"requests_ok", r.requests_ok},
             {"requests_failed", r.requests_failed},
             {"retries", r.retries},
             {"failure_reasons", r.failure_reasons},
             {"duration_s", number(r.duration_s)},
             {"achieved_rate_per_s", number(r.achieved_rate_per_s)},
             {"request_throughput_per_s", number(r.request_throughput_per_s)},
             {"output_tokens_per_s", number(r.output_tokens_per_s)},
             {"total_tokens_per_s", number(r.total_tokens_per_s)},
             {"ttft", r.ttft},
             {"tpot", r.tpot},
             {"itl", r.itl},
             {"e2e", r.e2e},
             {"itl_per_request_mean", r.itl_per_request_mean},
             {"tpot_including_first", r.tpot_including_first},
             {"slo", r.slo ? json(*r.slo) : json(nullptr)},
             {"slo_met", r.slo_met},
             {"goodput_per_s", number(r.goodput_per_s)},
             {"steady_state", r.steady_state},
             {"warnings", r.warnings},
             {"requests", r.requests}};
}

void from_json(const json& j, ServedLoadResult& r) {
    j.at("arrival").get_to(r.arrival);
    r.rate_per_s = number_at(j, "rate_per_s");
    r.burstiness = number_at(j, "burstiness");
    j.at("concurrency").get_to(r.concurrency);
    j.at("max_new_tokens").get_to(r.max_new_tokens);
    j.at("requests_sent").get_to(r.requests_sent);
    j.at("requests_ok").get_to(r.requests_ok);
    j.at("requests_failed").get_to(r.requests_failed);
    j.at("retries").get_to(r.retries);
    j.at("failure_reasons").get_to(r.failure_reasons);
    r.duration_s = number_at(j, "duration_s");
    r.achieved_rate_per_s = number_at(j, "achieved_rate_per_s");
    r.request_throughput_per_s = number_at(j, "request_throughput_per_s");
    r.output_tokens_per_s = number_at(j, "output_tokens_per_s");
    r.total_tokens_per_s = number_at(j, "total_tokens_per_s");
    j.at("ttft").get_to(r.ttft);
    j.at("tpot").get_to(r.tpot);
    j.at("itl").get_to(r.itl);
    j.at("e2e").get_to(r.e2e);
    j.at("itl_per_request_mean").get_to(r.itl_per_request_mean);
    j.at("tpot_including_first").get_to(r.tpot_including_first);
    r.slo.reset();
    if (j.contains("slo") && !j.at("slo").is_null()) r.slo = j.at("slo").get<Slo>();
    j.at("slo_met").get_to(r.slo_met);
    r.goodput_per_s = number_at(j, "goodput_per_s");
    j.at("steady_state").get_to(r.steady_state);
    j.at("warnings").get_to(r.warnings);
    j.at("requests").get_to(r.requests);
}

void to_json(json& j, const ServedBenchResult& r) {
    j = json{{"url", r.url},
             {"model", r.model},
             {"max_model_len", r.max_model_len},
             {"prompts_path", r.prompts_path},
             {"runs", r.runs},
             {"max_rate_meeting_slo", r.max_rate_meeting_slo ? number(*r.max_rate_meeting_slo) : json(nullptr)},
             {"search_log", r.search_log}};
}

void from_json(const json& j, ServedBenchResult& r) {
    j.at("url").get_to(r.url);
    j.at("model").get_to(r.model);
    j.at("max_model_len").get_to(r.max_model_len);
    j.at("prompts_path").get_to(r.prompts_path);
    j.at("runs").get_to(r.runs);
    r.max_rate_meeting_slo.reset();
    if (j.contains("max_rate_meeting_slo") && !j.at("max_rate_meeting_slo").is_null())
        r.max_rate_meeting_slo = j.at("max_rate_meeting_slo").get<double>();
    j.at("search_log").get_to(r.search_log);
}

}  // namespace qbench::report
