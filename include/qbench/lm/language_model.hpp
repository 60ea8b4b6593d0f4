// The seam between what is measured (eval's perplexity, KLD and tasks; perf's end-to-end
// scenario) and what backs the model (the LibTorch decoder today, eval::LocalModel; a served
// model later). Torch-free and free of decoder internals: everything crosses it as token ids,
// strings, log-probs in host memory and seconds.
//
// What an implementation offers is stated by capabilities(): the largest top-k of log-probs per
// position it can return (the vocabulary size when it returns full distributions, as a local
// model does; an OpenAI-compatible server returns at most ~20), whether it has a local
// tokenizer, whether its generation timestamps are per step.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace qbench::lm {

using TokenIds = std::vector<std::int32_t>;

struct ModelDescription {
    std::string name;          // the checkpoint path or the served model's name
    std::int64_t vocab_size = 0;
    std::int64_t max_context = 0;  // tokens the model reads at most
    std::string dtype;         // compute dtype ("float32", ...; empty when unknown)
    std::string device;        // "cpu", "cuda:0", a server URL
    std::string backend;       // what backs it: "libtorch", "scripted", "openai-http", ...
};

struct Capabilities {
    // The largest k of per-position log-probs score_windows can return; == vocab_size: full
    // distributions. 0: only the target tokens' log-probs.
    std::int64_t max_top_k = 0;
    bool local_tokenizer = false;   // text <-> ids without a round trip
    bool step_timing = false;       // generate_tokens' timestamps are taken per token
};

// A scoring window: the model reads ids[0 .. n-2]; the targets ids[t] for t in [score_from, n)
// are scored from the position t - 1. `block` is the index of the result block (window or
// document) the window's scores add to.
struct Window {
    TokenIds ids;
    std::int64_t score_from = 1;
    std::size_t block = 0;
};

struct ScoreOptions {
    // Per scored position: 0 only the target's log-prob; 0 < k < vocab the k most probable ids
    // and their log-probs (descending); k >= vocab the full distribution in vocabulary order.
    // More than capabilities().max_top_k is refused.
    std::int64_t top_k = 0;
    std::int64_t batch_size = 1;  // windows per forward pass (a hint; results do not depend on it)
    std::string label = "scoring";  // names the caller in errors ("perplexity (sliding)")
};

// One window's scores over its T = ids.size() - score_from scored positions. Natural-log
// log-probs, float32 as a log_softmax in float32 gives them; the spans are valid only during the
// observer call.
struct WindowScores {
    std::int64_t positions = 0;            // T
    std::int64_t vocab_size = 0;
    std::span<const std::int32_t> targets;  // [T] ids[score_from ..]
    std::span<const float> target_logp;     // [T] ln p(target)
    std::int64_t k = 0;                     // what `logp` holds: 0 nothing, k < vocab top-k, == vocab full
    std::span<const std::int32_t> top_ids;  // [T x k] row-major, descending p (empty when full)
    std::span<const float> logp;            // [T x k] (full: [T x vocab] in vocabulary order)

    bool full() const { return k > 0 && k >= vocab_size; }
};

// Sees every window's scores, windows in the order given (perplexity sums the NLL; KLD writes
// or compares distributions; lockstep KLD pairs two models' observers window by window).
class ScoreObserver {
public:
    virtual ~ScoreObserver() = default;
    virtual void window(std::size_t index, const Window& w, const WindowScores& scores) = 0;
};

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

// Token-level generation for the throughput scenarios: greedy, exactly max_new_tokens (EOS
// ignored, as vLLM's --ignore-eos), one request at a time.
struct TokenGenerationOptions {
    std::int64_t max_new_tokens = 128;
};

struct TimedGeneration {
    TokenIds tokens;                    // generated ids, without the prompt
    std::vector<double> token_seconds;  // per token: seconds from the call's start to its arrival
};

class LanguageModel {
public:
    virtual ~LanguageModel() = default;

    virtual ModelDescription describe() const = 0;
    virtual Capabilities capabilities() const = 0;

    // Scores `windows` in order, calling observer.window once per window (kBadInput for an id
    // outside the vocabulary or a top-k beyond capabilities; kRuntime for non-finite scores).
    virtual void score_windows(const std::vector<Window>& windows, const ScoreOptions& options,
                               ScoreObserver& observer) = 0;

    // One result per request, in request order.
    virtual std::vector<LoglikelihoodResult> loglikelihood(const std::vector<LoglikelihoodRequest>& requests) = 0;
    // One generated text per prompt (decoded without special tokens, cut at the first stop
    // string), in prompt order.
    virtual std::vector<std::string> generate(const std::vector<std::string>& prompts,
                                              const GenerationOptions& options) = 0;

    // Called once before a series of generate_tokens calls whose prompt + generated tokens
    // fit in `max_total_tokens` (a local model sizes its KV cache here, outside the timing).
    virtual void prepare_generation(std::int64_t max_total_tokens) { (void)max_total_tokens; }
    virtual TimedGeneration generate_tokens(const TokenIds& prompt, const TokenGenerationOptions& options) = 0;
};

}  // namespace qbench::lm
