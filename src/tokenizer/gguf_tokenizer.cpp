#include "qbench/tokenizer/gguf_tokenizer.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <optional>
#include <queue>
#include <unordered_map>

#include "qbench/tokenizer/llama_split.hpp"
#include "qbench/util/error.hpp"

namespace qbench::tokenizer {

namespace {

using llama::append_utf8;
using llama::cpt_flags;
using llama::decode_utf8;

// llama_token_attr bits.
enum Attr : std::uint32_t {
    kAttrUnknown = 1u << 0,
    kAttrUnused = 1u << 1,
    kAttrNormal = 1u << 2,
    kAttrControl = 1u << 3,
    kAttrUserDefined = 1u << 4,
    kAttrByte = 1u << 5,
    kAttrLstrip = 1u << 7,
    kAttrRstrip = 1u << 8,
};

// tokenizer.ggml.token_type values -> attributes.
std::uint32_t attr_of_type(std::int64_t type) {
    switch (type) {
        case 1: return kAttrNormal;
        case 2: return kAttrUnknown;
        case 3: return kAttrControl;
        case 4: return kAttrUserDefined;
        case 5: return kAttrUnused;
        case 6: return kAttrByte;
        default: return 0;  // undefined
    }
}

constexpr std::string_view kSpace = "\xe2\x96\x81";  // U+2581

// ---- pre-tokenizer types (llama-vocab.cpp's regex lists and per-name flags) ----

const char* const kGpt2Regex = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const char* const kLlama3Regex =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kQwen2Regex =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kNewlineRuns = "[^\\n]+|[\\n]+";
const char* const kDeepseek3Words =
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
    "?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";
const char* const kPoroRegex = " ?[^(\\s|.,!?…。，、।۔،)]+";
const char* const kGpt4oRegex =
    "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'["
    "lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'["
    "vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

enum class Pre {
    kDefault, kLlama3, kJais2, kDeepseekLlm, kDeepseek3, kSpark25, kYoutu, kDeepseekCoder, kFalcon,
    kStarcoder, kGpt2, kQwen2, kQwen35, kPoro, kViking, kTekken, kChameleon, kGpt4o, kGraniteEmbMulti,
    kTinyAya, kKimiK2, kSuperbpe, kBailingmoe, kSeedCoder, kUfakzeka, kAfmoe, kLaguna, kExaoneMoe,
    kGemma4, kMinicpm5, kWhitespace,
};

std::vector<std::string> pre_regexes(Pre pre) {
    switch (pre) {
        case Pre::kLlama3: return {kLlama3Regex};
        case Pre::kJais2:
            return {"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!"
                    "\\S)|\\s{32}(?!\\S)|\\s{16}(?!\\S)|\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}"};
        case Pre::kDeepseekLlm:
            return {"[\r\n]",
                    // Written with \u escapes: these ranges must stay byte-exact (no Unicode normalization).
                    "\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF\u0370-\u0373"
                    "\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F"
                    "\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77"
                    "\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D"
                    "\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4"
                    "\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139"
                    "\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D"
                    "\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A"
                    "\uFF41-\uFF5A\U00010400-\U0001044F\U000104B0-\U000104D3\U000104D8-\U000104FB\U00010C80-\U00010CB2"
                    "\U00010CC0-\U00010CF2\U000118A0-\U000118DF\U0001E900-\U0001E943]+",
                    "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
                    "\\s+$",
                    "[一-龥ࠀ-一가-퟿]+",
                    "\\p{N}+"};
        case Pre::kDeepseek3: return {"\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+", kDeepseek3Words};
        case Pre::kSpark25:
            return {"\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+",
                    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
                    "?[\\p{P}\\p{S}]+|[\r\n]|\\s+(?!\\S)|\\s+",
                    "\\p{N}"};
        case Pre::kYoutu:
            return {"[가-힣ㄱ-ㆎ]+|[！…“”‘’—：；，、-〿︰-﹏]+|[ㄅ-ㄯ]+|[一-龥぀-ゟ゠-ヿ]+",
                    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?:'[sS]|'[tT]|'"
                    "[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+["
                    "\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}| "
                    "?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"};
        case Pre::kDeepseekCoder: return {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}"};
        case Pre::kFalcon: return {"[\\p{P}\\$\\+<=>\\^~\\|`]+", kGpt2Regex, "[0-9][0-9][0-9]"};
        case Pre::kStarcoder: return {"\\p{N}", kGpt2Regex};
        case Pre::kGpt2: return {kGpt2Regex};
        case Pre::kQwen2: return {kQwen2Regex};
        case Pre::kQwen35:
            return {"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| "
                    "?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"};
        case Pre::kPoro: return {kPoroRegex};
        case Pre::kViking: return {kPoroRegex, "\\p{N}"};
        case Pre::kTekken:
            return {"[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])"
                    "([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"};
        case Pre::kChameleon:
            return {"<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", "\\p{N}",
                    "[\\p{P}!-/:-@\\[-`{-~]", kGpt2Regex};
        case Pre::kGpt4o: return {kGpt4oRegex};
        case Pre::kGraniteEmbMulti:
            return {"[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}\\p{M}])([^a-z]))*((?=[\\p{L}\\p{M}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]"
                    "|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}\\p{M}])([^a-z]))+((?=[\\p{L}\\p{M}"
                    "])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| "
                    "?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"};
        case Pre::kTinyAya:
            return {"\\d{1,3}(?=(?:\\d{3})*\\b)",
                    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?:'[sS]|'[tT]|'"
                    "[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+["
                    "\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| "
                    "?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"};
        case Pre::kKimiK2: return {"\\p{Han}+"};
        case Pre::kSuperbpe: return {"\\p{N}+", "(?=(\\d{3})+(?!\\d))"};
        case Pre::kBailingmoe:
            return {"'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
                    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"};
        case Pre::kSeedCoder:
            return {"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| "
                    "?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"};
        case Pre::kUfakzeka:
            return {"[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"};
        case Pre::kAfmoe:
            return {"\\p{AFMoE_digits}", "[一-鿿㐀-䶿豈-﫿぀-ゟ゠-ヿ･-ﾟ⼀-⿟เ-๿຀-໿ក-៿က-႟ꩠ-ꩿꧠ-꧿가-힯ᄀ-ᇿ]+", kDeepseek3Words};
        case Pre::kLaguna: return {kNewlineRuns, kQwen2Regex};
        case Pre::kExaoneMoe:
            return {"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: "
                    "\\p{L}\\p{M}*)*)+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"};
        case Pre::kGemma4: return {kNewlineRuns};
        case Pre::kMinicpm5:
            return {"\\p{N}{1,3}",
                    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| "
                    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"};
        case Pre::kWhitespace: return {"\\S+"};
        case Pre::kDefault: break;
    }
    return {"[\\p{P}\\$\\+<=>\\^~\\|]+", kGpt2Regex, "\\p{N}+", "[0-9][0-9][0-9]"};
}

// What a tokenizer.ggml.pre name sets besides its regexes.
enum PreFlag : unsigned {
    kKeepSpaces = 1u << 0,     // clean_spaces = false (decode)
    kIgnoreMerges = 1u << 1,
    kAddBos = 1u << 2,
    kEscapeSpaces = 1u << 3,   // spaces -> U+2581 before splitting; raw UTF-8 words
    kAddSep = 1u << 4,
    kNoBos = 1u << 5,          // no BOS token by default
};

struct PreName {
    std::string_view name;
    Pre pre;
    unsigned flags;
};

constexpr std::array kPreNames{
    PreName{"default", Pre::kDefault, 0},
    PreName{"minicpm5", Pre::kMinicpm5, kIgnoreMerges},
    PreName{"llama3", Pre::kLlama3, kIgnoreMerges | kAddBos},
    PreName{"llama-v3", Pre::kLlama3, kIgnoreMerges | kAddBos},
    PreName{"llama-bpe", Pre::kLlama3, kIgnoreMerges | kAddBos},
    PreName{"falcon3", Pre::kLlama3, kIgnoreMerges | kAddBos},
    PreName{"falcon-h1", Pre::kLlama3, kIgnoreMerges | kAddBos},
    PreName{"pixtral", Pre::kLlama3, kIgnoreMerges | kAddBos},
    PreName{"midm-2.0", Pre::kLlama3, kIgnoreMerges | kAddBos},
    PreName{"lfm2", Pre::kLlama3, kIgnoreMerges | kAddBos},
    PreName{"jina-v5-nano", Pre::kLlama3, kIgnoreMerges | kAddBos},
    PreName{"deepseek-llm", Pre::kDeepseekLlm, kKeepSpaces},
    PreName{"deepseek-coder", Pre::kDeepseekCoder, kKeepSpaces},
    PreName{"deepseek-v3", Pre::kDeepseek3, kKeepSpaces},
    PreName{"spark2_5", Pre::kSpark25, kKeepSpaces},
    PreName{"youtu", Pre::kYoutu, kKeepSpaces | kIgnoreMerges},
    PreName{"falcon", Pre::kFalcon, 0},
    PreName{"mpt", Pre::kGpt2, 0},
    PreName{"starcoder", Pre::kStarcoder, 0},
    PreName{"gpt-2", Pre::kGpt2, 0},
    PreName{"phi-2", Pre::kGpt2, 0},
    PreName{"jina-es", Pre::kGpt2, 0},
    PreName{"jina-de", Pre::kGpt2, 0},
    PreName{"gigachat", Pre::kGpt2, 0},
    PreName{"jina-v2-es", Pre::kGpt2, 0},
    PreName{"jina-v2-de", Pre::kGpt2, 0},
    PreName{"a.x-4.0", Pre::kGpt2, 0},
    PreName{"mellum", Pre::kGpt2, 0},
    PreName{"modern-bert", Pre::kGpt2, 0},
    PreName{"jais-2", Pre::kJais2, 0},
    PreName{"gemma4", Pre::kGemma4, kEscapeSpaces},
    PreName{"granite-embed-multi-311m", Pre::kGemma4, kEscapeSpaces},
    PreName{"sarvam-moe", Pre::kGemma4, kEscapeSpaces | kKeepSpaces},
    PreName{"jina-v1-en", Pre::kGpt2, kAddSep},
    PreName{"jina-v2-code", Pre::kGpt2, kAddSep},
    PreName{"roberta-bpe", Pre::kGpt2, kAddSep},
    PreName{"whitespace", Pre::kWhitespace, 0},
    PreName{"refact", Pre::kStarcoder, 0},
    PreName{"command-r", Pre::kStarcoder, kKeepSpaces},
    PreName{"qwen2", Pre::kQwen2, kKeepSpaces},
    PreName{"deepseek-r1-qwen", Pre::kQwen2, kKeepSpaces},
    PreName{"kormo", Pre::kQwen2, kKeepSpaces},
    PreName{"f2llmv2", Pre::kQwen2, kKeepSpaces},
    PreName{"qwen35", Pre::kQwen35, kKeepSpaces},
    PreName{"stablelm2", Pre::kQwen2, 0},
    PreName{"olmo", Pre::kGpt2, 0},
    PreName{"dbrx", Pre::kLlama3, 0},
    PreName{"smaug-bpe", Pre::kLlama3, 0},
    PreName{"poro-chat", Pre::kPoro, kKeepSpaces},
    PreName{"chatglm-bpe", Pre::kLlama3, kNoBos},
    PreName{"glm4", Pre::kLlama3, kNoBos | kIgnoreMerges},
    PreName{"glm5", Pre::kLlama3, kNoBos | kIgnoreMerges},
    PreName{"viking", Pre::kViking, kKeepSpaces},
    PreName{"jais", Pre::kGpt2, 0},
    PreName{"tekken", Pre::kTekken, kKeepSpaces | kIgnoreMerges | kAddBos},
    PreName{"smollm", Pre::kStarcoder, kKeepSpaces},
    PreName{"codeshell", Pre::kStarcoder, 0},
    PreName{"bloom", Pre::kPoro, 0},
    PreName{"gpt3-finnish", Pre::kPoro, 0},
    PreName{"exaone", Pre::kStarcoder, 0},
    PreName{"exaone4", Pre::kGpt2, 0},
    PreName{"exaone-moe", Pre::kExaoneMoe, 0},
    PreName{"chameleon", Pre::kChameleon, kAddBos | kKeepSpaces},
    PreName{"minerva-7b", Pre::kStarcoder, 0},
    PreName{"megrez", Pre::kQwen2, 0},
    PreName{"gpt-4o", Pre::kGpt4o, kKeepSpaces},
    PreName{"llama4", Pre::kGpt4o, kKeepSpaces},
    PreName{"kanana2", Pre::kGpt4o, kKeepSpaces},
    PreName{"talkie", Pre::kGpt4o, kKeepSpaces},
    PreName{"granite-embed-multi-97m", Pre::kGraniteEmbMulti, kKeepSpaces | kIgnoreMerges},
    PreName{"tiny_aya", Pre::kTinyAya, kKeepSpaces},
    PreName{"cohere2moe", Pre::kTinyAya, kKeepSpaces},
    PreName{"superbpe", Pre::kSuperbpe, kKeepSpaces},
    PreName{"trillion", Pre::kGpt2, kKeepSpaces},
    PreName{"granite-docling", Pre::kGpt2, kKeepSpaces},
    PreName{"bailingmoe", Pre::kBailingmoe, kKeepSpaces},
    PreName{"bailingmoe2", Pre::kBailingmoe, kKeepSpaces},
    PreName{"llada-moe", Pre::kBailingmoe, kKeepSpaces},
    PreName{"seed-coder", Pre::kSeedCoder, kKeepSpaces},
    PreName{"hunyuan", Pre::kQwen2, kKeepSpaces},
    PreName{"hunyuan-dense", Pre::kDeepseek3, kKeepSpaces},
    PreName{"hy_v4", Pre::kDeepseek3, kKeepSpaces},
    PreName{"joyai-llm", Pre::kDeepseek3, kKeepSpaces},
    PreName{"kimi-k2", Pre::kKimiK2, kKeepSpaces},
    PreName{"ufakzeka", Pre::kUfakzeka, kKeepSpaces},
    PreName{"grok-2", Pre::kQwen2, kKeepSpaces},
    PreName{"afmoe", Pre::kAfmoe, kKeepSpaces},
    PreName{"laguna", Pre::kLaguna, kKeepSpaces},
    PreName{"minimax-m2", Pre::kGpt4o, kKeepSpaces},
    PreName{"solar-open", Pre::kQwen2, kKeepSpaces},
    PreName{"mellum2", Pre::kStarcoder, 0},
};

// ---- the vocabulary, as llama_vocab::impl::load leaves it ----

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringMap = std::unordered_map<std::string, std::int32_t, StringHash, std::equal_to<>>;

enum class Kind { kSpm, kBpe, kWpm };

constexpr std::int32_t kNull = -1;

struct Vocab {
    std::string file;
    Kind kind = Kind::kSpm;
    bool gemma4_pre = false;
    std::vector<std::string> text;
    std::vector<float> score;
    std::vector<std::uint32_t> attr;
    StringMap to_id;
    StringMap merge_rank;  // "left right" -> rank (first occurrence wins)
    std::int32_t bos = 1, eos = 2, unk = 0, sep = kNull, pad = kNull, mask = kNull, eot = kNull, eom = kNull;
    std::array<std::int32_t, 6> fim{kNull, kNull, kNull, kNull, kNull, kNull};  // pre suf mid pad rep sep
    bool add_space_prefix = false, add_bos = false, add_eos = false, add_sep = false;
    bool ignore_merges = false, clean_spaces = false, escape_whitespaces = true, byte_encode = true;
    bool lowercase = true, strip_accents = true;
    std::size_t max_token_len = 0;
    std::vector<std::int32_t> special_cache;  // control / user-defined / unknown, longest first
    std::vector<std::string> piece;           // token_to_piece(id, special = true)
    std::optional<llama::WordSplitter> splitter;

    std::int32_t find(std::string_view s) const {
        const auto it = to_id.find(s);
        return it == to_id.end() ? kNull : it->second;
    }
    std::int32_t n_tokens() const { return static_cast<std::int32_t>(text.size()); }
};

const std::string& byte_char(unsigned char b) {
    static const std::array<std::string, 256> table = [] {
        std::array<std::string, 256> t;
        int extra = 0;
        for (int c = 0; c < 256; ++c) {
            const bool printable = (c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF);
            append_utf8(t[static_cast<std::size_t>(c)], static_cast<char32_t>(printable ? c : 256 + extra++));
        }
        return t;
    }();
    return table[b];
}

// The byte a GPT-2 byte-alphabet character stands for, or -1.
int byte_of_char(char32_t cp) {
    static const std::unordered_map<char32_t, int> table = [] {
        std::unordered_map<char32_t, int> t;
        for (int b = 0; b < 256; ++b) {
            const auto cps = decode_utf8(byte_char(static_cast<unsigned char>(b)));
            t[cps[0]] = b;
        }
        return t;
    }();
    const auto it = table.find(cp);
    return it == table.end() ? -1 : it->second;
}

std::string hex_byte_token(unsigned char b) {
    static const char* hex = "0123456789ABCDEF";
    return std::string{'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
    if (s.find(from) == std::string::npos) return;
    std::string out;
    out.reserve(s.size() + s.size() / 4);
    std::size_t prev = 0;
    for (std::size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, prev)) {
        out.append(s, prev, pos - prev);
        out.append(to);
        prev = pos + from.size();
    }
    out.append(s, prev, std::string::npos);
    s = std::move(out);
}

// The token of byte `b` in an SPM vocabulary: <0xXX>, else the byte itself.
std::int32_t spm_byte_token(const Vocab& v, unsigned char b) {
    if (const auto id = v.find(hex_byte_token(b)); id != kNull) return id;
    if (const auto id = v.find(std::string(1, static_cast<char>(b))); id != kNull) return id;
    throw_bad_input("{}: SentencePiece vocabulary has no token for byte 0x{:02X} (neither <0x{:02X}> nor the byte)", v.file,
                    b, b);
}

// llama_vocab::impl::token_to_piece(id, special = true), cached at load.
std::string make_piece(const Vocab& v, std::int32_t id) {
    const auto attr = v.attr[static_cast<std::size_t>(id)];
    const std::string& t = v.text[static_cast<std::size_t>(id)];
    if (attr & (kAttrUnknown | kAttrControl | kAttrUserDefined)) return t;
    if (attr & kAttrNormal) {
        std::string r = t;
        if (v.kind != Kind::kBpe || v.escape_whitespaces) {
            replace_all(r, kSpace, " ");
            return r;
        }
        std::string out;
        for (char32_t cp : decode_utf8(t)) {
            const int b = byte_of_char(cp);
            if (b >= 0) {
                out += static_cast<char>(b);
            } else {
                std::string utf8;
                append_utf8(utf8, cp);
                out += "[UNK_BYTE_0x";
                for (unsigned char c : utf8) out += fmt::format("{:02x}", c);
                out += t + "]";
            }
        }
        return out;
    }
    if ((attr & kAttrByte) && v.kind != Kind::kWpm && t.size() >= 5) {
        return std::string(1, static_cast<char>(std::strtol(t.substr(3, 2).c_str(), nullptr, 16)));
    }
    return "";
}

bool contains(const std::vector<std::string_view>& names, std::string_view s) {
    return std::find(names.begin(), names.end(), s) != names.end();
}

Vocab load_vocab(const io::GgufFile& f) {
    Vocab v;
    v.file = f.path().string();
    const std::string& src = v.file;
    if (!f.has("tokenizer.ggml.model")) throw_bad_input("{}: no tokenizer (missing metadata key 'tokenizer.ggml.model')", src);
    const std::string model = f.get_string("tokenizer.ggml.model");
    std::string pre_name = f.get_string_or("tokenizer.ggml.pre", "");
    if (model == "llama") {
        v.kind = Kind::kSpm;
    } else if (model == "bert") {
        v.kind = Kind::kWpm;
        v.bos = 101, v.eos = kNull, v.unk = 100, v.sep = 102, v.pad = 0, v.mask = 103;
    } else if (model == "gpt2" || model == "gemma4") {
        v.kind = Kind::kBpe;
        if (!f.has("tokenizer.ggml.merges")) throw_bad_input("{}: missing metadata key 'tokenizer.ggml.merges'", src);
        const auto merges = f.get_string_array("tokenizer.ggml.merges");
        v.merge_rank.reserve(merges.size());
        for (std::size_t i = 0; i < merges.size(); ++i) {
            const std::string& m = merges[i];
            const auto pos = m.find(' ', 1);
            // llama.cpp keeps ("", "") for a merge without a space: it never matches.
            if (pos != std::string::npos) v.merge_rank.emplace(m, static_cast<std::int32_t>(i));
        }
        if (model == "gpt2") {
            v.bos = 11, v.eos = 11, v.unk = kNull;
        } else {
            v.bos = v.eos = v.unk = kNull;
            pre_name = "gemma4";
        }
    } else {
        throw_bad_input("{}: tokenizer.ggml.model '{}' is not supported (supported: llama, gpt2, gemma4, bert)", src, model);
    }

    if (v.kind == Kind::kBpe) {
        v.escape_whitespaces = false;
        v.clean_spaces = true;
        const PreName* entry = nullptr;
        const std::string lookup = pre_name.empty() ? std::string("default") : pre_name;
        for (const auto& p : kPreNames) {
            if (p.name == lookup) entry = &p;
        }
        if (entry == nullptr) {
            throw_bad_input("{}: tokenizer.ggml.pre '{}' is not a pre-tokenizer type llama.cpp knows", src, pre_name);
        }
        v.clean_spaces = !(entry->flags & kKeepSpaces);
        v.ignore_merges = entry->flags & kIgnoreMerges;
        v.add_bos = entry->flags & kAddBos;
        v.escape_whitespaces = entry->flags & kEscapeSpaces;
        v.add_sep = entry->flags & kAddSep;
        if (entry->flags & kNoBos) v.bos = kNull;
        v.gemma4_pre = entry->pre == Pre::kGemma4 && entry->name != "sarvam-moe";
        v.byte_encode = !(entry->pre == Pre::kGemma4 || entry->pre == Pre::kWhitespace);
        try {
            v.splitter.emplace(pre_regexes(entry->pre));
        } catch (const Error& e) {
            throw Error(e.code(), fmt::format("{}: tokenizer.ggml.pre '{}': {}", src, pre_name, e.what()));
        }
    } else if (v.kind == Kind::kSpm) {
        v.add_space_prefix = true;
        v.add_bos = true;
    } else {
        v.clean_spaces = true;
        v.add_bos = true;
        v.add_sep = true;
    }
    v.add_space_prefix = f.get_bool_or("tokenizer.ggml.add_space_prefix", v.add_space_prefix);

    if (!f.has("tokenizer.ggml.tokens")) throw_bad_input("{}: missing metadata key 'tokenizer.ggml.tokens'", src);
    v.text = f.get_string_array("tokenizer.ggml.tokens");
    const std::size_t n = v.text.size();
    if (f.has("tokenizer.ggml.scores")) {
        const auto scores = f.get_float_array("tokenizer.ggml.scores");
        if (scores.size() < n) throw_bad_input("{}: tokenizer.ggml.scores has {} entries for {} tokens", src, scores.size(), n);
        v.score.assign(scores.begin(), scores.begin() + static_cast<std::ptrdiff_t>(n));
    } else {
        v.score.assign(n, 0.0f);
    }
    v.attr.assign(n, kAttrNormal);
    if (f.has("tokenizer.ggml.token_type")) {
        const auto types = f.get_int_array("tokenizer.ggml.token_type");
        if (types.size() < n) throw_bad_input("{}: tokenizer.ggml.token_type has {} entries for {} tokens", src, types.size(), n);
        for (std::size_t i = 0; i < n; ++i) v.attr[i] = attr_of_type(types[i]);
    }
    v.to_id.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        if (v.text[i].empty()) v.text[i] = fmt::format("[EMPTY_{}]", i);
        if (!v.to_id.emplace(v.text[i], static_cast<std::int32_t>(i)).second) {
            throw_bad_input("{}: token {} ('{}') appears twice in tokenizer.ggml.tokens", src, i, v.text[i]);
        }
        v.max_token_len = std::max(v.max_token_len, v.text[i].size());
    }

    // Special token ids: the file's, where in range, else the defaults above (dropped when out of
    // range).
    const auto nt = static_cast<std::int64_t>(n);
    auto id_key = [&](const char* key, std::int32_t& id) {
        if (id >= 0 && id >= nt) id = kNull;
        if (!f.has(key)) return;
        const auto value = f.get_int(key);
        if (value >= 0 && value < nt) id = static_cast<std::int32_t>(value);
    };
    id_key("tokenizer.ggml.bos_token_id", v.bos);
    id_key("tokenizer.ggml.eos_token_id", v.eos);
    id_key("tokenizer.ggml.eot_token_id", v.eot);
    id_key("tokenizer.ggml.eom_token_id", v.eom);
    id_key("tokenizer.ggml.unknown_token_id", v.unk);
    id_key("tokenizer.ggml.seperator_token_id", v.sep);
    id_key("tokenizer.ggml.padding_token_id", v.pad);
    id_key("tokenizer.ggml.mask_token_id", v.mask);
    const std::array<const char*, 6> fim_keys{"tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.fim_suf_token_id",
                                              "tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.fim_pad_token_id",
                                              "tokenizer.ggml.fim_rep_token_id", "tokenizer.ggml.fim_sep_token_id"};
    for (std::size_t k = 0; k < fim_keys.size(); ++k) id_key(fim_keys[k], v.fim[k]);
    id_key("tokenizer.ggml.prefix_token_id", v.fim[0]);
    id_key("tokenizer.ggml.suffix_token_id", v.fim[1]);
    id_key("tokenizer.ggml.middle_token_id", v.fim[2]);
    v.add_bos = f.get_bool_or("tokenizer.ggml.add_bos_token", v.add_bos);
    v.add_eos = f.get_bool_or("tokenizer.ggml.add_eos_token", v.add_eos);
    v.add_sep = f.get_bool_or("tokenizer.ggml.add_sep_token", v.add_sep);
    if (v.gemma4_pre) v.add_bos = true;
    v.lowercase = f.get_bool_or("tokenizer.ggml.normalizer.lowercase", v.lowercase);
    v.strip_accents = f.get_bool_or("tokenizer.ggml.normalizer.strip_accents", v.lowercase);

    // Tokens llama.cpp recognises by their text and makes control tokens. The end-of-turn and
    // FIM names take the first match when the file names none (llama.cpp scans a hash map; with
    // two candidates of one kind in a vocabulary its choice may differ).
    auto make_control = [&](std::int32_t id) { v.attr[static_cast<std::size_t>(id)] |= kAttrControl; };
    auto detect = [&](std::int32_t& slot, const std::vector<std::string_view>& names) {
        if (slot != kNull) return;
        for (std::int32_t id = 0; id < v.n_tokens(); ++id) {
            if (contains(names, v.text[static_cast<std::size_t>(id)])) {
                slot = id;
                make_control(id);
                return;
            }
        }
    };
    detect(v.eot, {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>",
                   "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"});
    detect(v.eom, {"<|eom_id|>"});
    detect(v.fim[0], {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>",
                      "<|prefix|>"});
    detect(v.fim[1], {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>",
                      "<|suffix|>"});
    detect(v.fim[2], {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>",
                      "<|middle|>"});
    detect(v.fim[3], {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"});
    detect(v.fim[4], {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"});
    detect(v.fim[5], {"<|file_sep|>"});
    for (std::int32_t id = 0; id < v.n_tokens(); ++id) {
        auto& a = v.attr[static_cast<std::size_t>(id)];
        if ((a & kAttrControl) && v.text[static_cast<std::size_t>(id)].find("unused") != std::string::npos) a |= kAttrUnused;
    }
    const std::vector<std::string_view> eog_names{
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
        "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
        "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~["};
    std::vector<std::int32_t> eog;
    for (std::int32_t id : {v.fim[3], v.fim[4], v.fim[5]}) {
        if (id != kNull) eog.push_back(id);
    }
    for (std::int32_t id = 0; id < v.n_tokens(); ++id) {
        if (contains(eog_names, v.text[static_cast<std::size_t>(id)])) {
            eog.push_back(id);
            make_control(id);
        }
    }
    for (std::int32_t id = 0; id < v.n_tokens(); ++id) {
        const auto& t = v.text[static_cast<std::size_t>(id)];
        if (t == "<|channel|>" || t == "<|message|>" || t == "<|start|>" || t == "<|constrain|>") {
            v.attr[static_cast<std::size_t>(id)] = kAttrUserDefined;
        }
    }
    for (std::int32_t id : {v.eos, v.eot, v.eom}) {
        if (id != kNull) eog.push_back(id);
    }
    auto eog_text = [&](std::string_view t) {
        for (auto id : eog) {
            if (v.text[static_cast<std::size_t>(id)] == t) return id;
        }
        return kNull;
    };
    // o200k_harmony / solar-open: <|end|> is not an end of generation there, and renders.
    const bool has_call = eog_text("<|call|>") != kNull || eog_text("<|calls|>") != kNull;
    if (eog_text("<|end|>") != kNull && has_call && (eog_text("<|return|>") != kNull || eog_text("<|flush|>") != kNull)) {
        v.attr[static_cast<std::size_t>(eog_text("<|end|>"))] = kAttrUserDefined;
    }
    // gemma4 and plamo have a normal </s>.
    if (eog_text("</s>") != kNull && (eog_text("<|tool_response>") != kNull || eog_text("<|plamo:eos|>") != kNull)) {
        v.attr[static_cast<std::size_t>(eog_text("</s>"))] = kAttrNormal;
    }

    for (std::int32_t id = 0; id < v.n_tokens(); ++id) {
        if (v.attr[static_cast<std::size_t>(id)] & (kAttrControl | kAttrUserDefined | kAttrUnknown)) v.special_cache.push_back(id);
    }
    std::stable_sort(v.special_cache.begin(), v.special_cache.end(), [&](std::int32_t a, std::int32_t b) {
        return v.text[static_cast<std::size_t>(a)].size() > v.text[static_cast<std::size_t>(b)].size();
    });
    v.piece.resize(n);
    for (std::int32_t id = 0; id < v.n_tokens(); ++id) v.piece[static_cast<std::size_t>(id)] = make_piece(v, id);

    // Per-model attributes llama.cpp sets by name.
    std::string model_name = f.get_string_or("general.name", "");
    std::transform(model_name.begin(), model_name.end(), model_name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const std::string arch = f.get_string_or("general.architecture", "");
    auto set_attr = [&](std::string_view token, std::uint32_t bit, bool on) {
        const auto id = v.find(token);
        if (id == kNull) return;
        auto& a = v.attr[static_cast<std::size_t>(id)];
        a = on ? (a | bit) : (a & ~bit);
    };
    const auto has = [](const std::string& s, std::string_view sub) { return s.find(sub) != std::string::npos; };
    if (has(pre_name, "jina-v2-de") || has(pre_name, "jina-v2-es") || has(pre_name, "jina-v2-code") ||
        has(arch, "nomic-bert-moe") || has(arch, "jina-bert-v3")) {
        set_attr("<mask>", kAttrLstrip, true);
    } else if (has(model_name, "phi-3") || has(model_name, "phi3")) {
        for (auto id : v.special_cache) v.attr[static_cast<std::size_t>(id)] |= kAttrRstrip;
        set_attr("</s>", kAttrRstrip, true);
        for (const char* t : {"<unk>", "<s>", "<|endoftext|>"}) set_attr(t, kAttrRstrip, false);
    } else if (has(model_name, "modern-bert")) {
        set_attr("[MASK]", kAttrLstrip, true);
    }
    return v;
}

// ---- llama_vocab::impl::tokenizer_st_partition ----

struct Fragment {
    std::int32_t token = kNull;  // kNull: raw text [offset, offset + length)
    std::size_t offset = 0, length = 0;
};

bool c_isspace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

std::vector<Fragment> partition(const Vocab& v, std::string_view text, bool parse_special) {
    std::vector<Fragment> frags;
    if (text.empty()) return frags;
    frags.push_back({kNull, 0, text.size()});
    for (const auto id : v.special_cache) {
        const auto attr = v.attr[static_cast<std::size_t>(id)];
        if (!parse_special && (attr & (kAttrControl | kAttrUnknown))) continue;
        const std::string& tok = v.text[static_cast<std::size_t>(id)];
        std::vector<Fragment> next;
        next.reserve(frags.size());
        for (const auto& fr : frags) {
            if (fr.token != kNull) {
                next.push_back(fr);
                continue;
            }
            std::size_t base = fr.offset, len = fr.length;
            while (true) {
                const auto match = text.substr(0, base + len).find(tok, base);
                if (match == std::string_view::npos) {
                    next.push_back({kNull, base, len});
                    break;
                }
                std::size_t left = match - base;
                if (attr & kAttrLstrip) {
                    while (left > 0 && c_isspace(text[base + left - 1])) --left;
                }
                if (left > 0) next.push_back({kNull, base, left});
                next.push_back({id, 0, 0});
                if (match + tok.size() >= base + len) break;
                std::size_t right_off = match + tok.size();
                std::size_t right_len = len - ((match - base) + tok.size());
                if (attr & kAttrRstrip) {
                    while (right_len > 0 && c_isspace(text[right_off])) {
                        ++right_off;
                        --right_len;
                    }
                }
                if (right_len == 0) break;
                base = right_off;
                len = right_len;
            }
        }
        frags = std::move(next);
    }
    return frags;
}

// ---- the models ----

// llm_tokenizer_spm_session over one fragment (spaces already U+2581).
void spm_tokenize(const Vocab& v, const std::string& text, std::vector<std::int32_t>& out) {
    struct Symbol {
        int prev, next;
        std::size_t off, n;
    };
    struct Bigram {
        int left, right;
        float score;
        std::size_t size;
    };
    const auto worse = [](const Bigram& l, const Bigram& r) {
        return l.score < r.score || (l.score == r.score && l.left > r.left);
    };
    std::vector<Symbol> symbols;
    static constexpr std::array<std::size_t, 16> kLen{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    for (std::size_t off = 0; off < text.size();) {
        const std::size_t n = std::min(kLen[static_cast<unsigned char>(text[off]) >> 4], text.size() - off);
        const int index = static_cast<int>(symbols.size());
        symbols.push_back({index - 1, off + n == text.size() ? -1 : index + 1, off, n});
        off += n;
    }
    std::priority_queue<Bigram, std::vector<Bigram>, decltype(worse)> queue(worse);
    std::unordered_map<std::string, std::pair<int, int>, StringHash, std::equal_to<>> rev_merge;
    auto try_add = [&](int left, int right) {
        if (left == -1 || right == -1) return;
        const std::string_view piece(text.data() + symbols[static_cast<std::size_t>(left)].off,
                                     symbols[static_cast<std::size_t>(left)].n + symbols[static_cast<std::size_t>(right)].n);
        const auto id = v.find(piece);
        if (id == kNull) return;
        queue.push({left, right, v.score[static_cast<std::size_t>(id)], piece.size()});
        rev_merge.insert_or_assign(std::string(piece), std::make_pair(left, right));
    };
    for (int i = 1; i < static_cast<int>(symbols.size()); ++i) try_add(i - 1, i);
    while (!queue.empty()) {
        const Bigram b = queue.top();
        queue.pop();
        auto& l = symbols[static_cast<std::size_t>(b.left)];
        auto& r = symbols[static_cast<std::size_t>(b.right)];
        if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;
        l.n += r.n;
        r.n = 0;
        l.next = r.next;
        if (r.next >= 0) symbols[static_cast<std::size_t>(r.next)].prev = b.left;
        try_add(l.prev, b.left);
        try_add(b.left, l.next);
    }
    const std::function<void(const Symbol&)> resegment = [&](const Symbol& s) {
        const std::string_view piece(text.data() + s.off, s.n);
        if (const auto id = v.find(piece); id != kNull) {
            out.push_back(id);
            return;
        }
        const auto it = rev_merge.find(piece);
        if (it == rev_merge.end()) {
            for (char c : piece) out.push_back(spm_byte_token(v, static_cast<unsigned char>(c)));
            return;
        }
        const auto [a, b] = it->second;
        resegment(symbols[static_cast<std::size_t>(a)]);
        resegment(symbols[static_cast<std::size_t>(b)]);
    };
    if (symbols.empty()) return;
    for (int i = 0; i != -1; i = symbols[static_cast<std::size_t>(i)].next) resegment(symbols[static_cast<std::size_t>(i)]);
}

// llm_tokenizer_bpe_session::tokenize over one fragment.
void bpe_tokenize(const Vocab& v, const std::string& text, std::vector<std::int32_t>& out) {
    const auto cpts = decode_utf8(text);
    struct Symbol {
        std::size_t off, n;
    };
    struct Bigram {
        int left, right, rank;
        std::size_t size;
    };
    const auto worse = [](const Bigram& l, const Bigram& r) { return l.rank > r.rank || (l.rank == r.rank && l.left > r.left); };
    std::string word;
    std::string key;
    std::vector<Symbol> symbols;
    std::vector<Bigram> heap;
    static constexpr std::array<std::size_t, 16> kLen{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    for (const auto& [begin, end] : v.splitter->split(cpts)) {
        word.clear();
        if (v.byte_encode) {
            std::string raw;
            for (std::size_t i = begin; i < end; ++i) append_utf8(raw, cpts[i]);
            for (unsigned char c : raw) word += byte_char(c);
        } else {
            for (std::size_t i = begin; i < end; ++i) append_utf8(word, cpts[i]);
        }
        symbols.clear();
        heap.clear();
        std::size_t offset = 0;
        if (v.ignore_merges && v.find(word) != kNull) {
            symbols.push_back({0, word.size()});
            offset = word.size();
        } else if (v.gemma4_pre && word.find_first_not_of('\n') == std::string::npos && v.find(word) != kNull) {
            symbols.push_back({0, word.size()});
            offset = word.size();
        }
        while (offset < word.size()) {
            const std::size_t n = std::min(word.size() - offset, kLen[static_cast<unsigned char>(word[offset]) >> 4]);
            symbols.push_back({offset, n});
            offset += n;
        }
        // Symbols stay in text order; a merged-away symbol has n == 0, so a symbol's neighbours
        // are the nearest ones with n > 0.
        std::vector<int> prev(symbols.size()), next(symbols.size());
        for (std::size_t i = 0; i < symbols.size(); ++i) {
            prev[i] = static_cast<int>(i) - 1;
            next[i] = i + 1 == symbols.size() ? -1 : static_cast<int>(i) + 1;
        }
        auto add_bigram = [&](int left, int right) {
            if (left == -1 || right == -1) return;
            const auto& l = symbols[static_cast<std::size_t>(left)];
            const auto& r = symbols[static_cast<std::size_t>(right)];
            key.assign(word, l.off, l.n);
            key += ' ';
            key.append(word, r.off, r.n);
            const auto it = v.merge_rank.find(key);
            if (it == v.merge_rank.end()) return;
            heap.push_back({left, right, it->second, l.n + r.n});
            std::push_heap(heap.begin(), heap.end(), worse);
        };
        for (int i = 1; i < static_cast<int>(symbols.size()); ++i) add_bigram(i - 1, i);
        while (!heap.empty()) {
            std::pop_heap(heap.begin(), heap.end(), worse);
            const Bigram b = heap.back();
            heap.pop_back();
            auto& l = symbols[static_cast<std::size_t>(b.left)];
            auto& r = symbols[static_cast<std::size_t>(b.right)];
            // Outdated: a side was merged away or grew since (the text then no longer matches;
            // both sides start where they did, so the total size decides).
            if (l.n == 0 || r.n == 0 || l.n + r.n != b.size || l.off + l.n != r.off) continue;
            l.n += r.n;
            r.n = 0;
            next[static_cast<std::size_t>(b.left)] = next[static_cast<std::size_t>(b.right)];
            if (next[static_cast<std::size_t>(b.right)] >= 0) {
                prev[static_cast<std::size_t>(next[static_cast<std::size_t>(b.right)])] = b.left;
            }
            add_bigram(prev[static_cast<std::size_t>(b.left)], b.left);
            add_bigram(b.left, next[static_cast<std::size_t>(b.left)]);
        }
        for (const auto& s : symbols) {
            if (s.n == 0) continue;
            const std::string_view piece(word.data() + s.off, s.n);
            if (const auto id = v.find(piece); id != kNull) {
                out.push_back(id);
                continue;
            }
            for (char c : piece) {
                const auto id = v.byte_encode ? v.find(std::string(1, c)) : v.find(hex_byte_token(static_cast<unsigned char>(c)));
                if (id != kNull) out.push_back(id);
            }
        }
    }
}

bool is_chinese_char(char32_t cp) {
    return (cp >= 0x04E00 && cp <= 0x09FFF) || (cp >= 0x03400 && cp <= 0x04DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
           (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
           (cp >= 0x0F900 && cp <= 0x0FAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// llm_tokenizer_wpm_session::tokenize over one fragment.
void wpm_tokenize(const Vocab& v, const std::string& text, std::vector<std::int32_t>& out) {
    std::vector<std::string> words(1);
    for (char32_t cp : decode_utf8(text)) {
        if (v.strip_accents) cp = llama::cpt_nfd_first(cp);
        const auto flags = cpt_flags(cp);
        if (flags & llama::kWhitespace) {
            if (!words.back().empty()) words.emplace_back();
            continue;
        }
        if (cp == 0 || cp == 0xFFFD || (flags & llama::kControl)) continue;
        if (v.strip_accents && (flags & llama::kMark)) continue;
        std::string s;
        append_utf8(s, v.lowercase ? llama::cpt_tolower(cp) : cp);
        if ((flags & llama::kPunctuation) || (cp < 0x7F && (flags & llama::kSymbol)) || is_chinese_char(cp)) {
            if (!words.back().empty()) words.emplace_back();
            words.back() = s;
            words.emplace_back();
        } else {
            words.back() += s;
        }
    }
    for (const auto& w : words) {
        if (w.empty()) continue;
        const std::string word = std::string(kSpace) + w;
        const std::size_t n = word.size();
        const std::size_t before = out.size();
        for (std::size_t i = 0; i < n; ++i) {
            bool match = false;
            for (std::size_t j = std::min(n, i + v.max_token_len + 1); j > i; --j) {
                const auto id = v.find(std::string_view(word).substr(i, j - i));
                if (id != kNull) {
                    out.push_back(id);
                    match = true;
                    i = j - 1;
                    break;
                }
            }
            if (!match) {
                out.resize(before);
                break;
            }
        }
        if (out.size() == before) out.push_back(v.unk);
    }
}

class LlamaVocabTokenizer final : public GgufTokenizer {
public:
    explicit LlamaVocabTokenizer(Vocab v) : v_(std::move(v)) {
        if (v_.bos != kNull) special_.bos = v_.bos;
        if (v_.eos != kNull) special_.eos = v_.eos;
        if (v_.pad != kNull) special_.pad = v_.pad;
        special_.add_bos = v_.add_bos;
        special_.add_eos = v_.add_eos;
    }

    std::vector<std::int32_t> encode(std::string_view text, bool add_special) const override {
        return encode(text, add_special, false);
    }

    std::vector<std::int32_t> encode(std::string_view text, bool add_special, bool parse_special) const override {
        std::vector<std::int32_t> out;
        const auto frags = partition(v_, text, parse_special);
        auto need = [&](std::int32_t id, const char* what) {
            if (id == kNull) throw_bad_input("{}: the vocabulary adds a {} token but has none", v_.file, what);
            return id;
        };
        switch (v_.kind) {
            case Kind::kSpm: {
                if (add_special && v_.add_bos) out.push_back(need(v_.bos, "BOS"));
                bool prev_special = true;
                for (const auto& fr : frags) {
                    if (fr.token != kNull) {
                        out.push_back(fr.token);
                        prev_special = true;
                        continue;
                    }
                    std::string piece = v_.add_space_prefix && prev_special ? " " : "";
                    piece.append(text.substr(fr.offset, fr.length));
                    replace_all(piece, " ", kSpace);
                    spm_tokenize(v_, piece, out);
                    prev_special = false;
                }
                if (add_special && v_.add_eos) out.push_back(need(v_.eos, "EOS"));
                break;
            }
            case Kind::kBpe: {
                if (add_special && v_.add_bos) out.push_back(need(v_.bos, "BOS"));
                for (const auto& fr : frags) {
                    if (fr.token != kNull) {
                        out.push_back(fr.token);
                        continue;
                    }
                    std::string piece(text.substr(fr.offset, fr.length));
                    if (v_.escape_whitespaces) replace_all(piece, " ", kSpace);
                    bpe_tokenize(v_, piece, out);
                }
                if (add_special && v_.add_eos) out.push_back(need(v_.eos, "EOS"));
                break;
            }
            case Kind::kWpm: {
                if (add_special) out.push_back(need(v_.bos, "BOS"));
                for (const auto& fr : frags) {
                    if (fr.token != kNull) {
                        out.push_back(fr.token);
                    } else {
                        wpm_tokenize(v_, std::string(text.substr(fr.offset, fr.length)), out);
                    }
                }
                if (add_special) out.push_back(need(v_.sep, "SEP"));
                break;
            }
        }
        return out;
    }

    // llama_detokenize(ids, remove_special = skip_special, unparse_special = !skip_special).
    std::string decode(const std::vector<std::int32_t>& ids, bool skip_special) const override {
        std::size_t first = 0, last = ids.size();
        bool remove_space = v_.add_space_prefix;
        if (skip_special && v_.add_bos && last > first && ids[first] == v_.bos) {
            remove_space = false;
            ++first;
        }
        if (skip_special && v_.add_eos && last > first && ids[last - 1] == v_.eos) --last;
        std::string text;
        for (std::size_t i = first; i < last; ++i) {
            check(ids[i]);
            const auto attr = v_.attr[static_cast<std::size_t>(ids[i])];
            if (!(skip_special && (attr & (kAttrUnknown | kAttrControl)))) {
                std::string_view p = v_.piece[static_cast<std::size_t>(ids[i])];
                if (remove_space && !p.empty() && p.front() == ' ') p.remove_prefix(1);
                text.append(p);
            }
            remove_space = false;
        }
        return v_.clean_spaces ? clean_spaces(text) : text;
    }

    std::string token_bytes(std::int32_t id) const override {
        check(id);
        return v_.piece[static_cast<std::size_t>(id)];
    }

    std::int64_t vocab_size() const override { return v_.n_tokens(); }

    bool is_special(std::int32_t id) const override {
        return id >= 0 && id < v_.n_tokens() && (v_.attr[static_cast<std::size_t>(id)] & (kAttrUnknown | kAttrControl));
    }

private:
    void check(std::int32_t id) const {
        if (id < 0 || id >= v_.n_tokens()) throw_bad_input("{}: token id {} is not in the vocabulary (0..{})", v_.file, id, v_.n_tokens() - 1);
    }

    // llama_detokenize's clean_up_tokenization_spaces passes, in place as there (the second
    // pass blanks the space after " ' " to NUL, which the next comparisons then see).
    static std::string clean_spaces(std::string t) {
        std::size_t total = t.empty() ? 0 : 1;
        const std::size_t n1 = t.size();
        for (std::size_t i = 1; i < n1; ++i) {
            const char x = t[i];
            if (t[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) --total;
            t[total++] = x;
        }
        const std::size_t n2 = total;
        total = n2 ? 1 : 0;
        for (std::size_t i = 1; i < n2; ++i) {
            const char x = t[i];
            if (x == '\'' && i + 1 < n2 && t[i - 1] == ' ' && t[i + 1] == ' ') {
                --total;
                t[++i] = '\0';
            }
            t[total++] = x;
        }
        const std::size_t n3 = total;
        total = n3 ? 1 : 0;
        for (std::size_t i = 1; i < n3; ++i) {
            const char x = t[i];
            if (t[i - 1] == ' ' && x == '\'' && i + 1 < n3) {
                const char x1 = t[i + 1];
                if (x1 == 's' || x1 == 'm' || (i + 2 < n3 && (x1 == 'r' || x1 == 'v') && t[i + 2] == 'e')) --total;
            }
            t[total++] = x;
        }
        t.resize(total);
        return t;
    }

    Vocab v_;
};

}  // namespace

std::unique_ptr<GgufTokenizer> make_gguf_tokenizer(const io::GgufFile& file) {
    return std::make_unique<LlamaVocabTokenizer>(load_vocab(file));
}

}  // namespace qbench::tokenizer
