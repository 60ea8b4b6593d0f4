// A second, trivial lm::LanguageModel for tests of the seam: fixed logits per (previous token,
// next token) from a seed, a one-character-per-token "tokenizer", greedy generation, and scripted
// timestamps (token k arrives at (k + 1) x step_seconds). Torch-free. Its log-probs are computed
// in double and handed out as float32, as a model would; tests compute their references in
// double from logp().
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "qbench/lm/language_model.hpp"

namespace qbench::testing {

class ScriptedModel : public lm::LanguageModel {
public:
    static constexpr std::int64_t kVocab = 32;

    explicit ScriptedModel(std::uint64_t seed, std::int64_t max_top_k = kVocab, double step_seconds = 1e-3)
        : max_top_k_(max_top_k), step_(step_seconds), logp_(kVocab * kVocab) {
        for (std::int64_t prev = 0; prev < kVocab; ++prev) {
            std::vector<double> logits(kVocab);
            for (std::int64_t v = 0; v < kVocab; ++v) logits[v] = 6.0 * unit(seed, prev * kVocab + v) - 3.0;
            const double mx = *std::max_element(logits.begin(), logits.end());
            double z = 0;
            for (double l : logits) z += std::exp(l - mx);
            for (std::int64_t v = 0; v < kVocab; ++v) logp_[prev * kVocab + v] = logits[v] - mx - std::log(z);
        }
    }

    // ln p(next | prev) in double (the reference).
    double logp(std::int32_t prev, std::int32_t next) const { return logp_[prev * kVocab + next]; }
    std::int32_t argmax(std::int32_t prev) const {
        const auto* row = &logp_[prev * kVocab];
        return static_cast<std::int32_t>(std::max_element(row, row + kVocab) - row);
    }
    static std::int32_t token(char c) { return static_cast<std::int32_t>(static_cast<unsigned char>(c) % kVocab); }
    static lm::TokenIds encode(const std::string& s) {
        lm::TokenIds out;
        for (char c : s) out.push_back(token(c));
        return out;
    }
    static std::string decode(const lm::TokenIds& ids) {
        std::string s;
        for (auto id : ids) s += id < 26 ? static_cast<char>('a' + id) : static_cast<char>('0' + (id - 26));
        return s;
    }

    lm::ModelDescription describe() const override { return {"scripted", kVocab, 1 << 20, "float32", "host", "scripted"}; }
    lm::Capabilities capabilities() const override { return {max_top_k_, true, true}; }

    void score_windows(const std::vector<lm::Window>& windows, const lm::ScoreOptions& o,
                       lm::ScoreObserver& observer) override {
        if (o.top_k > max_top_k_) throw std::invalid_argument("top_k beyond capabilities");
        for (std::size_t i = 0; i < windows.size(); ++i) {
            const auto& w = windows[i];
            const auto n = static_cast<std::int64_t>(w.ids.size()) - w.score_from;
            std::vector<float> target(static_cast<std::size_t>(n));
            std::vector<float> rows;
            std::vector<std::int32_t> ids;
            const std::int64_t k = std::min(o.top_k, kVocab);
            for (std::int64_t t = 0; t < n; ++t) {
                const auto prev = w.ids[static_cast<std::size_t>(w.score_from + t - 1)];
                target[static_cast<std::size_t>(t)] = static_cast<float>(logp(prev, w.ids[static_cast<std::size_t>(w.score_from + t)]));
                if (k >= kVocab) {
                    for (std::int32_t v = 0; v < kVocab; ++v) rows.push_back(static_cast<float>(logp(prev, v)));
                } else if (k > 0) {
                    std::vector<std::int32_t> order(kVocab);
                    for (std::int32_t v = 0; v < kVocab; ++v) order[v] = v;
                    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return logp(prev, a) > logp(prev, b); });
                    for (std::int64_t j = 0; j < k; ++j) {
                        ids.push_back(order[j]);
                        rows.push_back(static_cast<float>(logp(prev, order[j])));
                    }
                }
            }
            lm::WindowScores s;
            s.positions = n;
            s.vocab_size = kVocab;
            s.targets = std::span<const std::int32_t>(w.ids.data() + w.score_from, static_cast<std::size_t>(n));
            s.target_logp = target;
            s.k = k;
            s.top_ids = ids;
            s.logp = rows;
            observer.window(i, w, s);
        }
    }

    // Σ ln p(continuation char | previous char); the first continuation char follows the last
    // context char (token 0 for an empty context).
    std::vector<lm::LoglikelihoodResult> loglikelihood(const std::vector<lm::LoglikelihoodRequest>& rs) override {
        std::vector<lm::LoglikelihoodResult> out;
        for (const auto& r : rs) {
            auto prev = r.context.empty() ? 0 : token(r.context.back());
            lm::LoglikelihoodResult x;
            x.is_greedy = true;
            for (char c : r.continuation) {
                x.logprob += static_cast<float>(logp(prev, token(c)));
                x.is_greedy = x.is_greedy && argmax(prev) == token(c);
                prev = token(c);
                ++x.tokens;
            }
            out.push_back(x);
        }
        return out;
    }

    lm::TokenIds greedy(std::int32_t prev, std::int64_t n) const {
        lm::TokenIds out;
        for (std::int64_t i = 0; i < n; ++i) out.push_back(prev = argmax(prev));
        return out;
    }

    std::vector<std::string> generate(const std::vector<std::string>& prompts, const lm::GenerationOptions& o) override {
        std::vector<std::string> out;
        for (const auto& p : prompts) {
            auto text = decode(greedy(p.empty() ? 0 : token(p.back()), o.max_gen_toks));
            for (const auto& stop : o.until) {
                if (auto at = text.find(stop); at != std::string::npos) text.resize(at);
            }
            out.push_back(text);
        }
        return out;
    }

    lm::TimedGeneration generate_tokens(const lm::TokenIds& prompt, const lm::TokenGenerationOptions& o) override {
        lm::TimedGeneration g;
        g.tokens = greedy(prompt.empty() ? 0 : prompt.back(), o.max_new_tokens);
        for (std::int64_t k = 0; k < o.max_new_tokens; ++k) g.token_seconds.push_back(static_cast<double>(k + 1) * step_);
        ++generations;
        return g;
    }

    std::int64_t generations = 0;

private:
    static double unit(std::uint64_t seed, std::int64_t i) {
        std::uint64_t z = seed * 0x9e3779b97f4a7c15ULL + static_cast<std::uint64_t>(i) + 1;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        return static_cast<double>(z >> 11) / 9007199254740992.0;
    }

    std::int64_t max_top_k_;
    double step_;
    std::vector<double> logp_;
};

}  // namespace qbench::testing
