#include "qbench/tokenizer/bpe.hpp"

#include <nlohmann/json.hpp>
#include <queue>

#include "qbench/tokenizer/json_spec.hpp"
#include "qbench/tokenizer/unicode.hpp"
#include "qbench/util/error.hpp"

namespace qbench::tokenizer {

namespace {

constexpr std::size_t kCacheMaxWordBytes = 256;
constexpr std::size_t kCacheMaxEntries = 100000;

std::uint64_t pair_key(std::int32_t left, std::int32_t right) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
           static_cast<std::uint32_t>(right);
}

struct Symbol {
    std::int32_t id;
    std::int32_t prev;
    std::int32_t next;
    bool removed;
};

struct QueuedMerge {
    std::int32_t pos;
    std::int32_t rank;
    std::int32_t new_id;
    // Lowest rank first, then leftmost position.
    bool operator<(const QueuedMerge& o) const {
        return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
};

}  // namespace

Bpe::Bpe(Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges,
         BpeOptions options)
    : vocab_(std::move(vocab)), options_(std::move(options)) {
    std::int32_t max_id = -1;
    for (const auto& [token, id] : vocab_) {
        if (id < 0) throw_bad_input("BPE vocab: token '{}' has negative id {}", token, id);
        max_id = std::max(max_id, id);
    }
    if (max_id >= 0 && static_cast<std::size_t>(max_id) > 4 * vocab_.size() + 65536) {
        throw_bad_input("BPE vocab: id {} is far beyond the {} tokens", max_id, vocab_.size());
    }
    id_to_token_.resize(static_cast<std::size_t>(max_id + 1));
    has_token_.assign(id_to_token_.size(), false);
    for (const auto& [token, id] : vocab_) {
        id_to_token_[static_cast<std::size_t>(id)] = token;
        has_token_[static_cast<std::size_t>(id)] = true;
    }
    const std::size_t prefix_len = options_.continuing_subword_prefix.size();
    merges_.reserve(merges.size());
    for (std::size_t rank = 0; rank < merges.size(); ++rank) {
        const auto& [a, b] = merges[rank];
        const auto a_id = token_to_id(a);
        const auto b_id = token_to_id(b);
        if (!a_id) throw_bad_input("BPE merge {}: token '{}' is not in the vocab", rank, a);
        if (!b_id) throw_bad_input("BPE merge {}: token '{}' is not in the vocab", rank, b);
        if (b.size() < prefix_len) {
            throw_bad_input("BPE merge {}: token '{}' is shorter than the subword prefix", rank, b);
        }
        const std::string merged = a + b.substr(prefix_len);
        const auto new_id = token_to_id(merged);
        if (!new_id) throw_bad_input("BPE merge {}: token '{}' is not in the vocab", rank, merged);
        // As HF collects merges into a map, a repeated pair keeps its last rank.
        merges_[pair_key(*a_id, *b_id)] = {static_cast<std::int32_t>(rank), *new_id};
    }
    if (options_.unk_token) unk_id_ = token_to_id(*options_.unk_token);
    if (options_.byte_fallback) {
        byte_ids_.assign(256, -1);
        for (int b = 0; b < 256; ++b) {
            if (auto id = token_to_id(fmt::format("<0x{:02X}>", b))) byte_ids_[b] = *id;
        }
    }
}

std::optional<std::int32_t> Bpe::token_to_id(std::string_view token) const {
    const auto it = vocab_.find(token);
    if (it == vocab_.end()) return std::nullopt;
    return it->second;
}

const std::string* Bpe::id_to_token(std::int32_t id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= id_to_token_.size() ||
        !has_token_[static_cast<std::size_t>(id)]) {
        return nullptr;
    }
    return &id_to_token_[static_cast<std::size_t>(id)];
}

const Bpe::MergeTarget* Bpe::find_merge(std::int32_t left, std::int32_t right) const {
    const auto it = merges_.find(pair_key(left, right));
    return it == merges_.end() ? nullptr : &it->second;
}

void Bpe::tokenize(std::string_view word, std::vector<std::int32_t>& out) const {
    if (word.empty()) return;
    if (options_.ignore_merges) {
        if (const auto id = token_to_id(word)) {
            out.push_back(*id);
            return;
        }
    }
    const bool cacheable = word.size() < kCacheMaxWordBytes;
    if (cacheable) {
        std::lock_guard lock(cache_mutex_);
        const auto it = cache_.find(word);
        if (it != cache_.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    const std::size_t first = out.size();
    merge_word(word, out);
    if (cacheable) {
        std::lock_guard lock(cache_mutex_);
        if (cache_.size() >= kCacheMaxEntries) cache_.clear();
        cache_.emplace(std::string(word),
                       std::vector<std::int32_t>(out.begin() + first, out.end()));
    }
}

void Bpe::merge_word(std::string_view word, std::vector<std::int32_t>& out) const {
    std::vector<Symbol> symbols;
    symbols.reserve(word.size());
    const auto add = [&](std::int32_t id) {
        const auto index = static_cast<std::int32_t>(symbols.size());
        symbols.push_back({id, index - 1, index + 1, false});
    };
    std::optional<std::int32_t> pending_unk;  // an unk symbol not yet added (fuse_unk)
    std::string piece;
    for (std::size_t pos = 0; pos < word.size();) {
        std::size_t len = 0;
        next_code_point(word, pos, len);
        piece.clear();
        if (pos != 0) piece += options_.continuing_subword_prefix;
        piece.append(word.substr(pos, len));
        if (pos + len == word.size()) piece += options_.end_of_word_suffix;
        pos += len;
        if (const auto id = token_to_id(piece)) {
            if (pending_unk) add(*std::exchange(pending_unk, std::nullopt));
            add(*id);
            continue;
        }
        if (options_.byte_fallback) {
            bool all = true;
            for (const char c : piece) all = all && byte_ids_[static_cast<std::uint8_t>(c)] >= 0;
            if (all) {
                // HF adds byte tokens without flushing a pending unk first.
                for (const char c : piece) add(byte_ids_[static_cast<std::uint8_t>(c)]);
                continue;
            }
        }
        if (options_.unk_token) {
            if (!unk_id_) {
                throw_bad_input("BPE: unk_token '{}' is not in the vocab", *options_.unk_token);
            }
            if (pending_unk && !options_.fuse_unk) add(*pending_unk);
            pending_unk = *unk_id_;
        }
    }
    if (pending_unk) add(*pending_unk);
    if (symbols.empty()) return;
    symbols.back().next = -1;

    std::priority_queue<QueuedMerge> queue;
    for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
        if (const auto* m = find_merge(symbols[i].id, symbols[i + 1].id)) {
            queue.push({static_cast<std::int32_t>(i), m->rank, m->new_id});
        }
    }
    while (!queue.empty()) {
        const QueuedMerge top = queue.top();
        queue.pop();
        Symbol& left = symbols[static_cast<std::size_t>(top.pos)];
        if (left.removed || left.next < 0) continue;
        Symbol& right = symbols[static_cast<std::size_t>(left.next)];
        const auto* m = find_merge(left.id, right.id);
        if (m == nullptr || m->new_id != top.new_id) continue;  // stale entry
        left.id = top.new_id;
        right.removed = true;
        left.next = right.next;
        if (right.next >= 0) symbols[static_cast<std::size_t>(right.next)].prev = top.pos;
        if (left.prev >= 0) {
            if (const auto* pm =
                    find_merge(symbols[static_cast<std::size_t>(left.prev)].id, left.id)) {
                queue.push({left.prev, pm->rank, pm->new_id});
            }
        }
        if (left.next >= 0) {
            if (const auto* nm =
                    find_merge(left.id, symbols[static_cast<std::size_t>(left.next)].id)) {
                queue.push({top.pos, nm->rank, nm->new_id});
            }
        }
    }
    for (const Symbol& s : symbols) {
        if (!s.removed) out.push_back(s.id);
    }
}

std::unique_ptr<Bpe> make_bpe(const nlohmann::json& spec) {
    constexpr std::string_view what = "BPE model";
    const auto& vocab_json = json_member(spec, what, "vocab");
    if (!vocab_json.is_object())
        throw_bad_input("tokenizer.json: {}: 'vocab' must be an object", what);
    Vocab vocab;
    vocab.reserve(vocab_json.size());
    for (const auto& [token, id] : vocab_json.items()) {
        if (!id.is_number_integer()) {
            throw_bad_input("tokenizer.json: {}: id of token '{}' is not an integer", what, token);
        }
        vocab.emplace(token, id.get<std::int32_t>());
    }
    std::vector<std::pair<std::string, std::string>> merges;
    const auto& merges_json = json_member_or_null(spec, "merges");
    if (!merges_json.is_null() && !merges_json.is_array())
        throw_bad_input("tokenizer.json: {}: 'merges' must be a list", what);
    merges.reserve(merges_json.size());
    for (const auto& m : merges_json) {
        if (m.is_string()) {
            const auto& s = m.get_ref<const std::string&>();
            const auto space = s.find(' ');
            if (space == std::string::npos) {
                throw_bad_input("tokenizer.json: {}: merge '{}' is not 'a b'", what, s);
            }
            merges.emplace_back(s.substr(0, space), s.substr(space + 1));
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
            merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
        } else {
            throw_bad_input("tokenizer.json: {}: a merge must be 'a b' or [a, b]", what);
        }
    }
    BpeOptions options;
    if (spec.contains("unk_token") && !spec["unk_token"].is_null()) {
        options.unk_token = json_field<std::string>(spec, what, "unk_token");
    }
    options.continuing_subword_prefix =
        json_field_or<std::string>(spec, what, "continuing_subword_prefix", "");
    options.end_of_word_suffix = json_field_or<std::string>(spec, what, "end_of_word_suffix", "");
    options.byte_fallback = json_field_or<bool>(spec, what, "byte_fallback", false);
    options.fuse_unk = json_field_or<bool>(spec, what, "fuse_unk", false);
    options.ignore_merges = json_field_or<bool>(spec, what, "ignore_merges", false);
    if (spec.contains("dropout") && !spec["dropout"].is_null() &&
        spec["dropout"].get<double>() > 0) {
        throw_bad_input("tokenizer.json: {}: dropout is not supported (encoding would be random)",
                        what);
    }
    return std::make_unique<Bpe>(std::move(vocab), merges, std::move(options));
}

}  // namespace qbench::tokenizer
