// lm::LanguageModel on the LibTorch decoder (model + quant) and, when the checkpoint has one, its
// tokenizer: the local implementation of the seam. score_windows runs the perplexity forward
// passes (right-padded batches of windows, float32 log_softmax of float32 logits, full
// distributions copied to the host only when asked for); loglikelihood and generate are
// tasks::DecoderLM's (lm-eval's HF backend); generate_tokens is model::Generator's greedy decode
// with per-step host timestamps. The header is torch-free.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "qbench/eval/tasks/decoder_lm.hpp"
#include "qbench/lm/language_model.hpp"

namespace qbench::model {
class Decoder;
class Generator;
}  // namespace qbench::model
namespace qbench::tokenizer {
class Tokenizer;
}

namespace qbench::eval {

struct LocalModelOptions {
    std::string name;                  // shown by describe()
    tasks::DecoderLMOptions tasks;     // loglikelihood / generate batching and max length
    bool cuda_graph = true;            // generate_tokens: replay decode steps as a CUDA graph
};

class LocalModel : public lm::LanguageModel {
public:
    // `tok` may be null (pre-tokenized perplexity, throughput): then loglikelihood and generate
    // throw kBadInput.
    LocalModel(const model::Decoder& decoder, const tokenizer::Tokenizer* tok, LocalModelOptions options = {});
    ~LocalModel() override;

    lm::ModelDescription describe() const override;
    lm::Capabilities capabilities() const override;
    void score_windows(const std::vector<lm::Window>& windows, const lm::ScoreOptions& options,
                       lm::ScoreObserver& observer) override;
    std::vector<lm::LoglikelihoodResult> loglikelihood(const std::vector<lm::LoglikelihoodRequest>& requests) override;
    std::vector<std::string> generate(const std::vector<std::string>& prompts,
                                      const lm::GenerationOptions& options) override;
    void prepare_generation(std::int64_t max_total_tokens) override;
    lm::TimedGeneration generate_tokens(const lm::TokenIds& prompt, const lm::TokenGenerationOptions& options) override;

    const model::Decoder& decoder() const { return *decoder_; }
    // The text side (null without a tokenizer), for tests of request sharing.
    const tasks::DecoderLM* text_model() const { return text_.get(); }

private:
    tasks::DecoderLM& text();

    const model::Decoder* decoder_;
    const tokenizer::Tokenizer* tok_;
    LocalModelOptions options_;
    std::unique_ptr<tasks::DecoderLM> text_;
    std::unique_ptr<model::Generator> generator_;
    std::int64_t generator_capacity_ = 0;
};

}  // namespace qbench::eval
