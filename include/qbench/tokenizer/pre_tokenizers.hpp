// Pre-tokenizers of tokenizer.json: ByteLevel, Split, Metaspace, Digits, Punctuation, Whitespace,
// WhitespaceSplit, BertPreTokenizer and Sequence, with the semantics of HF `tokenizers`.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace qbench::tokenizer {

// One piece of the text on its way to the model. A piece with id >= 0 is an added token that is
// already final; pre-tokenizers and the model leave it alone.
struct Piece {
    std::string text;
    std::int32_t id = -1;
    bool at_start = false;  // the piece begins at byte 0 of the input text
};

class PreTokenizer {
public:
    virtual ~PreTokenizer() = default;
    // Splits (and may rewrite) every piece that is not an added token. Empty pieces are dropped.
    virtual void pre_tokenize(std::vector<Piece>& pieces) const = 0;
};

// The pre-tokenizer described by `spec` (tokenizer.json's "pre_tokenizer"); nullptr for null.
// Throws a kBadInput Error naming an unsupported or malformed component.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& spec);

}  // namespace qbench::tokenizer
