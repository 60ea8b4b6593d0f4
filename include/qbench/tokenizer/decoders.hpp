// Decoders of tokenizer.json: ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace and
// Sequence, with the semantics of HF `tokenizers`.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace qbench::tokenizer {

class Decoder {
public:
    virtual ~Decoder() = default;
    // HF decode_chain: rewrites the token strings of a whole sequence; the decoded text is the
    // concatenation of the result.
    virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
    // Rewrites one token into the bytes it stands for anywhere in a sequence: the steps that
    // depend on the position (Strip, a leading Metaspace) and joining (Fuse) do nothing.
    virtual void token_bytes(std::string& token) const = 0;
};

// The decoder described by `spec` (tokenizer.json's "decoder"); nullptr for null.
// Throws a kBadInput Error naming an unsupported or malformed component.
std::unique_ptr<Decoder> make_decoder(const nlohmann::json& spec);

}  // namespace qbench::tokenizer
