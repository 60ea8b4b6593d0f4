// llama.cpp's text splitting for GGUF vocabularies (the facts of its src/unicode.cpp, our code):
// its code point classes (Unicode 15.1 general categories collapsed to \p{L} \p{N} \p{P} \p{S}
// \p{M} \p{Z} \p{C}, plus its own White_Space list), its lenient UTF-8 decoding, and the
// pre-tokenizer that splits a text into words by a list of regexes, each one refining the
// previous split. Like llama.cpp, the regexes it has hand-written splitters for (GPT-2, Llama 3,
// Qwen 2, Qwen 3.5, Kimi-K2, AFMoE digits, newline runs) run through those, with their exact
// quirks (a fragment boundary ends a whitespace run as the end of the text would); every other
// regex runs through std::regex (ECMAScript) over a "collapsed" text where each non-ASCII code
// point becomes one byte standing for its class, and \p{..} in the regex becomes that byte plus
// the class's ASCII members. This is not PCRE: \p{Lu} matches any letter, for one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace qbench::tokenizer::llama {

enum CptFlag : std::uint16_t {
    kUndefined = 0x0001,
    kNumber = 0x0002,
    kLetter = 0x0004,
    kSeparator = 0x0008,
    kMark = 0x0010,
    kPunctuation = 0x0020,
    kSymbol = 0x0040,
    kControl = 0x0080,
    kCategoryMask = 0x00FF,
    kWhitespace = 0x0100,
};

// The class flags of `cp` (kUndefined for unassigned code points and cp >= 0x110000).
std::uint16_t cpt_flags(char32_t cp);
// The simple lowercase mapping (UnicodeData.txt), or cp.
char32_t cpt_tolower(char32_t cp);
// The first code point of cp's canonical decomposition (what llama.cpp's "NFD" keeps), or cp.
char32_t cpt_nfd_first(char32_t cp);

// Code points of `text` as llama.cpp decodes them: the lead byte gives the length, continuation
// bytes are checked; a bad sequence becomes one U+FFFD and decoding resumes at the next byte.
std::vector<char32_t> decode_utf8(std::string_view text);
void append_utf8(std::string& out, char32_t cp);

// A pre-tokenizer: the regexes of one tokenizer.ggml.pre type, compiled once. Thread-safe.
class WordSplitter {
public:
    // Throws a kBadInput Error naming a regex std::regex rejects.
    explicit WordSplitter(const std::vector<std::string>& regexes);
    ~WordSplitter();
    WordSplitter(WordSplitter&&) noexcept;
    WordSplitter& operator=(WordSplitter&&) noexcept;

    // The words of `text` (every code point in exactly one word, in order), as code point
    // [begin, end) ranges of `cpts` = decode_utf8(text).
    std::vector<std::pair<std::size_t, std::size_t>> split(const std::vector<char32_t>& cpts) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace qbench::tokenizer::llama
