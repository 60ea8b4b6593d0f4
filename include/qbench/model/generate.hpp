// Text generation on a Decoder, as a chain of small steps (gpt-fast): left-pad a batch of
// prompts, `prefill` them into a preallocated KV cache, then `decode_one_token` until every row
// stops; `sample` picks each next token (greedy, or seeded temperature / top-k / top-p). On CUDA
// the decode step is captured once as a CUDA graph and replayed (`DecodeStep`).
//
// A batch gives every row the tokens it would get alone: padding slots are masked out and each
// row's positions start at its first real token (see KVCache).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "qbench/model/decoder.hpp"

namespace qbench::model {

using TokenIds = std::vector<std::int64_t>;

struct SamplingOptions {
    double temperature = 0.0;  // 0: greedy (argmax; the first maximum on ties)
    std::int64_t top_k = 0;    // keep the k most likely tokens; 0: all
    double top_p = 1.0;        // keep the most likely tokens up to this probability mass; 1: all
    std::uint64_t seed = 0;    // of the sampler's own generator (same seed, same draws)
};

// Called after each new token of a row with that row's generated ids so far; true stops the
// row. Stop strings are one such callback (see stop_on_strings).
using StopFn = std::function<bool(std::size_t row, const TokenIds& generated)>;

struct GenerateOptions {
    std::int64_t max_new_tokens = 128;
    SamplingOptions sampling;
    TokenIds stop_token_ids;       // e.g. EOS; the stop token is kept in the output
    StopFn stop;                   // optional
    std::int64_t pad_token_id = 0; // fills left padding (never attended to)
};

struct Generation {
    TokenIds tokens;            // the generated ids (without the prompt)
    std::string finish_reason;  // "stop_token" | "stop" (the callback) | "length"
};

struct GenerateResult {
    std::vector<Generation> rows;  // one per prompt, in order
    // Host seconds from the start of the call until each step's tokens reached the host:
    // [0] is the time to first token (prefill + first sample), later gaps are inter-token times.
    std::vector<double> token_seconds;
    bool cuda_graph = false;       // the decode steps ran as a replayed CUDA graph
    std::string note;              // e.g. why CUDA-graph capture was not used
};

// A batch of prompts left-padded to the longest.
struct PaddedBatch {
    torch::Tensor ids;  // [B, T] int64 on the CPU
    torch::Tensor pad;  // [B] int64: padding tokens in front of each row
    bool padded = false;  // any row padded
};
PaddedBatch left_pad(const std::vector<TokenIds>& prompts, std::int64_t pad_token_id);

// ids [B, T] -> logits of each row's last token [B, V] in the compute dtype. Fills cache slots
// length .. length + T - 1; only the last position goes through the LM head.
torch::Tensor prefill(const Decoder& decoder, const torch::Tensor& ids, KVCache& cache);

// tokens [B, 1] -> logits [B, V] in the compute dtype; fills one cache slot.
torch::Tensor decode_one_token(const Decoder& decoder, const torch::Tensor& tokens, KVCache& cache);

// logits [B, V] -> next tokens [B] int64 on the logits' device: the argmax when temperature is
// 0; otherwise softmax(logits / temperature) in float32, cut to top_k, then to top_p (the
// smallest most-likely set whose mass reaches top_p, at least one token), drawn with `generator`.
torch::Tensor sample(const torch::Tensor& logits, const SamplingOptions& options, at::Generator& generator);

// A generator on `device` seeded with `seed`, for sample().
at::Generator make_generator(const torch::Device& device, std::uint64_t seed);

// A stop callback for stop strings: `decode` turns a row's generated ids into text, and the row
// stops once the text contains any of `strings` (the caller trims the text after the match).
StopFn stop_on_strings(std::function<std::string(const TokenIds&)> decode, std::vector<std::string> strings);

// One decode step on a fixed cache: eager, or on CUDA with a static cache a CUDA graph captured
// at the first call and replayed after (falling back to eager, with a note, when capture fails).
class DecodeStep {
public:
    DecodeStep(const Decoder& decoder, KVCache& cache, bool cuda_graph);
    ~DecodeStep();
    DecodeStep(const DecodeStep&) = delete;
    DecodeStep& operator=(const DecodeStep&) = delete;

    // tokens [B, 1] -> logits [B, V] (compute dtype). In graph mode the result is a static
    // buffer that the next call overwrites.
    torch::Tensor operator()(const torch::Tensor& tokens);
    bool graphed() const;
    const std::string& note() const { return note_; }

private:
    struct Graph;
    void capture(const torch::Tensor& tokens);

    const Decoder& decoder_;
    KVCache& cache_;
    bool try_graph_ = false;
    std::unique_ptr<Graph> graph_;
    std::string note_;
};

// A reusable engine for batches of up to `batch` prompts with prompt + new tokens <= `capacity`:
// the cache (and on CUDA the captured decode graph) is allocated once and kept across calls.
class Generator {
public:
    Generator(const Decoder& decoder, std::int64_t batch, std::int64_t capacity, bool cuda_graph = true);

    GenerateResult generate(const std::vector<TokenIds>& prompts, const GenerateOptions& options);

    KVCache& cache() { return cache_; }
    DecodeStep& step() { return *step_; }

private:
    const Decoder& decoder_;
    KVCache cache_;
    std::unique_ptr<DecodeStep> step_;
};

// One-off generation: a Generator sized for these prompts.
GenerateResult generate(const Decoder& decoder, const std::vector<TokenIds>& prompts,
                        const GenerateOptions& options);

}  // namespace qbench::model
