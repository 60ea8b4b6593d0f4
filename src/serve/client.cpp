#include "qbench/serve/client.hpp"

#include <curl/curl.h>

#include <chrono>
#include <optional>
#include <cmath>
#include <algorithm>
#include <cstdlib>
#include <limits>
#include <memory>
#include <thread>

#include "qbench/util/error.hpp"

namespace qbench::serve {

using nlohmann::json;

namespace {

struct CurlGlobal {
    CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
    ~CurlGlobal() { curl_global_cleanup(); }
};

std::size_t append_body(char* data, std::size_t size, std::size_t n, void* user) {
    static_cast<std::string*>(user)->append(data, size * n);
    return size * n;
}

std::string strip_trailing_slash(std::string s) {
    while (!s.empty() && s.back() == '/') s.pop_back();
    return s;
}

// The server's message of an error body: OpenAI's {"error": {"message"}} or {"message"} or
// {"detail"} (FastAPI), else the first 200 bytes.
std::string server_message(const std::string& body) {
    const json j = json::parse(body, nullptr, false);
    if (j.is_object()) {
        if (j.contains("error")) {
            const auto& e = j.at("error");
            if (e.is_object() && e.contains("message") && e.at("message").is_string()) return e.at("message").get<std::string>();
            if (e.is_string()) return e.get<std::string>();
        }
        for (const char* k : {"message", "detail"}) {
            if (j.contains(k)) return j.at(k).is_string() ? j.at(k).get<std::string>() : j.at(k).dump();
        }
    }
    std::string s = body.substr(0, 200);
    for (char& c : s) {
        if (c == '\n' || c == '\r') c = ' ';
    }
    return s;
}

}  // namespace

void ensure_curl_global() {
    static CurlGlobal global;
}

bool retryable(const HttpResponse& r) {
    return r.status == 0 || r.status == 408 || r.status == 429 || r.status >= 500;
}

std::string redact_url(const std::string& url) {
    const auto scheme = url.find("://");
    const auto start = scheme == std::string::npos ? 0 : scheme + 3;
    const auto slash = url.find('/', start);
    const auto at = url.rfind('@', slash == std::string::npos ? url.size() : slash);
    if (at == std::string::npos || at < start) return url;
    return url.substr(0, start) + url.substr(at + 1);
}

std::string server_root(const std::string& url) {
    std::string s = strip_trailing_slash(url);
    if (s.size() >= 3 && s.compare(s.size() - 3, 3, "/v1") == 0) s.resize(s.size() - 3);
    return s;
}

Client::Client(ServerSpec spec) : spec_(std::move(spec)) {
    ensure_curl_global();
    spec_.url = strip_trailing_slash(spec_.url);
    if (spec_.url.rfind("http://", 0) != 0 && spec_.url.rfind("https://", 0) != 0) {
        throw_bad_input("server url '{}': not an http:// or https:// URL", redact_url(spec_.url));
    }
    if (!spec_.api_key_env.empty()) {
        const char* key = std::getenv(spec_.api_key_env.c_str());
        if (key == nullptr || *key == '\0') {
            throw_bad_input("server {}: the API key variable {} is not set", redact_url(spec_.url), spec_.api_key_env);
        }
        api_key_ = key;
    }
    if (!(spec_.timeout_s > 0) || !(spec_.connect_timeout_s > 0) || spec_.max_retries < 0 || !(spec_.backoff_s >= 0)) {
        throw_bad_input("server {}: timeouts must be > 0 s, retries >= 0 and backoff >= 0 s", redact_url(spec_.url));
    }
}

std::vector<std::string> Client::headers() const {
    std::vector<std::string> h = {"Content-Type: application/json"};
    if (!api_key_.empty()) h.push_back("Authorization: Bearer " + api_key_);
    return h;
}

HttpResponse Client::send(const std::string& url, const std::string* body) const {
    HttpResponse out;
    for (std::int64_t attempt = 0;; ++attempt) {
        std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy(curl_easy_init(), &curl_easy_cleanup);
        if (!easy) throw_runtime("server {}: libcurl could not start a transfer", redact_url(url));
        curl_slist* list = nullptr;
        for (const auto& h : headers()) list = curl_slist_append(list, h.c_str());
        std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> hold(list, &curl_slist_free_all);
        char errbuf[CURL_ERROR_SIZE] = {0};
        HttpResponse r;
        CURL* e = easy.get();
        curl_easy_setopt(e, CURLOPT_URL, url.c_str());
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &append_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &r.body);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(spec_.timeout_s * 1000));
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(spec_.connect_timeout_s * 1000));
        if (body != nullptr) {
            curl_easy_setopt(e, CURLOPT_POST, 1L);
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, body->c_str());
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
        }
        const CURLcode rc = curl_easy_perform(e);
        if (rc != CURLE_OK) {
            r.error = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
            r.status = 0;
        } else {
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r.status);
        }
        r.attempts = attempt + 1;
        out = std::move(r);
        if (!retryable(out) || attempt >= spec_.max_retries) return out;
        ++retries_;
        std::this_thread::sleep_for(std::chrono::duration<double>(spec_.backoff_s * std::pow(2.0, attempt)));
    }
}

HttpResponse Client::get(const std::string& path) const { return send(spec_.url + path, nullptr); }

HttpResponse Client::post(const std::string& path, const json& body) const {
    const std::string b = body.dump();
    return send(spec_.url + path, &b);
}

HttpResponse Client::post_root(const std::string& path, const json& body) const {
    const std::string b = body.dump();
    return send(server_root(spec_.url) + path, &b);
}

namespace {

json checked_json(const HttpResponse& r, const std::string& url) {
    if (r.status == 0) {
        throw_runtime("server {}: no response after {} attempt{}: {}", redact_url(url), r.attempts,
                      r.attempts == 1 ? "" : "s", r.error);
    }
    if (r.status != 200) {
        throw_runtime("server {}: HTTP {}{}: {}", redact_url(url), r.status,
                      r.attempts > 1 ? fmt::format(" after {} attempts", r.attempts) : "", server_message(r.body));
    }
    json j = json::parse(r.body, nullptr, false);
    if (j.is_discarded()) throw_runtime("server {}: the response is not JSON: {}", redact_url(url), server_message(r.body));
    return j;
}

}  // namespace

json Client::post_json(const std::string& path, const json& body) const {
    return checked_json(post(path, body), spec_.url + path);
}

ServedModelInfo Client::model_info() const {
    const json j = checked_json(get("/models"), spec_.url + "/models");
    if (!j.contains("data") || !j.at("data").is_array()) {
        throw_runtime("server {}/models: no \"data\" list of models in the response", redact_url(spec_.url));
    }
    std::vector<std::string> ids;
    for (const auto& m : j.at("data")) {
        if (!m.is_object() || !m.contains("id") || !m.at("id").is_string()) continue;
        ids.push_back(m.at("id").get<std::string>());
        if (!spec_.model.empty() && ids.back() != spec_.model) continue;
        if (spec_.model.empty() && j.at("data").size() != 1) continue;
        ServedModelInfo info;
        info.id = ids.back();
        for (const char* k : {"max_model_len", "context_length", "max_context_length"}) {
            if (m.contains(k) && m.at(k).is_number_integer()) info.max_model_len = m.at(k).get<std::int64_t>();
        }
        if (info.max_model_len == 0 && m.contains("meta") && m.at("meta").is_object() &&
            m.at("meta").contains("n_ctx_train") && m.at("meta").at("n_ctx_train").is_number_integer()) {
            info.max_model_len = m.at("meta").at("n_ctx_train").get<std::int64_t>();  // llama-server
        }
        return info;
    }
    std::string list;
    for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
    if (spec_.model.empty()) {
        throw_bad_input("server {}: name the model (it serves {})", redact_url(spec_.url), list.empty() ? "none" : list);
    }
    throw_bad_input("server {}: no model '{}' (it serves {})", redact_url(spec_.url), spec_.model,
                    list.empty() ? "none" : list);
}

std::vector<std::int64_t> Client::tokenize(const std::string& text, bool add_special_tokens) const {
    json body = {{"prompt", text}, {"add_special_tokens", add_special_tokens}};
    if (!spec_.model.empty()) body["model"] = spec_.model;
    const std::string url = server_root(spec_.url) + "/tokenize";
    const json j = checked_json(post_root("/tokenize", body), url);
    if (!j.contains("tokens") || !j.at("tokens").is_array()) {
        throw_runtime("server {}: the /tokenize response has no \"tokens\" list", redact_url(url));
    }
    std::vector<std::int64_t> ids;
    for (const auto& t : j.at("tokens")) {
        if (!t.is_number_integer()) throw_runtime("server {}: /tokenize returned a token that is not an id", redact_url(url));
        ids.push_back(t.get<std::int64_t>());
    }
    return ids;
}

std::string Client::detokenize(const std::vector<std::int64_t>& ids) const {
    json body = {{"tokens", ids}};
    if (!spec_.model.empty()) body["model"] = spec_.model;
    const std::string url = server_root(spec_.url) + "/detokenize";
    const json j = checked_json(post_root("/detokenize", body), url);
    if (!j.contains("prompt") || !j.at("prompt").is_string()) {
        throw_runtime("server {}: the /detokenize response has no \"prompt\" text", redact_url(url));
    }
    return j.at("prompt").get<std::string>();
}

PromptLogprobs parse_prompt_logprobs(const json& j, std::size_t n, const std::string& url) {
    const auto fail = [&](const std::string& why) -> PromptLogprobs {
        throw_runtime("server {}: cannot score prompts: {}", redact_url(url), why);
    };
    if (!j.is_object() || !j.contains("choices") || !j.at("choices").is_array() || j.at("choices").empty())
        return fail("no choices");
    const auto& c = j.at("choices").at(0);
    if (!c.is_object() || !c.contains("logprobs") || !c.at("logprobs").is_object()) {
        return fail("the response has no log-probs (does the server support echo with logprobs?)");
    }
    const auto& lp = c.at("logprobs");
    if (!lp.contains("token_logprobs") || !lp.at("token_logprobs").is_array()) return fail("no token_logprobs");
    const auto& tl = lp.at("token_logprobs");
    if (tl.size() < n) {
        return fail(fmt::format("it returned {} log-probs for a prompt of {} tokens (it does not echo the prompt's "
                                "log-probs)",
                                tl.size(), n));
    }
    PromptLogprobs out;
    out.logprobs.assign(n, std::numeric_limits<double>::quiet_NaN());
    out.top_max.assign(n, std::numeric_limits<double>::quiet_NaN());
    const bool has_top = lp.contains("top_logprobs") && lp.at("top_logprobs").is_array() && lp.at("top_logprobs").size() >= n;
    bool ids_named = has_top;
    if (has_top) out.top.resize(n);
    for (std::size_t i = 1; i < n; ++i) {
        if (!tl.at(i).is_number()) return fail(fmt::format("the log-prob of prompt token {} is {}", i, tl.at(i).dump()));
        out.logprobs[i] = tl.at(i).get<double>();
        if (!std::isfinite(out.logprobs[i]) || out.logprobs[i] > 1e-6) {
            return fail(fmt::format("the log-prob of prompt token {} is {}, not a log-probability", i, out.logprobs[i]));
        }
        if (!has_top) continue;
        const auto& t = lp.at("top_logprobs").at(i);
        if (!t.is_object()) return fail(fmt::format("top_logprobs[{}] is not an object", i));
        double best = -std::numeric_limits<double>::infinity();
        for (const auto& [key, value] : t.items()) {
            if (!value.is_number()) return fail(fmt::format("top_logprobs[{}] holds a value that is not a number", i));
            const double v = value.get<double>();
            best = std::max(best, v);
            if (ids_named && key.rfind("token_id:", 0) == 0 && key.size() > 9 && key.size() < 20 &&
                key.find_first_not_of("0123456789", 9) == std::string::npos) {
                out.top[i].emplace_back(std::stoll(key.substr(9)), v);
            } else {
                ids_named = false;
            }
        }
        out.top_max[i] = best;
    }
    if (!ids_named) out.top.clear();
    for (auto& t : out.top) std::sort(t.begin(), t.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    return out;
}

PromptLogprobs Client::score_prompt(const std::vector<std::int64_t>& ids, std::int64_t top_k) const {
    if (ids.empty()) throw_bad_input("server {}: an empty prompt has no log-probs", redact_url(spec_.url));
    json body = {{"prompt", ids},        {"max_tokens", 1}, {"echo", true},
                 {"logprobs", std::max<std::int64_t>(1, top_k)}, {"temperature", 0.0},
                 {"return_tokens_as_token_ids", true}};
    if (!spec_.model.empty()) body["model"] = spec_.model;
    return parse_prompt_logprobs(post_json("/completions", body), ids.size(), spec_.url + "/completions");
}

Client::Loglikelihood Client::loglikelihood(const std::vector<std::int64_t>& context,
                                            const std::vector<std::int64_t>& continuation) const {
    if (context.empty()) throw_bad_input("server {}: a loglikelihood needs a context token", redact_url(spec_.url));
    if (continuation.empty()) throw_bad_input("server {}: a loglikelihood needs a continuation token", redact_url(spec_.url));
    std::vector<std::int64_t> all = context;
    all.insert(all.end(), continuation.begin(), continuation.end());
    const PromptLogprobs p = score_prompt(all, 1);
    Loglikelihood out;
    out.is_greedy = true;
    for (std::size_t i = context.size(); i < all.size(); ++i) {
        out.logprob += p.logprobs[i];
        // The server lists its top token's log-prob; the true token is greedy when it has it
        // (ties included, as an argmax would pick either).
        out.is_greedy = out.is_greedy && std::isfinite(p.top_max[i]) && p.logprobs[i] >= p.top_max[i] - 1e-6;
        ++out.tokens;
    }
    return out;
}

std::string Client::generate(const std::vector<std::int64_t>& prompt, const GenerateOptions& o) const {
    json body = {{"prompt", prompt}, {"max_tokens", o.max_tokens}, {"temperature", o.temperature}};
    if (!spec_.model.empty()) body["model"] = spec_.model;
    if (!o.stop.empty()) body["stop"] = o.stop;
    if (o.seed) body["seed"] = *o.seed;
    const json j = post_json("/completions", body);
    if (!j.contains("choices") || !j.at("choices").is_array() || j.at("choices").empty() ||
        !j.at("choices").at(0).contains("text") || !j.at("choices").at(0).at("text").is_string()) {
        throw_runtime("server {}/completions: the response has no choices[0].text", redact_url(spec_.url));
    }
    std::string text = j.at("choices").at(0).at("text").get<std::string>();
    // Servers cut at stop strings already; cut again so every server behaves alike.
    std::size_t cut = text.size();
    for (const auto& s : o.stop) {
        if (!s.empty()) cut = std::min(cut, text.find(s));
    }
    text.resize(std::min(cut, text.size()));
    return text;
}

}  // namespace qbench::serve
