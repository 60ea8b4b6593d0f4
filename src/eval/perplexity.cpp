#include "qbench/eval/perplexity.hpp"

#include <chrono>
#include <algorithm>
#include <cmath>
#include <limits>

#include "qbench/eval/local_model.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/log.hpp"
#include "qbench/util/progress.hpp"
#include "qbench/util/strings.hpp"

namespace qbench::eval {
namespace {

TokenIds slice(const TokenIds& v, std::size_t begin, std::size_t end) {
    return TokenIds(v.begin() + static_cast<std::ptrdiff_t>(begin), v.begin() + static_cast<std::ptrdiff_t>(end));
}

void sliding_windows(const PerplexityInput& in, const PerplexityOptions& o, std::vector<Window>& out,
                     std::size_t& blocks) {
    const auto L = static_cast<std::size_t>(o.max_length), stride = static_cast<std::size_t>(o.stride);
    for (const auto& doc : in.documents) {
        const std::size_t n = doc.size();
        std::size_t prev_end = 0;
        for (std::size_t begin = 0; begin < n; begin += stride) {
            const std::size_t end = std::min(begin + L, n);
            const std::size_t target_len = end - prev_end;
            const std::size_t len = end - begin;
            const std::size_t first = len > target_len ? std::max<std::size_t>(1, len - target_len) : 1;
            if (first < len) {
                if (o.limit > 0 && blocks >= static_cast<std::size_t>(o.limit)) return;
                out.push_back({slice(doc, begin, end), static_cast<std::int64_t>(first), blocks++});
            }
            prev_end = end;
            if (end == n) break;
        }
    }
}

void disjoint_windows(const PerplexityInput& in, const PerplexityOptions& o, std::int64_t score_from,
                      std::optional<std::int32_t> first_token, std::vector<Window>& out,
                      std::size_t& blocks) {
    const auto L = static_cast<std::size_t>(o.max_length);
    const std::size_t n = in.joined.size() / L;
    for (std::size_t i = 0; i < n; ++i) {
        if (o.limit > 0 && blocks >= static_cast<std::size_t>(o.limit)) return;
        Window w{slice(in.joined, i * L, (i + 1) * L), score_from, blocks++};
        if (first_token) w.ids[0] = *first_token;
        out.push_back(std::move(w));
    }
}

void rolling_windows(const PerplexityInput& in, const PerplexityOptions& o, std::vector<Window>& out,
                     std::size_t& blocks) {
    const auto L = static_cast<std::size_t>(o.max_length);
    for (const auto& doc : in.plain) {
        if (o.limit > 0 && blocks >= static_cast<std::size_t>(o.limit)) return;
        const std::size_t block = blocks++;
        const std::size_t n = doc.size();
        if (n == 0) continue;
        const std::size_t first_len = std::min(L, n);
        TokenIds first{*o.prefix_token};
        first.insert(first.end(), doc.begin(), doc.begin() + static_cast<std::ptrdiff_t>(first_len));
        out.push_back({std::move(first), 1, block});
        std::size_t predicted = first_len;
        while (predicted < n) {
            const std::size_t pred = std::min(n - predicted, L);
            const std::size_t end = predicted + pred;
            TokenIds ids = slice(doc, end - L - 1, end);
            const auto from = static_cast<std::int64_t>(ids.size() - pred);
            out.push_back({std::move(ids), from, block});
            predicted += pred;
        }
    }
}

// Python's str.isspace() set, which `\s` matches in a str pattern.
bool is_python_space(char32_t c) {
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
           c == 0x202f || c == 0x205f || c == 0x3000;
}

// lm-eval's word count: len(re.split(r"\s+", doc)), the pieces between whitespace runs
// (empty pieces at either end included). Text is UTF-8; an invalid byte counts as non-space.
std::int64_t count_words(const std::string& text) {
    std::int64_t pieces = 1;
    bool in_space = false;
    std::size_t i = 0;
    while (i < text.size()) {
        const auto b = static_cast<unsigned char>(text[i]);
        char32_t c = b;
        std::size_t len = 1;
        if (b >= 0xc0 && b < 0xe0 && i + 1 < text.size()) {
            c = ((b & 0x1f) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3f);
            len = 2;
        } else if (b >= 0xe0 && b < 0xf0 && i + 2 < text.size()) {
            c = ((b & 0x0f) << 12) | ((static_cast<unsigned char>(text[i + 1]) & 0x3f) << 6) |
                (static_cast<unsigned char>(text[i + 2]) & 0x3f);
            len = 3;
        } else if (b >= 0xf0 && i + 3 < text.size()) {
            len = 4;
            c = 0x10000;
        }
        const bool space = is_python_space(c);
        if (space && !in_space) ++pieces;
        in_space = space;
        i += len;
    }
    return pieces;
}

}  // namespace

void validate(const PerplexityOptions& o) {
    const auto& protocols = perplexity_protocols();
    if (std::find(protocols.begin(), protocols.end(), o.protocol) == protocols.end()) {
        throw_bad_input("protocol '{}' is not known (known: {}){}", o.protocol, join(protocols, ", "),
                        did_you_mean(o.protocol, protocols));
    }
    if (o.max_length < 2) throw_bad_input("max_length must be at least 2, got {}", o.max_length);
    if (o.protocol == "llama.cpp" && o.max_length < 3) {
        throw_bad_input("max_length (n_ctx) must be at least 3 for the llama.cpp protocol, got {}", o.max_length);
    }
    if (o.protocol == "sliding" && (o.stride < 1 || o.stride > o.max_length)) {
        throw_bad_input("stride must be in 1..max_length ({}), got {}", o.max_length, o.stride);
    }
    if (o.batch_size < 1) throw_bad_input("batch_size must be at least 1, got {}", o.batch_size);
    if (o.limit < 0) throw_bad_input("limit must be >= 0, got {}", o.limit);
    if (o.protocol == "lm-eval-rolling" && !o.prefix_token) {
        throw_bad_input("the lm-eval-rolling protocol needs a prefix token (BOS or EOS), and the model declares neither");
    }
}

std::vector<Window> make_windows(const PerplexityInput& in, const PerplexityOptions& o, std::size_t* n_blocks) {
    validate(o);
    std::vector<Window> out;
    std::size_t blocks = 0;
    if (o.protocol == "sliding") {
        sliding_windows(in, o, out, blocks);
    } else if (o.protocol == "gptq") {
        if (static_cast<std::int64_t>(in.joined.size()) < o.max_length) {
            throw_bad_input("the gptq protocol needs at least max_length = {} tokens, the input has {}",
                            o.max_length, in.joined.size());
        }
        disjoint_windows(in, o, 1, std::nullopt, out, blocks);
    } else if (o.protocol == "llama.cpp") {
        if (static_cast<std::int64_t>(in.joined.size()) < 2 * o.max_length) {
            throw_bad_input("the llama.cpp protocol needs at least 2 x n_ctx = {} tokens, the input has {}",
                            2 * o.max_length, in.joined.size());
        }
        disjoint_windows(in, o, o.max_length / 2 + 1, o.chunk_bos, out, blocks);
    } else {
        rolling_windows(in, o, out, blocks);
    }
    if (n_blocks != nullptr) *n_blocks = blocks;
    return out;
}

namespace {

// Records each window's sums under its index among all windows (`index_of`), after the caller's
// observer has seen it under that index.
class WindowSums : public lm::ScoreObserver {
public:
    WindowSums(std::vector<WindowRecord>& out, const std::vector<std::size_t>& index_of, WindowObserver* observer,
               const std::string& protocol, Progress& progress)
        : out_(out), index_of_(index_of), observer_(observer), protocol_(protocol), progress_(progress) {}
    void window(std::size_t position, const Window& w, const lm::WindowScores& s) override {
        const std::size_t index = index_of_.at(position);
        if (observer_ != nullptr) observer_->window(index, w, s);
        double nll_sum = 0.0, nll_sq = 0.0;
        for (float lp : s.target_logp) {
            nll_sum -= static_cast<double>(lp);
            nll_sq += static_cast<double>(lp) * static_cast<double>(lp);
        }
        if (!std::isfinite(nll_sum)) {
            throw_runtime("perplexity ({}): window {}: the NLL sum is {} from finite logits", protocol_, index, nll_sum);
        }
        out_.push_back({static_cast<std::int64_t>(index), static_cast<std::int64_t>(w.block), s.positions, nll_sum, nll_sq});
        progress_.advance(1);
    }

private:
    std::vector<WindowRecord>& out_;
    const std::vector<std::size_t>& index_of_;
    WindowObserver* observer_;
    const std::string& protocol_;
    Progress& progress_;
};

}  // namespace

PerplexityRecords score_perplexity(lm::LanguageModel& model, const PerplexityInput& in, const PerplexityOptions& o,
                                   WindowObserver* observer, const std::function<bool(std::size_t)>& select) {
    const auto started = std::chrono::steady_clock::now();
    std::size_t n_blocks = 0;
    auto all = make_windows(in, o, &n_blocks);
    PerplexityRecords r;
    r.protocol = o.protocol;
    r.max_length = o.max_length;
    r.stride = o.protocol == "sliding" ? o.stride : 0;
    r.input_tokens = 0;
    if (o.protocol == "gptq" || o.protocol == "llama.cpp") {
        r.input_tokens = static_cast<std::int64_t>(in.joined.size());
    } else {
        for (const auto& d : o.protocol == "sliding" ? in.documents : in.plain) {
            r.input_tokens += static_cast<std::int64_t>(d.size());
        }
    }
    r.windows_total = static_cast<std::int64_t>(all.size());
    r.group_size = o.batch_size;
    r.blocks_total = static_cast<std::int64_t>(n_blocks);
    if (o.protocol == "lm-eval-rolling" && in.texts.size() == in.documents.size()) {
        for (std::size_t d = 0; d < n_blocks; ++d) {
            r.block_words.push_back(count_words(in.texts[d]));
            r.block_bytes.push_back(static_cast<std::int64_t>(in.texts[d].size()));
        }
    }
    std::vector<Window> windows;
    std::vector<std::size_t> index_of;
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (select && !select(i)) continue;
        windows.push_back(std::move(all[i]));
        index_of.push_back(i);
    }
    const auto model_info = model.describe();
    if (o.max_length > model_info.max_context) {
        log::warn("max_length {} exceeds the model's max_position_embeddings {}", o.max_length, model_info.max_context);
    }
    const auto vocab = model_info.vocab_size;
    for (const auto& w : windows) {
        for (auto id : w.ids) {
            if (id < 0 || id >= vocab) throw_bad_input("token id {} is outside the model's vocabulary (size {})", id, vocab);
        }
    }
    lm::ScoreOptions so;
    so.batch_size = o.batch_size;
    so.label = "perplexity (" + o.protocol + ")";
    if (observer != nullptr) {
        const auto caps = model.capabilities();
        if (caps.max_top_k < vocab && o.observer_takes_top_k && caps.max_top_k > 0) {
            so.top_k = caps.max_top_k;
        } else if (caps.max_top_k < vocab) {
            throw_bad_input("{}: KLD needs full log-prob distributions and the model ({}) returns at most the top {}",
                            model_info.name, model_info.backend, caps.max_top_k);
        } else {
            so.top_k = vocab;
        }
    }
    Progress progress("perplexity (" + o.protocol + ")", windows.size(), "windows");
    WindowSums sums(r.windows, index_of, observer, o.protocol, progress);
    if (!windows.empty()) model.score_windows(windows, so, sums);
    progress.finish();
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return r;
}

report::PerplexityResult evaluate_perplexity(lm::LanguageModel& model, const PerplexityInput& in,
                                             const PerplexityOptions& o, WindowObserver* observer) {
    return aggregate_perplexity(score_perplexity(model, in, o, observer, {}));
}

report::PerplexityResult evaluate_perplexity(const model::Decoder& model, const PerplexityInput& in,
                                             const PerplexityOptions& o, WindowObserver* observer) {
    LocalModel local(model, nullptr);
    return evaluate_perplexity(local, in, o, observer);
}

}  // namespace qbench::eval
