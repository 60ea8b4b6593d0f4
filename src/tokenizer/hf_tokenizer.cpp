#include "qbench/tokenizer/hf_tokenizer.hpp"

#include <nlohmann/json.hpp>

#include "qbench/tokenizer/added_tokens.hpp"
#include "qbench/tokenizer/bpe.hpp"
#include "qbench/tokenizer/decoders.hpp"
#include "qbench/tokenizer/json_spec.hpp"
#include "qbench/tokenizer/normalizers.hpp"
#include "qbench/tokenizer/post_processors.hpp"
#include "qbench/tokenizer/pre_tokenizers.hpp"
#include "qbench/tokenizer/unicode.hpp"
#include "qbench/util/error.hpp"

namespace qbench::tokenizer {

namespace {

std::vector<AddedToken> parse_added_tokens(const nlohmann::json& spec) {
    constexpr std::string_view what = "added_tokens";
    std::vector<AddedToken> tokens;
    const auto& list = json_member_or_null(spec, "added_tokens");
    if (list.is_null()) return tokens;
    if (!list.is_array()) throw_bad_input("tokenizer.json: 'added_tokens' must be a list");
    for (const auto& t : list) {
        AddedToken token;
        token.content = json_field<std::string>(t, what, "content");
        const auto id = json_field<std::int64_t>(t, what, "id");
        if (id < 0 || id > INT32_MAX) {
            throw_bad_input("tokenizer.json: added token '{}' has invalid id {}", token.content,
                            id);
        }
        token.id = static_cast<std::int32_t>(id);
        token.special = json_field_or<bool>(t, what, "special", false);
        token.single_word = json_field_or<bool>(t, what, "single_word", false);
        token.lstrip = json_field_or<bool>(t, what, "lstrip", false);
        token.rstrip = json_field_or<bool>(t, what, "rstrip", false);
        token.normalized = json_field_or<bool>(t, what, "normalized", !token.special);
        if (!token.content.empty()) tokens.push_back(std::move(token));
    }
    return tokens;
}

class HfTokenizer final : public Tokenizer {
public:
    HfTokenizer(const nlohmann::json& spec, const TokenizerConfig& config)
        : normalizer_(make_normalizer(json_member_or_null(spec, "normalizer"))),
          pre_tokenizer_(make_pre_tokenizer(json_member_or_null(spec, "pre_tokenizer"))),
          model_(make_model(json_member(spec, "tokenizer", "model"))),
          template_(make_post_processor(json_member_or_null(spec, "post_processor"))),
          decoder_(make_decoder(json_member_or_null(spec, "decoder"))),
          added_(parse_added_tokens(spec), normalizer_.get()) {
        vocab_size_ = model_->vocab_size();
        for (const auto& t : added_.tokens())
            vocab_size_ = std::max<std::int64_t>(vocab_size_, t.id + 1);
        set_special_tokens(config);
    }

    std::vector<std::int32_t> encode(std::string_view text, bool add_special) const override {
        std::vector<Piece> pieces;
        if (!text.empty()) pieces.push_back({utf8_lossy(text), -1, true});
        added_.split_raw(pieces);
        if (normalizer_) {
            for (auto& piece : pieces) {
                if (piece.id < 0) normalizer_->normalize(piece.text);
            }
            std::erase_if(pieces, [](const Piece& p) { return p.text.empty(); });
        }
        added_.split_normalized(pieces);
        if (pre_tokenizer_) pre_tokenizer_->pre_tokenize(pieces);
        std::vector<std::int32_t> ids;
        if (add_special) ids = template_.prefix;
        ids.reserve(text.size() / 3 + 8);
        for (const auto& piece : pieces) {
            if (piece.id >= 0) {
                ids.push_back(piece.id);
            } else {
                model_->tokenize(piece.text, ids);
            }
        }
        if (add_special) ids.insert(ids.end(), template_.suffix.begin(), template_.suffix.end());
        return ids;
    }

    std::string decode(const std::vector<std::int32_t>& ids, bool skip_special) const override {
        std::vector<std::string> tokens;
        tokens.reserve(ids.size());
        for (const std::int32_t id : ids) {
            if (const AddedToken* added = added_.find(id)) {
                if (!(skip_special && added->special)) tokens.push_back(added->text);
            } else {
                tokens.push_back(model_token(id));
            }
        }
        std::string text;
        if (decoder_) {
            decoder_->decode_chain(tokens);
            for (const auto& t : tokens) text += t;
        } else {
            for (std::size_t i = 0; i < tokens.size(); ++i) {
                if (i > 0) text += ' ';
                text += tokens[i];
            }
        }
        return text;
    }

    std::string token_bytes(std::int32_t id) const override {
        if (const AddedToken* added = added_.find(id)) return added->text;
        std::string token = model_token(id);
        if (decoder_) decoder_->token_bytes(token);
        return token;
    }

    std::int64_t vocab_size() const override { return vocab_size_; }

    bool is_special(std::int32_t id) const override { return added_.is_special(id); }

private:
    static std::unique_ptr<Bpe> make_model(const nlohmann::json& spec) {
        const std::string type = json_field_or<std::string>(spec, "model", "type", "BPE");
        if (type != "BPE") throw_unsupported("model", type);
        return make_bpe(spec);
    }

    const std::string& model_token(std::int32_t id) const {
        const std::string* token = model_->id_to_token(id);
        if (token == nullptr) {
            throw_bad_input("decode: unknown token id {} (vocab size {})", id, vocab_size_);
        }
        return *token;
    }

    std::optional<std::int32_t> id_of(const std::optional<std::string>& token) const {
        if (!token) return std::nullopt;
        if (auto id = added_.id_of(*token)) return id;
        return model_->token_to_id(*token);
    }

    void set_special_tokens(const TokenizerConfig& config) {
        const auto& prefix = template_.prefix;
        const auto& suffix = template_.suffix;
        special_.bos = config.bos_token ? id_of(config.bos_token)
                       : prefix.empty() ? std::nullopt
                                        : std::optional<std::int32_t>(prefix.front());
        special_.eos = config.eos_token ? id_of(config.eos_token)
                       : suffix.empty() ? std::nullopt
                                        : std::optional<std::int32_t>(suffix.back());
        special_.pad = id_of(config.pad_token);
        special_.add_bos = config.add_bos_token.value_or(special_.bos && !prefix.empty() &&
                                                         prefix.front() == *special_.bos);
        special_.add_eos = config.add_eos_token.value_or(special_.eos && !suffix.empty() &&
                                                         suffix.back() == *special_.eos);
    }

    std::unique_ptr<Normalizer> normalizer_;
    std::unique_ptr<PreTokenizer> pre_tokenizer_;
    std::unique_ptr<Bpe> model_;
    SpecialTemplate template_;
    std::unique_ptr<Decoder> decoder_;
    AddedVocabulary added_;
    std::int64_t vocab_size_ = 0;
};

}  // namespace

std::unique_ptr<Tokenizer> make_hf_tokenizer(const nlohmann::json& spec,
                                             const TokenizerConfig& config) {
    if (!spec.is_object()) throw_bad_input("tokenizer.json: expected a JSON object");
    return std::make_unique<HfTokenizer>(spec, config);
}

}  // namespace qbench::tokenizer
