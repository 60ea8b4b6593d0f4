// Added tokens (special and normal) of tokenizer.json, matched in the text before the model as
// HF's AddedVocabulary does: leftmost-longest, with single_word / lstrip / rstrip, and tokens
// marked `normalized` matched against the normalized text.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "qbench/tokenizer/pre_tokenizers.hpp"

namespace qbench::tokenizer {

class Normalizer;

struct AddedToken {
    std::string content;
    std::int32_t id = 0;
    bool special = false;
    bool single_word = false;
    bool lstrip = false;
    bool rstrip = false;
    bool normalized = false;
    // What decode writes for it: the content, normalized when `normalized` is set (as HF's
    // id_to_token does). Set by AddedVocabulary.
    std::string text;
};

class AddedVocabulary {
public:
    // `normalizer` (may be null) turns the content of `normalized` tokens into their patterns.
    AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer);

    // Splits pieces on the tokens that match the raw text (normalized == false).
    void split_raw(std::vector<Piece>& pieces) const { split(pieces, raw_); }
    // Splits pieces on the tokens that match the normalized text (normalized == true).
    void split_normalized(std::vector<Piece>& pieces) const { split(pieces, normalized_); }

    const AddedToken* find(std::int32_t id) const;
    std::optional<std::int32_t> id_of(std::string_view content) const;
    bool is_special(std::int32_t id) const;
    const std::vector<AddedToken>& tokens() const { return tokens_; }

private:
    // A byte trie over token patterns for leftmost-longest matching.
    struct Trie {
        struct Node {
            std::map<unsigned char, std::int32_t> next;
            std::int32_t token = -1;  // index into tokens_
        };
        std::vector<Node> nodes{1};
        bool first_byte[256] = {};
        void insert(std::string_view pattern, std::int32_t token);
    };
    void split(std::vector<Piece>& pieces, const Trie& trie) const;

    std::vector<AddedToken> tokens_;
    std::unordered_map<std::int32_t, std::size_t> by_id_;
    Trie raw_;
    Trie normalized_;
};

}  // namespace qbench::tokenizer
