#include "qbench/tokenizer/sentencepiece.hpp"

#include <sentencepiece_processor.h>

#include "qbench/tokenizer/unicode.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"

namespace qbench::tokenizer {

namespace {

class SentencePieceTokenizer final : public Tokenizer {
public:
    SentencePieceTokenizer(const std::filesystem::path& model_file, const TokenizerConfig& config) {
        const auto status = processor_.LoadFromSerializedProto(read_file(model_file));
        if (!status.ok()) {
            throw_bad_input("{}: not a SentencePiece model: {}", model_file.string(),
                            status.ToString());
        }
        const auto id_or = [&](const std::optional<std::string>& name,
                               int fallback) -> std::optional<std::int32_t> {
            if (name) {
                const int id = processor_.PieceToId(*name);
                if (processor_.IdToPiece(id) == *name) return id;
                return std::nullopt;
            }
            return fallback >= 0 ? std::optional<std::int32_t>(fallback) : std::nullopt;
        };
        special_.bos = id_or(config.bos_token, processor_.bos_id());
        special_.eos = id_or(config.eos_token, processor_.eos_id());
        special_.pad = id_or(config.pad_token, processor_.pad_id());
        special_.add_bos = config.add_bos_token.value_or(true) && special_.bos.has_value();
        special_.add_eos = config.add_eos_token.value_or(false) && special_.eos.has_value();
    }

    std::vector<std::int32_t> encode(std::string_view text, bool add_special) const override {
        std::vector<int> pieces;
        const auto status = processor_.Encode(utf8_lossy(text), &pieces);
        if (!status.ok()) throw_runtime("sentencepiece encode failed: {}", status.ToString());
        std::vector<std::int32_t> ids;
        ids.reserve(pieces.size() + 2);
        if (add_special && special_.add_bos) ids.push_back(*special_.bos);
        ids.insert(ids.end(), pieces.begin(), pieces.end());
        if (add_special && special_.add_eos) ids.push_back(*special_.eos);
        return ids;
    }

    // SentencePiece decodes control tokens (BOS, EOS) to nothing, so skip_special changes
    // nothing here.
    std::string decode(const std::vector<std::int32_t>& ids, bool /*skip_special*/) const override {
        for (const std::int32_t id : ids) check(id);
        return processor_.DecodeIds(std::vector<int>(ids.begin(), ids.end()));
    }

    std::string token_bytes(std::int32_t id) const override {
        check(id);
        const std::string piece = processor_.IdToPiece(id);
        if (processor_.IsByte(id)) {
            return std::string(1, static_cast<char>(std::stoi(piece.substr(3, 2), nullptr, 16)));
        }
        if (processor_.IsControl(id)) return piece;
        std::string out;
        for (std::size_t pos = 0; pos < piece.size();) {
            if (piece.compare(pos, 3, "\xE2\x96\x81") == 0) {  // U+2581, SentencePiece's space
                out += ' ';
                pos += 3;
            } else {
                out += piece[pos++];
            }
        }
        return out;
    }

    std::int64_t vocab_size() const override { return processor_.GetPieceSize(); }

    bool is_special(std::int32_t id) const override {
        return id >= 0 && id < processor_.GetPieceSize() && processor_.IsControl(id);
    }

private:
    void check(std::int32_t id) const {
        if (id < 0 || id >= processor_.GetPieceSize()) {
            throw_bad_input("decode: unknown token id {} (vocab size {})", id,
                            processor_.GetPieceSize());
        }
    }

    sentencepiece::SentencePieceProcessor processor_;
};

}  // namespace

std::unique_ptr<Tokenizer> make_sentencepiece_tokenizer(const std::filesystem::path& model_file,
                                                        const TokenizerConfig& config) {
    return std::make_unique<SentencePieceTokenizer>(model_file, config);
}

}  // namespace qbench::tokenizer
