// The tokenizer a GGUF file describes in its tokenizer.ggml.* metadata, built the way
// transformers builds it (integrations/gguf/gguf_tokenizer_mapping.py) and run through the same
// tokenizer.json code as any HF tokenizer:
//   "gpt2"  byte-level BPE: tokens (respelled in the byte alphabet when needed), merges "a b",
//           the GPT-2 ByteLevel pre-tokenizer, or a Split regex chosen by tokenizer.ggml.pre
//           (llama-bpe / llama3 / qwen2 / ... families) followed by ByteLevel without regex.
//   "llama" SentencePiece BPE: byte_fallback + fuse_unk, Metaspace (prepend "first"), merges
//           recovered from the vocabulary and its scores as transformers' generate_merges does.
// Control tokens (type 3) and the bos/eos/unk/pad tokens are special added tokens; user-defined
// tokens (type 4) are plain added tokens. BOS/EOS come from add_bos_token / add_eos_token
// ("llama" adds BOS when the file does not say).
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>

#include "qbench/io/gguf.hpp"
#include "qbench/tokenizer/tokenizer.hpp"
#include "qbench/tokenizer/tokenizer_config.hpp"

namespace qbench::tokenizer {

// The tokenizer.json document and tokenizer_config of a GGUF file's vocabulary. Throws a
// kBadInput Error naming the file for a missing key or an unsupported tokenizer.ggml.model.
void gguf_tokenizer_spec(const io::GgufFile& file, nlohmann::json& spec, TokenizerConfig& config);

std::unique_ptr<Tokenizer> make_gguf_tokenizer(const io::GgufFile& file);

}  // namespace qbench::tokenizer
