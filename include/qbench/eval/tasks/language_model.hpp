// What a task needs from a model, free of LibTorch types: loglikelihoods of continuations and
// generations until stop strings. DecoderLM (eval/tasks/decoder_lm.hpp) implements it on a
// model::Decoder; tests can implement it with scripted answers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qbench::eval::tasks {

struct LoglikelihoodRequest {
    std::string context;
    std::string continuation;
};

struct LoglikelihoodResult {
    double logprob = 0.0;          // sum of ln p(continuation token) (natural log)
    bool is_greedy = false;        // every continuation token is the argmax
    std::int64_t tokens = 0;       // continuation tokens scored
    std::string nonfinite;         // why logprob is not finite (empty when it is)
};

struct GenerationOptions {
    std::vector<std::string> until;  // stop strings: the text is cut at the first occurrence
    std::int64_t max_gen_toks = 256;
    double temperature = 0.0;        // 0: greedy (argmax)
    double top_p = 1.0;
    std::int64_t top_k = 0;
    std::uint64_t seed = 1234;       // sampling: request i uses seed + i
};

class LanguageModel {
public:
    virtual ~LanguageModel() = default;
    // One result per request, in request order.
    virtual std::vector<LoglikelihoodResult> loglikelihood(const std::vector<LoglikelihoodRequest>& requests) = 0;
    // One generated text per prompt (decoded without special tokens, cut at the first stop
    // string), in prompt order.
    virtual std::vector<std::string> generate(const std::vector<std::string>& prompts,
                                              const GenerationOptions& options) = 0;
};

}  // namespace qbench::eval::tasks
