// Perplexity protocols (DESIGN.md, "Perplexity protocols"). Each protocol turns token streams
// into scoring windows; one scorer runs them all, so the protocols differ only in their windows.
//   sliding          per document: windows every `stride` tokens, `max_length` long; each token
//                    after the first is scored once, in the first window containing it, from
//                    the context inside that window (with stride == max_length a window's first
//                    token has no such context and is not scored, as in the transformers guide)
//   gptq             documents joined (text: "\n\n"), cut into len / max_length disjoint
//                    segments (tail dropped), tokens 1..max_length-1 of each scored
//   llama.cpp        documents joined, floor(N / n_ctx) chunks, first token -> BOS (when the
//                    tokenizer adds BOS), positions n_ctx/2 + 1 .. n_ctx - 1 scored
//   lm-eval-rolling  per document: [prefix] + tokens[:L-1] -> tokens[:L], then windows of L
//                    predictions with full context; every token scored once
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "qbench/eval/records.hpp"
#include "qbench/lm/language_model.hpp"
#include "qbench/report/results.hpp"

namespace qbench::model {
class Decoder;
}

namespace qbench::eval {

using TokenIds = lm::TokenIds;

inline const std::vector<std::string>& perplexity_protocols() {
    static const std::vector<std::string> kProtocols{"sliding", "gptq", "llama.cpp", "lm-eval-rolling"};
    return kProtocols;
}

// A scoring window (lm::Window): the model reads ids[0 .. n-2]; the targets ids[t] for t in
// [score_from, n) are scored from the logits at t - 1. `block` is the index of the result block
// (window or document) the window's NLL adds to.
using Window = lm::Window;

struct PerplexityOptions {
    std::string protocol = "sliding";
    std::int64_t max_length = 2048;
    std::int64_t stride = 512;            // sliding only
    std::int64_t batch_size = 1;          // windows per forward pass
    std::int64_t limit = 0;               // at most this many blocks (0 = all)
    // llama.cpp: the first token of each chunk becomes this id (nullopt: left as is, as
    // llama.cpp does for vocabularies that add no BOS).
    std::optional<std::int32_t> chunk_bos;
    // lm-eval-rolling: the prefix token of each document's first window (BOS, else EOS).
    std::optional<std::int32_t> prefix_token;
    // The window observer also takes top-k rows (KldScorer: a lower bound), so a model that
    // cannot return full distributions (a server) is asked for its largest top-k instead.
    bool observer_takes_top_k = false;
};

// The input after tokenization. Text input is tokenized the way each protocol's reference does:
//   documents  per document, with the tokenizer's default special tokens (sliding; as the
//              transformers guide and the seed call the tokenizer)
//   plain      per document, without special tokens (lm-eval-rolling, which adds its own prefix)
//   joined     the documents joined by "\n\n", tokenized once with the default special tokens
//              (gptq and llama.cpp, as the GPTQ code and llama-perplexity do)
// Pre-tokenized input is used as given in all three (joined = the concatenation).
struct PerplexityInput {
    std::vector<TokenIds> documents;
    std::vector<TokenIds> plain;
    std::vector<std::string> texts;  // empty for pre-tokenized input
    TokenIds joined;
};

// Sees every window's scores, windows in order (KLD vs the baseline, eval/kld.hpp): the
// seam's observer. When one is given, perplexity asks the model for full distributions.
using WindowObserver = lm::ScoreObserver;

// Checks the options against the protocol (kBadInput naming the option).
void validate(const PerplexityOptions& options);

// Windows of a protocol; `n_blocks` receives the number of result blocks.
std::vector<Window> make_windows(const PerplexityInput& input, const PerplexityOptions& options,
                                 std::size_t* n_blocks);

// Scores the windows `select` keeps (every window when it is empty; it sees the window's index
// among all of the protocol's windows; a selection should keep whole batches, records.group_size
// consecutive windows from a multiple of it) and returns their records; `observer` sees each kept
// window under that index. A shard of a sharded run scores its own windows this way.
PerplexityRecords score_perplexity(lm::LanguageModel& model, const PerplexityInput& input,
                                   const PerplexityOptions& options, WindowObserver* observer,
                                   const std::function<bool(std::size_t)>& select);

// Scores every window with `model` (through the seam alone): aggregate_perplexity of
// score_perplexity's records. Word and byte counts
// (lm-eval-rolling) come from input.texts when present. `observer`, when given, sees each
// window's full log-prob distributions (kBadInput when the model cannot return them).
report::PerplexityResult evaluate_perplexity(lm::LanguageModel& model, const PerplexityInput& input,
                                             const PerplexityOptions& options, WindowObserver* observer = nullptr);
// The same on the local decoder (an eval::LocalModel without tokenizer).
report::PerplexityResult evaluate_perplexity(const model::Decoder& model, const PerplexityInput& input,
                                             const PerplexityOptions& options, WindowObserver* observer = nullptr);

}  // namespace qbench::eval
