// KL divergence of a variant from the baseline (docs/ARCHITECTURE.md, "KLD vs baseline").
//
// While the baseline runs a perplexity protocol, a KldBaseWriter keeps, for every scored position,
// the base model's top-k log-probs, the log of the remaining (tail) mass and the true token's
// log-prob, streamed window by window to a binary file (memory O(window x k)). A variant run
// over the same windows feeds its log-probs to a KldScorer, which reads the file back in step and
// computes per token
//   KLD    = Σ_{i in top-k} p_i (ln p_i − ln q_i) + P_tail (ln P_tail − ln Q_tail),
//            P_tail = 1 − Σ_{top-k} p_i, Q_tail = 1 − Σ_{top-k} q_i (both as log-sum-exps over
//            the rest of the vocabulary). Merging the tail into one bucket can only lower the
//            divergence (the log-sum inequality), so this is a lower bound of the exact KLD and
//            equals it when k = vocab (then nothing is merged; the file stores the whole row).
//   same   argmax q == argmax p
//   Δp     q(true token) − p(true token)
// Both see the full distributions through the seam (lm::WindowScores, log_softmax in float32 of
// float32 logits for the local model, the same log-probs as the perplexity NLL); the file
// stores them as float32; sums are float64.
//
// File layout (little-endian):
//   "QBKLD01\n", u64 n, n bytes of JSON (KldFileInfo), then per window:
//   i64 window, i64 block, i64 T, T x i32 targets, T x f32 target log-prob, T x f32 log tail,
//   then sparse (k < vocab): T x k x i32 ids (descending p) and T x k x f32 log-probs,
//   or dense (k = vocab), storage "f32": T x vocab x f32 log-probs in vocabulary order,
//   or dense, storage "u16" (vocabularies above 4096 tokens): T rows of llama.cpp's packing
//   (eval/llamacpp_kld.hpp: f32 scale, f32 min, vocab u16, padded to even), 2 bytes per entry,
//   read back as ln p_i = scale q_i + min with entries at or below ln p = -16 dropped, as
//   llama-perplexity --kl-divergence does;
//   and at the end "QBKLDEND", u64 windows, u64 tokens. A file without that trailer is
//   incomplete and refused. It is written as FILE.tmp and renamed when complete.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "qbench/eval/perplexity.hpp"
#include "qbench/report/results.hpp"

namespace qbench::eval {

// What a base file was made from; a scorer refuses a file made for other windows.
struct KldFileInfo {
    std::string baseline;     // variant name
    std::string protocol;
    std::string data_sha256;
    std::int64_t max_length = 0;
    std::int64_t stride = 0;
    std::int64_t limit = 0;
    std::int64_t vocab_size = 0;
    std::int64_t top_k = 0;   // == vocab_size: dense rows
    std::string storage = "f32";  // dense rows: "f32" or "u16" (llama.cpp's 16-bit packing)
    std::int64_t windows = 0; // filled from the trailer when read
    std::int64_t tokens = 0;  // likewise

    // The fields that must agree between the base file and a variant's run.
    bool same_windows(const KldFileInfo& other) const;
    std::string describe() const;
};

// The default top-k: the whole vocabulary (exact KLD).
std::int64_t default_kld_top_k(std::int64_t vocab_size);
// How dense rows are stored: "f32" up to 4096 tokens, "u16" above (2 bytes per entry).
std::string kld_dense_storage(std::int64_t vocab_size);
// Bytes of a base file holding `tokens` scored positions (the header aside).
std::int64_t kld_base_bytes(const KldFileInfo& info, std::int64_t tokens);
// The top-k when the base file would not fit on the disk of `dir`: `top_k` when its file for
// at most `tokens` positions takes under 90% of the free space, else 128 (a lower bound; the
// caller warns).
std::int64_t kld_top_k_for_disk(const KldFileInfo& info, std::int64_t tokens, const std::filesystem::path& dir,
                                std::string* why);

// One window's base distributions over its T scored positions.
struct BaseDistribution {
    at::Tensor targets;      // [T] int64
    at::Tensor target_logp;  // [T] float32, ln p(true token)
    at::Tensor log_tail;     // [T] float32, ln of the mass outside the top-k (−inf when k = vocab)
    at::Tensor ids;          // [T, k] int64, descending p (undefined when dense)
    at::Tensor logp;         // [T, k] float32 (dense: [T, vocab] in vocabulary order)
};

// Reduces base log-probs [T, V] (float32) to top-k + tail; k >= V keeps the dense row.
BaseDistribution reduce_base(const at::Tensor& logp, const at::Tensor& targets, std::int64_t k);

struct TokenStats {
    at::Tensor kld;        // [T] float64
    at::Tensor same_top;   // [T] bool
    at::Tensor delta_p;    // [T] float64
    at::Tensor tail_mass;  // [T] float64, the base mass outside its top-k
};

// Per-token statistics of the variant's log-probs [T, V] against the base (same device).
TokenStats token_stats(const BaseDistribution& base, const at::Tensor& variant_logp);

// The same when the variant lists only its top-k log-probs per position (scores.k < vocab, a
// served model; descending). The vocabulary is coarsened into the tokens whose probability both
// sides know — the variant's top-k and the true token, where the base knows them (all of them
// for a dense base, its top-k and the true token otherwise) — plus one bucket for the rest: by
// the log-sum inequality the KL divergence of the coarsened pair is a lower bound of the full
// one. same_top and delta_p are exact; tail_mass is the base mass in the rest bucket. CPU only.
TokenStats topk_token_stats(const BaseDistribution& base, const lm::WindowScores& scores);

// Writes the base file while the baseline's perplexity runs.
class KldBaseWriter : public WindowObserver {
public:
    KldBaseWriter(std::filesystem::path path, KldFileInfo info);
    ~KldBaseWriter() override;
    void window(std::size_t index, const Window& w, const lm::WindowScores& scores) override;
    // Writes the trailer and renames the file into place.
    void finish();

private:
    std::filesystem::path path_, tmp_;
    KldFileInfo info_;
    std::ofstream out_;
    bool finished_ = false;
};

// Reads a complete base file's header and trailer (kBadInput naming the file when it is not one).
KldFileInfo read_kld_info(const std::filesystem::path& path);

// Scores a variant against a base file, window by window. A mismatch (other windows, other
// tokens) does not stop the perplexity run: the scorer records why and yields no result.
class KldScorer : public WindowObserver {
public:
    KldScorer(const std::filesystem::path& path, const KldFileInfo& expected, double confidence = 0.95);
    ~KldScorer() override;
    void window(std::size_t index, const Window& w, const lm::WindowScores& scores) override;
    // The records of the windows scored (every window of the base file), or nothing with
    // error() saying why.
    std::optional<KldRecords> finish_records();
    // aggregate_kld of those records, or nothing with error() saying why.
    std::optional<report::KldResult> finish();
    const std::string& error() const { return error_; }

private:
    std::filesystem::path path_;
    KldFileInfo info_;
    double confidence_;
    std::ifstream in_;
    std::string error_;
    std::int64_t windows_seen_ = 0;
    KldRecords records_;
};

}  // namespace qbench::eval
