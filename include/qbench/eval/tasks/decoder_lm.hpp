// The text side of eval::LocalModel (loglikelihood and generate on a model::Decoder and its
// tokenizer), scoring exactly as lm-eval's HF backend
// (reference/lm-eval-harness.md §1.2-1.3, §4.1):
//  - encode_pair: trailing whitespace of the context moves to the continuation; the
//    continuation is whole[len(encode(context)):] with whole = encode(context + continuation);
//    an empty context becomes [prefix token] (BOS, else EOS) unless the continuation starts
//    with it.
//  - the model reads (context + continuation)[-(max_length + 1):][:-1] (left truncation); the
//    continuation is scored from the logits of its last len(continuation) positions.
//  - requests are deduplicated and a request whose input is a prefix of another's input (the
//    choices of one item sharing the context, MMLU's one-token answers) is served by that
//    row's forward pass, so a shared prefix is computed once; rows run longest first in
//    right-padded batches of batch_size (causal attention keeps padding from earlier positions).
//  - generation: the prompt is left-truncated to max_length - max_gen_toks tokens, decoding is
//    greedy (or seeded temperature / top-k / top-p sampling), stops at EOS, at max_gen_toks or
//    once a stop string appears, and the text is cut at the first occurrence of each stop string.
//    Greedy prompts run longest first in left-padded batches of gen_batch_size through
//    model::generate (each row gets the tokens it would get alone); sampled ones one at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "qbench/eval/tasks/language_model.hpp"

namespace qbench::model {
class Decoder;
}
namespace qbench::tokenizer {
class Tokenizer;
}

namespace qbench::eval::tasks {

using TokenIds = std::vector<std::int32_t>;

struct DecoderLMOptions {
    std::int64_t batch_size = 1;   // loglikelihood rows per forward pass
    std::int64_t max_length = 0;   // 0: the model's max_position_embeddings
    // encode(text, add_special): lm-eval 0.4.13's HF backend leaves add_special_tokens to the
    // tokenizer's default (a Llama tokenizer adds BOS) unless add_bos_token is given.
    bool add_special_tokens = true;
    // Greedy generation: prompts per left-padded batch of model::generate (0: batch_size).
    // Sampled generation (temperature > 0) runs one prompt at a time (seed + item index).
    std::int64_t gen_batch_size = 0;
};

// The (context, continuation) token split of lm-eval's _encode_pair / loglikelihood.
std::pair<TokenIds, TokenIds> encode_pair(const tokenizer::Tokenizer& tok, const std::string& context,
                                          const std::string& continuation, std::int32_t prefix_token,
                                          bool add_special_tokens);

class DecoderLM {
public:
    DecoderLM(const model::Decoder& model, const tokenizer::Tokenizer& tok, DecoderLMOptions options);

    std::vector<LoglikelihoodResult> loglikelihood(const std::vector<LoglikelihoodRequest>& requests);
    std::vector<std::string> generate(const std::vector<std::string>& prompts,
                                      const GenerationOptions& options);

    // Forward passes run by loglikelihood() so far (rows, not batches), for tests of sharing.
    std::int64_t rows_run() const { return rows_run_; }

private:
    // The prompt's tokens, left-truncated to max_length - max_gen_toks (never empty).
    TokenIds generation_prompt(const std::string& prompt, const GenerationOptions& options) const;
    // Decoded without special tokens, cut at the first occurrence of each stop string.
    std::string finish_text(const TokenIds& generated, const GenerationOptions& options) const;
    // One prompt with its own KV cache and sampler (seeded `seed`).
    std::string generate_one(const TokenIds& prompt, const GenerationOptions& options, std::uint64_t seed);

    const model::Decoder* model_;
    const tokenizer::Tokenizer* tok_;
    DecoderLMOptions options_;
    std::int32_t prefix_token_ = 0;
    std::optional<std::int32_t> eos_;
    std::int64_t rows_run_ = 0;
};

}  // namespace qbench::eval::tasks
