// A client of an OpenAI-compatible server (vLLM, SGLang, llama.cpp's llama-server, TGI), over
// libcurl: JSON requests with retries, the model listing, the server's tokenizer. Torch-free.
// The load generator (serve/load.hpp) drives many streamed requests at once with curl multi.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace qbench::serve {

// Where a served model is and how to talk to it.
struct ServerSpec {
    std::string url;             // base of the OpenAI routes, e.g. http://127.0.0.1:8000/v1
    std::string model;           // the server's model name ("" = the only model it lists)
    std::string api_key_env;     // name of the environment variable holding the API key ("" = none)
    double timeout_s = 600.0;    // per request, whole transfer
    double connect_timeout_s = 10.0;
    std::int64_t max_retries = 3;    // after 429, 5xx or a connection error, before any token
    double backoff_s = 0.5;          // first retry after this, doubling
};

struct HttpResponse {
    long status = 0;             // 0: no HTTP response (error says why)
    std::string body;
    std::string error;           // libcurl's error, when the transfer failed
    std::int64_t attempts = 0;
};

// libcurl's global initialization, once per process (every transfer calls it first).
void ensure_curl_global();

// Whether a failed attempt is worth retrying: 408, 429, 5xx, or no response at all.
bool retryable(const HttpResponse& r);

// The URL without credentials (what reports and messages show).
std::string redact_url(const std::string& url);

// The server's root (the base URL without a trailing /v1): vLLM serves /tokenize there.
std::string server_root(const std::string& url);

struct ServedModelInfo {
    std::string id;
    std::int64_t max_model_len = 0;  // 0: the listing does not say
};

// Log-probs of a prompt's own tokens (`/v1/completions` with a token-id prompt, `echo: true`,
// `logprobs: k`, `max_tokens: 1`; the generated position dropped), what lm-eval's
// local-completions reads for loglikelihoods.
struct PromptLogprobs {
    std::vector<double> logprobs;   // ln p(token i | tokens < i); [0] is NaN (nothing conditions it)
    std::vector<double> top_max;    // the largest log-prob the server listed at position i (NaN at 0)
    // The top-k (token id, log-prob) per position, when the server names tokens by id
    // (vLLM's `return_tokens_as_token_ids`); empty otherwise.
    std::vector<std::vector<std::pair<std::int64_t, double>>> top;
};

// Reads a /v1/completions echo response for a prompt of `n` tokens (what score_prompt does with
// the server's answer); throws a one-line Error naming `url` for anything else.
PromptLogprobs parse_prompt_logprobs(const nlohmann::json& response, std::size_t n, const std::string& url);

class Client {
public:
    explicit Client(ServerSpec spec);

    // GET/POST `path` relative to the base URL (e.g. "/models", "/completions"), retried per
    // the spec. The response is returned whatever its status.
    HttpResponse get(const std::string& path) const;
    HttpResponse post(const std::string& path, const nlohmann::json& body) const;
    // POST to a path relative to the server's root (e.g. "/tokenize").
    HttpResponse post_root(const std::string& path, const nlohmann::json& body) const;

    // POST and parse: throws a one-line Error naming the URL on a transport error, a non-200
    // status (with the server's message) or a body that is not JSON.
    nlohmann::json post_json(const std::string& path, const nlohmann::json& body) const;

    // The model listing: the spec's model (or the only model listed); throws naming the models
    // the server has when the spec's is not among them.
    ServedModelInfo model_info() const;

    // The server's token ids of `text` (vLLM/SGLang `POST /tokenize`).
    std::vector<std::int64_t> tokenize(const std::string& text, bool add_special_tokens) const;
    // The server's text of `ids` (vLLM/SGLang `POST /detokenize`).
    std::string detokenize(const std::vector<std::int64_t>& ids) const;

    // The log-probs of `ids` as a prompt, with the top `top_k` (>= 1) per position. Throws a
    // one-line error when the server does not return one log-prob per prompt token (llama.cpp's
    // llama-server refuses echo, TensorRT-LLM has no prompt log-probs).
    PromptLogprobs score_prompt(const std::vector<std::int64_t>& ids, std::int64_t top_k) const;

    // ln p(continuation | context) summed over the continuation's tokens, from one scored prompt
    // (context + continuation); greedy when every continuation token is the server's top token.
    struct Loglikelihood {
        double logprob = 0.0;
        bool is_greedy = false;
        std::int64_t tokens = 0;
    };
    Loglikelihood loglikelihood(const std::vector<std::int64_t>& context, const std::vector<std::int64_t>& continuation) const;

    // A non-streamed completion of a token-id prompt: the text, cut at the first stop string.
    struct GenerateOptions {
        std::int64_t max_tokens = 256;
        std::vector<std::string> stop;
        double temperature = 0.0;
        std::optional<std::uint64_t> seed;
    };
    std::string generate(const std::vector<std::int64_t>& prompt, const GenerateOptions& options) const;

    const ServerSpec& spec() const { return spec_; }
    // Headers every request carries (content type, the API key if configured).
    std::vector<std::string> headers() const;
    std::int64_t retries() const { return retries_; }

private:
    HttpResponse send(const std::string& url, const std::string* body) const;

    ServerSpec spec_;
    std::string api_key_;
    mutable std::int64_t retries_ = 0;
};

}  // namespace qbench::serve
