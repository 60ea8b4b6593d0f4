#include "qbench/tokenizer/added_tokens.hpp"

#include "qbench/tokenizer/normalizers.hpp"
#include "qbench/tokenizer/unicode.hpp"

namespace qbench::tokenizer {

namespace {

char32_t last_code_point(std::string_view s) {
    std::size_t pos = s.size() - 1;
    while (pos > 0 && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) --pos;
    std::size_t len = 0;
    return next_code_point(s, pos, len);
}

// Start of the run of whitespace that ends `s` (s.size() when there is none).
std::size_t trailing_space_start(std::string_view s) {
    std::size_t end = s.size();
    while (end > 0) {
        std::size_t pos = end - 1;
        while (pos > 0 && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) --pos;
        std::size_t len = 0;
        if (!is_whitespace(next_code_point(s, pos, len))) break;
        end = pos;
    }
    return end;
}

// Length of the run of whitespace that starts `s`.
std::size_t leading_space_length(std::string_view s) {
    std::size_t pos = 0;
    while (pos < s.size()) {
        std::size_t len = 0;
        if (!is_whitespace(next_code_point(s, pos, len))) break;
        pos += len;
    }
    return pos;
}

}  // namespace

void AddedVocabulary::Trie::insert(std::string_view pattern, std::int32_t token) {
    if (pattern.empty()) return;
    std::int32_t node = 0;
    for (const char c : pattern) {
        const auto b = static_cast<unsigned char>(c);
        auto it = nodes[static_cast<std::size_t>(node)].next.find(b);
        if (it == nodes[static_cast<std::size_t>(node)].next.end()) {
            nodes.emplace_back();
            const auto child = static_cast<std::int32_t>(nodes.size() - 1);
            nodes[static_cast<std::size_t>(node)].next.emplace(b, child);
            node = child;
        } else {
            node = it->second;
        }
    }
    first_byte[static_cast<unsigned char>(pattern.front())] = true;
    auto& slot = nodes[static_cast<std::size_t>(node)].token;
    if (slot < 0) slot = token;  // the first of identical patterns wins
}

AddedVocabulary::AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer)
    : tokens_(std::move(tokens)) {
    // HF matches special tokens first, then normal ones, each in the order given.
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
        if (tokens_[i].special) order.push_back(i);
    }
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
        if (!tokens_[i].special) order.push_back(i);
    }
    for (const std::size_t i : order) {
        AddedToken& t = tokens_[i];
        by_id_.emplace(t.id, i);
        t.text = t.content;
        if (t.normalized) {
            if (normalizer != nullptr) normalizer->normalize(t.text);
            normalized_.insert(t.text, static_cast<std::int32_t>(i));
        } else {
            raw_.insert(t.text, static_cast<std::int32_t>(i));
        }
    }
}

const AddedToken* AddedVocabulary::find(std::int32_t id) const {
    const auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

std::optional<std::int32_t> AddedVocabulary::id_of(std::string_view content) const {
    for (const auto& t : tokens_) {
        if (t.content == content) return t.id;
    }
    return std::nullopt;
}

bool AddedVocabulary::is_special(std::int32_t id) const {
    const AddedToken* t = find(id);
    return t != nullptr && t->special;
}

void AddedVocabulary::split(std::vector<Piece>& pieces, const Trie& trie) const {
    if (trie.nodes.size() == 1) return;
    std::vector<Piece> out;
    out.reserve(pieces.size());
    for (auto& piece : pieces) {
        if (piece.id >= 0) {
            out.push_back(std::move(piece));
            continue;
        }
        const std::string_view s = piece.text;
        const auto emit = [&](std::size_t begin, std::size_t end, std::int32_t id) {
            if (end > begin) {
                out.push_back(
                    {std::string(s.substr(begin, end - begin)), id, piece.at_start && begin == 0});
            }
        };
        std::size_t start_offset = 0;
        std::size_t pos = 0;
        while (pos < s.size()) {
            if (!trie.first_byte[static_cast<unsigned char>(s[pos])]) {
                ++pos;
                continue;
            }
            // Longest pattern starting at pos.
            std::int32_t node = 0;
            std::int32_t best = -1;
            std::size_t best_end = 0;
            for (std::size_t i = pos; i < s.size(); ++i) {
                const auto& next = trie.nodes[static_cast<std::size_t>(node)].next;
                const auto it = next.find(static_cast<unsigned char>(s[i]));
                if (it == next.end()) break;
                node = it->second;
                if (trie.nodes[static_cast<std::size_t>(node)].token >= 0) {
                    best = trie.nodes[static_cast<std::size_t>(node)].token;
                    best_end = i + 1;
                }
            }
            if (best < 0) {
                ++pos;
                continue;
            }
            const AddedToken& token = tokens_[static_cast<std::size_t>(best)];
            std::size_t start = pos;
            std::size_t stop = best_end;
            pos = best_end;  // the next search starts after this match, used or not
            if (token.single_word) {
                const bool start_space =
                    start == 0 || !is_word_char(last_code_point(s.substr(0, start)));
                std::size_t len = 0;
                const bool stop_space =
                    stop == s.size() || !is_word_char(next_code_point(s, stop, len));
                if (!start_space || !stop_space) continue;
            }
            if (token.lstrip)
                start = std::max(trailing_space_start(s.substr(0, start)), start_offset);
            if (token.rstrip) stop += leading_space_length(s.substr(stop));
            emit(start_offset, start, -1);
            emit(start, stop, token.id);
            start_offset = stop;
        }
        emit(start_offset, s.size(), -1);
    }
    pieces = std::move(out);
}

}  // namespace qbench::tokenizer
