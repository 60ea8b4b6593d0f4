#include "qbench/tokenizer/pre_tokenizers.hpp"

#include <algorithm>
#include <functional>

#include "qbench/tokenizer/json_spec.hpp"
#include "qbench/tokenizer/regex.hpp"
#include "qbench/tokenizer/unicode.hpp"

namespace qbench::tokenizer {

namespace {

constexpr std::string_view kWhat = "pre_tokenizer";

// GPT-2's pre-tokenization regex, used by ByteLevel when use_regex is set.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Rust regex's Unicode `\w` as a class body.
constexpr std::string_view kWordClass = R"(\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D})";

// A stretch of a piece: a match of the split pattern or the text between two matches.
struct Span {
    std::size_t begin;
    std::size_t end;
    bool flag;  // is_match before apply_behavior; "remove" after it
};

enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

Behavior parse_behavior(const std::string& name) {
    if (name == "Removed") return Behavior::kRemoved;
    if (name == "Isolated") return Behavior::kIsolated;
    if (name == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
    if (name == "MergedWithNext") return Behavior::kMergedWithNext;
    if (name == "Contiguous") return Behavior::kContiguous;
    throw_unsupported("split behavior", name);
}

// Matches and the gaps between them, covering all of `s` (HF Pattern::find_matches).
std::vector<Span> spans_from_matches(const std::vector<std::pair<std::size_t, std::size_t>>& m,
                                     std::size_t size) {
    if (size == 0) return {{0, 0, false}};
    std::vector<Span> spans;
    spans.reserve(m.size() * 2 + 1);
    std::size_t prev = 0;
    for (const auto& [begin, end] : m) {
        if (prev != begin) spans.push_back({prev, begin, false});
        spans.push_back({begin, end, true});
        prev = end;
    }
    if (prev != size) spans.push_back({prev, size, false});
    return spans;
}

// Every character for which `pred` holds is a match of its own.
std::vector<Span> char_spans(std::string_view s, const std::function<bool(char32_t)>& pred) {
    if (s.empty()) return {{0, 0, false}};
    std::vector<Span> spans;
    std::size_t last = 0;
    for (std::size_t pos = 0; pos < s.size();) {
        std::size_t len = 0;
        if (pred(next_code_point(s, pos, len))) {
            if (last < pos) spans.push_back({last, pos, false});
            spans.push_back({pos, pos + len, true});
            last = pos + len;
        }
        pos += len;
    }
    if (last < s.size()) spans.push_back({last, s.size(), false});
    return spans;
}

// HF NormalizedString::split: turns matches into the pieces to keep (flag = remove).
std::vector<Span> apply_behavior(std::vector<Span> spans, Behavior behavior) {
    std::vector<Span> out;
    out.reserve(spans.size());
    switch (behavior) {
        case Behavior::kIsolated:
            for (auto s : spans) out.push_back({s.begin, s.end, false});
            break;
        case Behavior::kRemoved:
            return spans;
        case Behavior::kContiguous: {
            bool previous = false;
            for (const auto& s : spans) {
                if (s.flag == previous && !out.empty()) {
                    out.back().end = s.end;
                } else {
                    out.push_back({s.begin, s.end, false});
                }
                previous = s.flag;
            }
            break;
        }
        case Behavior::kMergedWithPrevious: {
            bool previous = false;
            for (const auto& s : spans) {
                if (s.flag && !previous && !out.empty()) {
                    out.back().end = s.end;
                } else {
                    out.push_back({s.begin, s.end, false});
                }
                previous = s.flag;
            }
            break;
        }
        case Behavior::kMergedWithNext: {
            bool previous = false;
            for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
                if (it->flag && !previous && !out.empty()) {
                    out.back().begin = it->begin;
                } else {
                    out.push_back({it->begin, it->end, false});
                }
                previous = it->flag;
            }
            std::reverse(out.begin(), out.end());
            break;
        }
    }
    return out;
}

// Replaces every non-token piece by the kept spans that `split` returns for it.
template <typename F>
void split_pieces(std::vector<Piece>& pieces, F&& split) {
    std::vector<Piece> out;
    out.reserve(pieces.size());
    for (auto& piece : pieces) {
        if (piece.id >= 0) {
            out.push_back(std::move(piece));
            continue;
        }
        for (const Span& s : split(piece.text)) {
            if (s.flag || s.end <= s.begin) continue;
            out.push_back(
                {piece.text.substr(s.begin, s.end - s.begin), -1, piece.at_start && s.begin == 0});
        }
    }
    pieces = std::move(out);
}

class SequencePreTokenizer final : public PreTokenizer {
public:
    explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
        : steps_(std::move(steps)) {}
    void pre_tokenize(std::vector<Piece>& pieces) const override {
        for (const auto& step : steps_) step->pre_tokenize(pieces);
    }

private:
    std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

class SplitPreTokenizer final : public PreTokenizer {
public:
    SplitPreTokenizer(Pattern pattern, Behavior behavior, bool invert)
        : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
    void pre_tokenize(std::vector<Piece>& pieces) const override {
        split_pieces(pieces, [&](const std::string& text) {
            auto spans = spans_from_matches(pattern_.find_all(text), text.size());
            if (invert_) {
                for (auto& s : spans) s.flag = !s.flag;
            }
            return apply_behavior(std::move(spans), behavior_);
        });
    }

private:
    Pattern pattern_;
    Behavior behavior_;
    bool invert_;
};

class CharPreTokenizer final : public PreTokenizer {
public:
    CharPreTokenizer(std::function<bool(char32_t)> pred, Behavior behavior)
        : pred_(std::move(pred)), behavior_(behavior) {}
    void pre_tokenize(std::vector<Piece>& pieces) const override {
        split_pieces(pieces, [&](const std::string& text) {
            return apply_behavior(char_spans(text, pred_), behavior_);
        });
    }

private:
    std::function<bool(char32_t)> pred_;
    Behavior behavior_;
};

class ByteLevelPreTokenizer final : public PreTokenizer {
public:
    ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
        : add_prefix_space_(add_prefix_space),
          regex_(use_regex ? std::make_unique<Regex>(kGpt2Pattern) : nullptr) {}
    void pre_tokenize(std::vector<Piece>& pieces) const override {
        split_pieces(pieces, [&](std::string& text) {
            if (add_prefix_space_ && (text.empty() || text.front() != ' '))
                text.insert(text.begin(), ' ');
            if (!regex_) return std::vector<Span>{{0, text.size(), false}};
            auto spans = spans_from_matches(regex_->find_all(text), text.size());
            return apply_behavior(std::move(spans), Behavior::kIsolated);
        });
        for (auto& piece : pieces) {
            if (piece.id >= 0) continue;
            std::string mapped;
            mapped.reserve(piece.text.size() * 2);
            for (const char c : piece.text) mapped += byte_level_char(static_cast<std::uint8_t>(c));
            piece.text = std::move(mapped);
        }
    }

private:
    bool add_prefix_space_;
    std::unique_ptr<Regex> regex_;
};

enum class PrependScheme { kAlways, kNever, kFirst };

class MetaspacePreTokenizer final : public PreTokenizer {
public:
    MetaspacePreTokenizer(char32_t replacement, PrependScheme scheme, bool split)
        : replacement_(replacement), scheme_(scheme), split_(split) {
        append_utf8(replacement_text_, replacement);
    }
    void pre_tokenize(std::vector<Piece>& pieces) const override {
        for (auto& piece : pieces) {
            if (piece.id >= 0) continue;
            std::string out;
            out.reserve(piece.text.size() + replacement_text_.size());
            for (const char c : piece.text) {
                if (c == ' ') {
                    out += replacement_text_;
                } else {
                    out += c;
                }
            }
            const bool prepend = scheme_ == PrependScheme::kAlways ||
                                 (scheme_ == PrependScheme::kFirst && piece.at_start);
            if (prepend && out.compare(0, replacement_text_.size(), replacement_text_) != 0) {
                out.insert(0, replacement_text_);
            }
            piece.text = std::move(out);
        }
        if (!split_) return;
        split_pieces(pieces, [&](const std::string& text) {
            return apply_behavior(char_spans(text, [&](char32_t c) { return c == replacement_; }),
                                  Behavior::kMergedWithNext);
        });
    }

private:
    char32_t replacement_;
    std::string replacement_text_;
    PrependScheme scheme_;
    bool split_;
};

std::unique_ptr<PreTokenizer> make_metaspace(const nlohmann::json& spec) {
    constexpr std::string_view what = "Metaspace pre_tokenizer";
    PrependScheme scheme = PrependScheme::kAlways;
    if (spec.contains("prepend_scheme") && !spec["prepend_scheme"].is_null()) {
        const auto name = json_field<std::string>(spec, what, "prepend_scheme");
        if (name == "always") {
            scheme = PrependScheme::kAlways;
        } else if (name == "never") {
            scheme = PrependScheme::kNever;
        } else if (name == "first") {
            scheme = PrependScheme::kFirst;
        } else {
            throw_unsupported("Metaspace prepend_scheme", name);
        }
    } else if (!json_field_or<bool>(spec, what, "add_prefix_space", true)) {
        scheme = PrependScheme::kNever;
    }
    return std::make_unique<MetaspacePreTokenizer>(json_char(spec, what, "replacement"), scheme,
                                                   json_field_or<bool>(spec, what, "split", true));
}

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& spec) {
    if (spec.is_null()) return nullptr;
    const std::string type = component_type(spec, kWhat);
    if (type == "Sequence") {
        std::vector<std::unique_ptr<PreTokenizer>> steps;
        for (const auto& step : json_member(spec, "Sequence pre_tokenizer", "pretokenizers")) {
            if (auto p = make_pre_tokenizer(step)) steps.push_back(std::move(p));
        }
        return std::make_unique<SequencePreTokenizer>(std::move(steps));
    }
    if (type == "ByteLevel") {
        return std::make_unique<ByteLevelPreTokenizer>(
            json_field_or<bool>(spec, kWhat, "add_prefix_space", true),
            json_field_or<bool>(spec, kWhat, "use_regex", true));
    }
    if (type == "Split") {
        constexpr std::string_view what = "Split pre_tokenizer";
        std::string pattern;
        const bool is_regex = json_pattern(spec, what, pattern);
        return std::make_unique<SplitPreTokenizer>(
            Pattern(pattern, is_regex),
            parse_behavior(json_field<std::string>(spec, what, "behavior")),
            json_field_or<bool>(spec, what, "invert", false));
    }
    if (type == "Metaspace") return make_metaspace(spec);
    if (type == "Digits") {
        const bool individual = json_field_or<bool>(spec, kWhat, "individual_digits", false);
        return std::make_unique<CharPreTokenizer>(
            is_numeric, individual ? Behavior::kIsolated : Behavior::kContiguous);
    }
    if (type == "Punctuation") {
        return std::make_unique<CharPreTokenizer>(
            is_punctuation,
            parse_behavior(json_field_or<std::string>(spec, kWhat, "behavior", "Isolated")));
    }
    if (type == "Whitespace") {
        const std::string w(kWordClass);
        return std::make_unique<SplitPreTokenizer>(Pattern("[" + w + "]+|[^" + w + "\\s]+", true),
                                                   Behavior::kRemoved, true);
    }
    if (type == "WhitespaceSplit") {
        return std::make_unique<CharPreTokenizer>(is_whitespace, Behavior::kRemoved);
    }
    if (type == "BertPreTokenizer") {
        std::vector<std::unique_ptr<PreTokenizer>> steps;
        steps.push_back(std::make_unique<CharPreTokenizer>(is_whitespace, Behavior::kRemoved));
        steps.push_back(std::make_unique<CharPreTokenizer>(is_punctuation, Behavior::kIsolated));
        return std::make_unique<SequencePreTokenizer>(std::move(steps));
    }
    throw_unsupported(kWhat, type);
}

}  // namespace qbench::tokenizer
