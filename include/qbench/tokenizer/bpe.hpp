// The BPE model of HF `tokenizers`: merges by rank over adjacent symbol pairs with a priority
// queue (O(n log n) in the length of a word), byte_fallback, unk (fused or not),
// continuing_subword_prefix / end_of_word_suffix and ignore_merges. It is built from in-memory
// vocab and merges, so tokenizer.json and GGUF vocabularies share it.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace qbench::tokenizer {

struct BpeOptions {
    std::optional<std::string> unk_token;
    std::string continuing_subword_prefix;
    std::string end_of_word_suffix;
    bool byte_fallback = false;  // unknown characters become <0xNN> byte tokens
    bool fuse_unk = false;       // consecutive unknown characters become one unk token
    bool ignore_merges = false;  // a whole word found in the vocab is one token
};

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using Vocab = std::unordered_map<std::string, std::int32_t, StringHash, std::equal_to<>>;

class Bpe {
public:
    // `merges` in rank order (first = applied first). Throws a kBadInput Error when a merge
    // names a token that is not in `vocab`, or an id is negative or far beyond the vocab size.
    Bpe(Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges,
        BpeOptions options);

    // Appends the ids of one pre-tokenized word (valid UTF-8) to `out`.
    void tokenize(std::string_view word, std::vector<std::int32_t>& out) const;

    std::optional<std::int32_t> token_to_id(std::string_view token) const;
    // The token text of `id`, or nullptr when no token has that id.
    const std::string* id_to_token(std::int32_t id) const;
    // One more than the largest id.
    std::int64_t vocab_size() const { return static_cast<std::int64_t>(id_to_token_.size()); }

private:
    struct MergeTarget {
        std::int32_t rank;
        std::int32_t new_id;
    };
    void merge_word(std::string_view word, std::vector<std::int32_t>& out) const;
    const MergeTarget* find_merge(std::int32_t left, std::int32_t right) const;

    Vocab vocab_;
    std::vector<std::string> id_to_token_;
    std::vector<bool> has_token_;
    std::unordered_map<std::uint64_t, MergeTarget> merges_;
    BpeOptions options_;
    std::optional<std::int32_t> unk_id_;
    std::vector<std::int32_t> byte_ids_;  // <0xNN> ids for byte_fallback; -1 where absent

    mutable std::mutex cache_mutex_;
    mutable std::unordered_map<std::string, std::vector<std::int32_t>, StringHash, std::equal_to<>>
        cache_;
};

// The BPE model of tokenizer.json's "model" object (merges as "a b" strings or [a, b] pairs).
std::unique_ptr<Bpe> make_bpe(const nlohmann::json& spec);

}  // namespace qbench::tokenizer
