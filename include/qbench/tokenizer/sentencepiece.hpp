// A tokenizer.model (SentencePiece) tokenizer through libsentencepiece.
#pragma once

#include <filesystem>
#include <memory>

#include "qbench/tokenizer/tokenizer.hpp"
#include "qbench/tokenizer/tokenizer_config.hpp"

namespace qbench::tokenizer {

// Loads `model_file`. add_special adds BOS (and EOS) as the config says; without a config, BOS
// only (the Llama convention). decode writes control tokens (BOS, EOS) as nothing, as
// SentencePiece does, whether or not skip_special is set. Throws a kBadInput Error when the file is
// not a SentencePiece model.
std::unique_ptr<Tokenizer> make_sentencepiece_tokenizer(const std::filesystem::path& model_file,
                                                        const TokenizerConfig& config);

}  // namespace qbench::tokenizer
