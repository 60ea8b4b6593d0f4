// The tokenizer a GGUF file describes in its tokenizer.ggml.* metadata, reproducing llama.cpp's
// llama_tokenize (src/llama-vocab.cpp; facts carried over, our code):
//   "llama"  SentencePiece (SPM): spaces become U+2581, a space is prepended to every text
//            fragment that follows a special token or starts the text (add_space_prefix), the
//            highest-scoring adjacent pair that is a vocabulary token is merged first, and pieces
//            that are not tokens fall back to <0xXX> byte tokens.
//   "gpt2"   byte-level BPE: the pre-tokenizer of tokenizer.ggml.pre (llama_split.hpp), words in
//            GPT-2's byte alphabet, merges by rank (tokenizer.ggml.merges order); ignore_merges
//            for the pre types that set it (a word that is a token stays whole).
//   "gemma4" BPE over raw UTF-8 with U+2581 for spaces, split only at newline runs, <0xXX> byte
//            fallback (as "gpt2" with pre "gemma4").
//   "bert"   WordPiece (WPM): llama.cpp's whitespace/punctuation split, lowercasing and accent
//            stripping, greedy longest match with a U+2581 word prefix.
// Before any of these the text is cut at special tokens (control, user-defined and unknown token
// types, longest first; user-defined ones always, control/unknown only with parse_special),
// honouring llama.cpp's lstrip/rstrip attributes. BOS/EOS/SEP follow tokenizer.ggml.add_*_token
// with llama.cpp's defaults per model and pre type. Text bytes are taken as llama.cpp takes them
// (no lossy UTF-8 repair first). Other models ("t5", "rwkv", "plamo2", ...) and unknown
// tokenizer.ggml.pre types are refused with a kBadInput Error naming the kind and the file.
#pragma once

#include <memory>

#include "qbench/io/gguf.hpp"
#include "qbench/tokenizer/tokenizer.hpp"

namespace qbench::tokenizer {

class GgufTokenizer : public Tokenizer {
public:
    // llama_tokenize(text, add_special, parse_special).
    virtual std::vector<std::int32_t> encode(std::string_view text, bool add_special,
                                             bool parse_special) const = 0;
    // encode(text, add_special) is encode(text, add_special, /*parse_special=*/false), as
    // llama-perplexity and llama-tokenize tokenize a text by default.
    using Tokenizer::encode;
};

std::unique_ptr<GgufTokenizer> make_gguf_tokenizer(const io::GgufFile& file);

}  // namespace qbench::tokenizer
