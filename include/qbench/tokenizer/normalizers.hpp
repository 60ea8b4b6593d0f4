// Normalizers of tokenizer.json: NFC / NFD / NFKC / NFKD, Lowercase, Prepend, Replace, Strip,
// StripAccents and Sequence, with the semantics of HF `tokenizers`.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace qbench::tokenizer {

class Normalizer {
public:
    virtual ~Normalizer() = default;
    // Normalizes one piece of valid UTF-8 text in place; the result is valid UTF-8.
    virtual void normalize(std::string& text) const = 0;
};

// The normalizer described by `spec` (tokenizer.json's "normalizer"); nullptr for JSON null.
// Throws a kBadInput Error naming an unsupported or malformed component.
std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& spec);

}  // namespace qbench::tokenizer
