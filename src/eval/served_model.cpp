#include "qbench/eval/served_model.hpp"

#include <cmath>
#include <limits>

#include "qbench/eval/tasks/decoder_lm.hpp"
#include "qbench/util/error.hpp"

namespace qbench::eval {

namespace {

class ServerTokenizer : public tokenizer::Tokenizer {
public:
    explicit ServerTokenizer(serve::ServerSpec spec) : client_(std::move(spec)) {
        const auto with = client_.tokenize("", true);
        if (with.size() == 1 && client_.tokenize("", false).empty()) {
            special_.bos = narrow(with.front());
            special_.add_bos = true;
        }
    }

    std::vector<std::int32_t> encode(std::string_view text, bool add_special) const override {
        std::vector<std::int32_t> out;
        for (const auto id : client_.tokenize(std::string(text), add_special)) out.push_back(narrow(id));
        return out;
    }
    std::string decode(const std::vector<std::int32_t>& ids, bool) const override {
        return client_.detokenize(std::vector<std::int64_t>(ids.begin(), ids.end()));
    }
    std::string token_bytes(std::int32_t id) const override { return decode({id}, false); }
    std::int64_t vocab_size() const override { return std::numeric_limits<std::int32_t>::max(); }
    bool is_special(std::int32_t id) const override { return special_.bos && *special_.bos == id; }

private:
    std::int32_t narrow(std::int64_t id) const {
        if (id < 0 || id > std::numeric_limits<std::int32_t>::max()) {
            throw_runtime("server {}: /tokenize returned the id {}, outside 0..2^31-1",
                          serve::redact_url(client_.spec().url), id);
        }
        return static_cast<std::int32_t>(id);
    }

    serve::Client client_;
};

}  // namespace

std::unique_ptr<tokenizer::Tokenizer> make_server_tokenizer(const serve::ServerSpec& spec) {
    return std::make_unique<ServerTokenizer>(spec);
}

ServedModel::ServedModel(serve::ServerSpec spec, std::unique_ptr<tokenizer::Tokenizer> tokenizer, std::int64_t max_top_k)
    : client_(std::move(spec)), tokenizer_(std::move(tokenizer)), max_top_k_(max_top_k) {
    if (!tokenizer_) throw_bad_input("server {}: a served model needs a local tokenizer", serve::redact_url(client_.spec().url));
    info_ = client_.model_info();
}

lm::ModelDescription ServedModel::describe() const {
    lm::ModelDescription d;
    d.name = info_.id;
    d.vocab_size = tokenizer_->vocab_size();
    d.max_context = info_.max_model_len;
    d.device = serve::redact_url(client_.spec().url);
    d.backend = "openai-http";
    return d;
}

lm::Capabilities ServedModel::capabilities() const {
    lm::Capabilities c;
    c.max_top_k = max_top_k_;
    c.local_tokenizer = true;
    c.step_timing = false;
    return c;
}

void ServedModel::score_windows(const std::vector<lm::Window>& windows, const lm::ScoreOptions& options,
                                lm::ScoreObserver& observer) {
    if (options.top_k > max_top_k_) {
        throw_bad_input("{}: top-{} log-probs asked of a server that returns at most {} ({})", options.label,
                        options.top_k, max_top_k_, serve::redact_url(client_.spec().url));
    }
    const std::int64_t vocab = tokenizer_->vocab_size();
    for (std::size_t wi = 0; wi < windows.size(); ++wi) {
        const auto& w = windows[wi];
        const auto n = static_cast<std::int64_t>(w.ids.size());
        if (w.score_from < 1 || w.score_from >= n) {
            throw_bad_input("{}: window {} scores from {} of {} tokens", options.label, wi, w.score_from, n);
        }
        std::vector<std::int64_t> ids(w.ids.begin(), w.ids.end());
        const auto p = client_.score_prompt(ids, std::max<std::int64_t>(1, options.top_k));
        const std::int64_t T = n - w.score_from;
        std::vector<float> target_logp(static_cast<std::size_t>(T));
        for (std::int64_t t = 0; t < T; ++t) {
            const double lp = p.logprobs[static_cast<std::size_t>(w.score_from + t)];
            if (!std::isfinite(lp)) {
                throw_runtime("{}: window {}: the server's log-prob of token {} is {}", options.label, wi,
                              w.score_from + t, lp);
            }
            target_logp[static_cast<std::size_t>(t)] = static_cast<float>(lp);
        }
        std::vector<std::int32_t> top_ids;
        std::vector<float> top_logp;
        lm::WindowScores s;
        s.positions = T;
        s.vocab_size = vocab;
        s.targets = std::span<const std::int32_t>(w.ids.data() + w.score_from, static_cast<std::size_t>(T));
        s.target_logp = target_logp;
        if (options.top_k > 0) {
            if (p.top.empty()) {
                throw_runtime("{}: the server ({}) names its top tokens by text, not by id, so top-k log-probs cannot "
                              "be matched to the vocabulary",
                              options.label, serve::redact_url(client_.spec().url));
            }
            const auto k = static_cast<std::size_t>(options.top_k);
            for (std::int64_t t = 0; t < T; ++t) {
                const auto& row = p.top[static_cast<std::size_t>(w.score_from + t)];
                if (row.size() < k) {
                    throw_runtime("{}: window {}: the server listed {} top log-probs at token {}, {} were asked "
                                  "(a run's variant: set server.top_logprobs to what the server returns)",
                                  options.label, wi, row.size(), w.score_from + t, k);
                }
                for (std::size_t j = 0; j < k; ++j) {
                    top_ids.push_back(static_cast<std::int32_t>(row[j].first));
                    top_logp.push_back(static_cast<float>(row[j].second));
                }
            }
            s.k = options.top_k;
            s.top_ids = top_ids;
            s.logp = top_logp;
        }
        observer.window(wi, w, s);
    }
}

std::vector<lm::LoglikelihoodResult> ServedModel::loglikelihood(const std::vector<lm::LoglikelihoodRequest>& requests) {
    std::vector<lm::LoglikelihoodResult> out;
    out.reserve(requests.size());
    const auto prefix = tokenizer_->bos_id() ? tokenizer_->bos_id() : tokenizer_->eos_id();
    for (const auto& r : requests) {
        auto [ctx, cont] = tasks::encode_pair(*tokenizer_, r.context, r.continuation, prefix.value_or(0), true);
        const auto ll = client_.loglikelihood(std::vector<std::int64_t>(ctx.begin(), ctx.end()),
                                              std::vector<std::int64_t>(cont.begin(), cont.end()));
        lm::LoglikelihoodResult x;
        x.logprob = ll.logprob;
        x.is_greedy = ll.is_greedy;
        x.tokens = ll.tokens;
        if (!std::isfinite(x.logprob)) x.nonfinite = "the server returned a non-finite log-prob";
        out.push_back(std::move(x));
    }
    return out;
}

std::vector<std::string> ServedModel::generate(const std::vector<std::string>& prompts, const lm::GenerationOptions& o) {
    std::vector<std::string> out;
    out.reserve(prompts.size());
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        const auto ids = tokenizer_->encode(prompts[i], true);
        serve::Client::GenerateOptions g;
        g.max_tokens = o.max_gen_toks;
        g.stop = o.until;
        g.temperature = o.temperature;
        if (o.temperature > 0) g.seed = o.seed + i;
        out.push_back(client_.generate(std::vector<std::int64_t>(ids.begin(), ids.end()), g));
    }
    return out;
}

lm::TimedGeneration ServedModel::generate_tokens(const lm::TokenIds&, const lm::TokenGenerationOptions&) {
    throw_bad_input("server {}: token-level timing of a served model is its load test (`qbench bench --server`)",
                    serve::redact_url(client_.spec().url));
}

}  // namespace qbench::eval
