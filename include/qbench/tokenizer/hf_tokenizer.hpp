// A tokenizer.json tokenizer: added tokens -> normalizer -> pre-tokenizer -> BPE model ->
// post-processor, and the decoder, each step reproducing HF `tokenizers`.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>

#include "qbench/tokenizer/tokenizer.hpp"
#include "qbench/tokenizer/tokenizer_config.hpp"

namespace qbench::tokenizer {

// Builds the tokenizer described by a parsed tokenizer.json. Throws a kBadInput Error naming a
// malformed field or an unsupported component.
std::unique_ptr<Tokenizer> make_hf_tokenizer(const nlohmann::json& spec,
                                             const TokenizerConfig& config);

}  // namespace qbench::tokenizer
