// llama.cpp's KL-divergence base file, as `llama-perplexity --kl-divergence-base FILE` writes it
// and `llama-perplexity --kl-divergence` reads it (tools/perplexity/perplexity.cpp), so that
// qbench scores a variant against a baseline a user made with llama.cpp, or writes a baseline
// llama.cpp reads. The distributions are full-vocabulary (exact KLD), 2 bytes per entry.
//
// Layout (native little-endian, as llama.cpp writes it):
//   "_logits_", i32 n_ctx, i32 n_vocab, i32 n_chunk, n_chunk x n_ctx i32 tokens (the token stream
//   as tokenized, before the BOS replacement), then per chunk (n_ctx − 1 − n_ctx/2) rows, one per
//   scored position n_ctx/2 + 1 .. n_ctx − 1, each of row_width(n_vocab) u16:
//   f32 scale, f32 min_log_prob (4 u16), then n_vocab u16 q_i (padded to an even count) with
//   ln p_i = scale · q_i + min_log_prob.
// Packing (llama.cpp's): logits clamped below at max − 16, scale = (max − min)/65535, q_i the
// nearest integer of (logit_i − min)/scale (0 at or below the clamp): each ln p_i is within
// scale/2 ≤ 1.3e-4 of its float value, log-probs below max − 16 − ln Σ read as the clamp.
//
// Per scored token, as llama.cpp defines the statistics against such a row:
//   KLD    Σ_{i: ln p_i > −16} p_i (ln p_i − ln q_i)   (p base, dequantized; q the variant)
//   same   argmax q == argmax of the dequantized base row (first index on ties)
//   Δp     q(true token) − p(true token)
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "qbench/eval/perplexity.hpp"
#include "qbench/report/results.hpp"

namespace qbench::eval {

// u16 per row: 4 for scale and min, n_vocab rounded up to even.
std::int64_t llamacpp_row_width(std::int64_t n_vocab);

// Packs one row of logits [n_vocab] into `row` [llamacpp_row_width(n_vocab)].
void pack_log_probs(std::span<const float> logits, std::span<std::uint16_t> row);

// ln p_i of a packed row.
float unpacked_log_prob(std::span<const std::uint16_t> row, std::int64_t i);

struct LlamaTokenStats {
    double kld = 0.0;
    double delta_p = 0.0;
    bool same_top = false;
    double nll = 0.0;       // −ln q(target)
    double nll_base = 0.0;  // −ln p(target), dequantized
};

// The statistics above for one scored token: the variant's logits [n_vocab] against a packed base row.
LlamaTokenStats llamacpp_token_stats(std::span<const float> logits, std::span<const std::uint16_t> base_row,
                                     std::int32_t target);

struct LlamaKldHeader {
    std::int64_t n_ctx = 0;
    std::int64_t n_vocab = 0;
    std::int64_t n_chunk = 0;
    std::vector<std::int32_t> tokens;  // n_chunk x n_ctx
    std::int64_t rows_per_chunk() const { return n_ctx - 1 - n_ctx / 2; }
};

// Whether the file starts with llama.cpp's "_logits_" magic.
bool is_llamacpp_kld_file(const std::filesystem::path& path);

// Reads and checks a file's header and its size (kBadInput naming the file: not such a file,
// truncated, or bytes left over).
LlamaKldHeader read_llamacpp_kld_header(const std::filesystem::path& path);

// Refuses (kBadInput naming the file) a header that was not made for these chunks: n_ctx, the
// vocabulary, the chunk count, or the first differing token.
void check_llamacpp_kld_header(const std::filesystem::path& path, const LlamaKldHeader& h, std::int64_t n_ctx,
                               std::int64_t n_vocab, std::int64_t n_chunk, std::span<const std::int32_t> tokens);

// Writes the file while a llama.cpp-protocol perplexity runs (as FILE.tmp, renamed by finish()).
class LlamaKldWriter : public WindowObserver {
public:
    LlamaKldWriter(std::filesystem::path path, std::int64_t n_ctx, std::int64_t n_vocab, std::int64_t n_chunk,
                   std::span<const std::int32_t> tokens);
    ~LlamaKldWriter() override;
    void window(std::size_t index, const Window& w, const lm::WindowScores& scores) override;
    void finish();

private:
    std::filesystem::path path_, tmp_;
    std::int64_t n_vocab_, n_chunk_, rows_, written_ = 0;
    std::ofstream out_;
    bool finished_ = false;
};

// Scores a variant's llama.cpp-protocol windows against such a file (exact KLD).
class LlamaKldScorer : public WindowObserver {
public:
    // Throws kBadInput when the file does not hold these chunks (check_llamacpp_kld_header).
    LlamaKldScorer(const std::filesystem::path& path, std::int64_t n_ctx, std::int64_t n_vocab,
                   std::int64_t n_chunk, std::span<const std::int32_t> tokens, double confidence = 0.95);
    void window(std::size_t index, const Window& w, const lm::WindowScores& scores) override;
    report::KldResult finish();

private:
    std::filesystem::path path_;
    LlamaKldHeader header_;
    double confidence_;
    std::ifstream in_;
    std::int64_t windows_seen_ = 0;
    std::vector<report::KldBlock> blocks_;
    std::vector<double> kld_, delta_p_;
    double seconds_ = 0.0;
};

}  // namespace qbench::eval
