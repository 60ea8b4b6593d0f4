// lm::LanguageModel over an OpenAI-compatible server (serve::Client), with a local tokenizer for
// exact token ids: windows are scored from one echoed prompt each (the server's log-prob of
// every prompt token, the top-k it lists), loglikelihoods as lm-eval's local-completions does,
// generation through /v1/completions. A server lists at most ~20 log-probs per position (vLLM's
// max_logprobs), so full distributions (exact KLD) are not available through it.
#pragma once

#include <cstdint>
#include <memory>

#include "qbench/lm/language_model.hpp"
#include "qbench/serve/client.hpp"
#include "qbench/tokenizer/tokenizer.hpp"

namespace qbench::eval {

class ServedModel : public lm::LanguageModel {
public:
    // Reads the server's model listing (throws a one-line error when the server or the model
    // is not there). `max_top_k`: what the server returns at most per position.
    ServedModel(serve::ServerSpec spec, std::unique_ptr<tokenizer::Tokenizer> tokenizer, std::int64_t max_top_k = 20);

    lm::ModelDescription describe() const override;
    lm::Capabilities capabilities() const override;
    void score_windows(const std::vector<lm::Window>& windows, const lm::ScoreOptions& options,
                       lm::ScoreObserver& observer) override;
    std::vector<lm::LoglikelihoodResult> loglikelihood(const std::vector<lm::LoglikelihoodRequest>& requests) override;
    std::vector<std::string> generate(const std::vector<std::string>& prompts, const lm::GenerationOptions& options) override;
    // Not through a server: its load is measured by `qbench bench --server` (serve/load.hpp).
    lm::TimedGeneration generate_tokens(const lm::TokenIds& prompt, const lm::TokenGenerationOptions& options) override;

    const tokenizer::Tokenizer& tokenizer() const { return *tokenizer_; }

private:
    serve::Client client_;
    std::unique_ptr<tokenizer::Tokenizer> tokenizer_;
    serve::ServedModelInfo info_;
    std::int64_t max_top_k_;
};

// `tokenizer: server`: the server's own tokenizer through vLLM/SGLang's `POST /tokenize` and
// `/detokenize`, one round trip per text, so the ids are the server's by construction. The client
// does not know the vocabulary's size (vocab_size() is INT32_MAX: the server checks its ids);
// BOS is the one id /tokenize puts before an empty text with special tokens (add_bos then), EOS
// is unknown, and is_special() knows only that BOS. Throws a one-line error naming the server
// when it has no /tokenize.
std::unique_ptr<tokenizer::Tokenizer> make_server_tokenizer(const serve::ServerSpec& spec);

}  // namespace qbench::eval
