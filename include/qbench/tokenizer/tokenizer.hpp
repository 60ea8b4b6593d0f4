// The Tokenizer interface and load_tokenizer: tokenizer.json (HF `tokenizers`, reproduced
// exactly) or tokenizer.model (SentencePiece), with the special-token policy of
// tokenizer_config.json.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qbench::tokenizer {

// Special token ids and the policy for adding them, from tokenizer_config.json (or the model).
struct SpecialTokens {
    std::optional<std::int32_t> bos;
    std::optional<std::int32_t> eos;
    std::optional<std::int32_t> pad;
    bool add_bos = false;
    bool add_eos = false;
};

// All methods are const and safe to call from several threads at once.
class Tokenizer {
public:
    virtual ~Tokenizer() = default;

    // The ids of `text`. Bytes that are not valid UTF-8 are first replaced as
    // String::from_utf8_lossy does (one U+FFFD per maximal invalid subpart), which is what the
    // reference sees. add_special: apply the post-processor / template (BOS etc.), as HF
    // encode(add_special_tokens=...). A GGUF vocabulary follows llama_tokenize instead
    // (gguf_tokenizer.hpp: bytes as llama.cpp takes them, special tokens not parsed).
    virtual std::vector<std::int32_t> encode(std::string_view text, bool add_special) const = 0;

    // The text of `ids`, as HF decode(ids, skip_special_tokens=skip_special). Throws a kBadInput
    // Error for an id that names no token.
    virtual std::string decode(const std::vector<std::int32_t>& ids, bool skip_special) const = 0;

    // The raw bytes that token `id` stands for inside a text (for byte counts); may be partial
    // UTF-8. Throws a kBadInput Error for an id that names no token.
    virtual std::string token_bytes(std::int32_t id) const = 0;

    // One more than the largest token id (model vocab and added tokens).
    virtual std::int64_t vocab_size() const = 0;

    // Whether `id` is a special token (skipped by decode(ids, true)).
    virtual bool is_special(std::int32_t id) const = 0;

    std::optional<std::int32_t> bos_id() const { return special_.bos; }
    std::optional<std::int32_t> eos_id() const { return special_.eos; }
    std::optional<std::int32_t> pad_id() const { return special_.pad; }
    // tokenizer_config.json's add_bos_token / add_eos_token; where absent, whether
    // encode(text, true) puts BOS first / EOS last.
    bool add_bos() const { return special_.add_bos; }
    bool add_eos() const { return special_.add_eos; }

protected:
    SpecialTokens special_;
};

// A tokenizer.json file, a tokenizer.model file, or a model directory holding one of them
// (tokenizer.json preferred), or a .gguf file (its vocabulary: gguf_tokenizer.hpp).
// tokenizer_config.json is read from beside the file ("X.tokenizer.json" pairs with "X.tokenizer_config.json" first). Throws a kBadInput Error for a
// missing or malformed file and for unsupported components, naming them.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& file_or_model_dir);

}  // namespace qbench::tokenizer
