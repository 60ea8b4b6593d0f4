#include "qbench/tokenizer/gguf_tokenizer.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "qbench/tokenizer/hf_tokenizer.hpp"
#include "qbench/util/error.hpp"

namespace qbench::tokenizer {

namespace {

using json = nlohmann::json;

constexpr int kControl = 3;
constexpr int kUserDefined = 4;

// Pre-tokenizer regexes by tokenizer.ggml.pre, as transformers' GGUF_PRE_TOKENIZER_SPLITS.
const std::map<std::string, std::string>& pre_splits() {
    static const std::string kLlama3 =
        R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3})"
        R"(| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
    static const std::string kQwen2 =
        R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N})"
        R"(| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
    static const std::string kTekken =
        R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+)"
        R"(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*)"
        R"(|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
    static const std::string kGpt4o =
        R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
        R"(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
        R"(|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
    static const std::map<std::string, std::string> kSplits{
        {"llama3", kLlama3},     {"llama-v3", kLlama3},   {"llama-bpe", kLlama3},  {"falcon3", kLlama3},
        {"falcon-h1", kLlama3},  {"pixtral", kLlama3},    {"midm-2.0", kLlama3},   {"lfm2", kLlama3},
        {"jina-v5-nano", kLlama3}, {"dbrx", kLlama3},     {"smaug-bpe", kLlama3},  {"tekken", kTekken},
        {"qwen2", kQwen2},       {"deepseek-r1-qwen", kQwen2}, {"kormo", kQwen2},  {"f2llmv2", kQwen2},
        {"megrez", kQwen2},      {"gpt-4o", kGpt4o},      {"llama4", kGpt4o},      {"kanana2", kGpt4o},
        {"talkie", kGpt4o},      {"minimax-m2", kGpt4o},
    };
    return kSplits;
}

// Code points of valid UTF-8 (the tokens of a vocabulary); invalid bytes count as one each.
std::vector<char32_t> code_points(const std::string& s) {
    std::vector<char32_t> out;
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
        if (i + n > s.size()) n = 1;
        char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
        for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
        out.push_back(cp);
        i += static_cast<std::size_t>(n);
    }
    return out;
}

std::string utf8(char32_t cp) {
    std::string s;
    if (cp < 0x80) {
        s += static_cast<char>(cp);
    } else if (cp < 0x800) {
        s += static_cast<char>(0xC0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        s += static_cast<char>(0xE0 | (cp >> 12));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        s += static_cast<char>(0xF0 | (cp >> 18));
        s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return s;
}

// GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others for 256 + n.
std::array<char32_t, 256> byte_alphabet() {
    std::array<char32_t, 256> map{};
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
        const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        map[static_cast<std::size_t>(b)] = printable ? static_cast<char32_t>(b) : next++;
    }
    return map;
}

// Python's str.isspace (what `not t.strip()` tests), for the code points a vocabulary holds.
bool is_python_whitespace(char32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

bool in_byte_alphabet(char32_t cp) {
    return (cp >= 33 && cp <= 126) || (cp >= 161 && cp <= 172) || (cp >= 174 && cp <= 323);
}

bool spelled_in_bytes(const std::string& token) {
    for (auto cp : code_points(token)) {
        if (!in_byte_alphabet(cp)) return false;
    }
    return true;
}

std::string respell_in_bytes(const std::string& token) {
    static const auto kMap = byte_alphabet();
    std::string out;
    for (unsigned char b : token) out += utf8(kMap[b]);
    return out;
}

// transformers' generate_merges(vocab, vocab_scores): every split of every token into two
// vocabulary tokens, ordered by score, then by the code-point lengths of the two parts (all
// descending, stable), each token's splits first ordered by the parts' ids.
json merges_from_scores(const std::vector<std::string>& tokens, const std::vector<double>& scores) {
    std::unordered_map<std::string, std::int64_t> vocab;
    for (std::size_t i = 0; i < tokens.size(); ++i) vocab[tokens[i]] = static_cast<std::int64_t>(i);
    std::unordered_map<std::string, double> score_of;  // dict(zip(tokens, scores)): last value wins
    for (std::size_t i = 0; i < tokens.size(); ++i) score_of[tokens[i]] = scores[i];
    struct Merge {
        std::string left, right;
        double score;
        std::size_t left_len, right_len;
    };
    std::vector<Merge> merges;
    std::set<std::string> seen;
    for (const auto& token : tokens) {
        if (!seen.insert(token).second) continue;  // dict order: first occurrence
        const auto cps = code_points(token);
        std::vector<Merge> local;
        std::size_t byte_pos = 0;
        for (std::size_t k = 1; k < cps.size(); ++k) {
            byte_pos += utf8(cps[k - 1]).size();
            // An invalid byte counts as one code point but re-encodes longer: no split past it.
            if (byte_pos >= token.size()) break;
            auto l = token.substr(0, byte_pos), r = token.substr(byte_pos);
            if (vocab.count(l) && vocab.count(r)) local.push_back({l, r, score_of[token], k, cps.size() - k});
        }
        std::stable_sort(local.begin(), local.end(), [&](const Merge& a, const Merge& b) {
            const auto ka = std::make_pair(vocab[a.left], vocab[a.right]);
            const auto kb = std::make_pair(vocab[b.left], vocab[b.right]);
            return ka < kb;
        });
        merges.insert(merges.end(), local.begin(), local.end());
    }
    std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) {
        return std::tie(a.score, a.left_len, a.right_len) > std::tie(b.score, b.left_len, b.right_len);
    });
    json out = json::array();
    for (const auto& m : merges) out.push_back(json::array({m.left, m.right}));
    return out;
}

json template_processing(const std::vector<std::string>& tokens, std::optional<std::int64_t> bos,
                         std::optional<std::int64_t> eos) {
    json single = json::array(), pair = json::array(), special = json::object();
    auto add_special = [&](json& seq, std::int64_t id, int type_id) {
        const auto& t = tokens[static_cast<std::size_t>(id)];
        seq.push_back({{"SpecialToken", {{"id", t}, {"type_id", type_id}}}});
        special[t] = {{"id", t}, {"ids", {id}}, {"tokens", {t}}};
    };
    if (bos) add_special(single, *bos, 0);
    single.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
    if (eos) add_special(single, *eos, 0);
    if (bos) add_special(pair, *bos, 0);
    pair.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
    if (eos) add_special(pair, *eos, 0);
    if (bos) add_special(pair, *bos, 1);
    pair.push_back({{"Sequence", {{"id", "B"}, {"type_id", 1}}}});
    if (eos) add_special(pair, *eos, 1);
    return {{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair}, {"special_tokens", special}};
}

json added_token(std::int64_t id, const std::string& content, bool special) {
    return {{"id", id},          {"content", content}, {"single_word", false}, {"lstrip", false},
            {"rstrip", false},   {"normalized", false}, {"special", special}};
}

}  // namespace

void gguf_tokenizer_spec(const io::GgufFile& f, json& spec, TokenizerConfig& config) {
    const std::string src = f.path().string();
    const auto model = f.get_string("tokenizer.ggml.model");
    if (model != "gpt2" && model != "llama") {
        throw_bad_input("{}: tokenizer.ggml.model '{}' is not supported (supported: gpt2, llama)", src, model);
    }
    const auto arch = f.get_string_or("general.architecture", "");
    // transformers' GGUF_SENTENCEPIECE_BUILDERS: gemma / gemma2 / gemma3 get GemmaTokenizer's
    // shape (gemma_tokenizer); phi3 and gemma4 (and other gemma*) are not reproduced.
    const bool gemma = model == "llama" && (arch == "gemma" || arch == "gemma2" || arch == "gemma3");
    if (model == "llama" && !gemma && (arch.rfind("gemma", 0) == 0 || arch == "phi3")) {
        throw_bad_input("{}: the '{}' SentencePiece vocabulary of architecture '{}' is not supported", src, model, arch);
    }
    auto tokens = f.get_string_array("tokenizer.ggml.tokens");
    const auto stored = tokens;  // as the file spells them
    if (gemma) {
        // A token of spaces (and other whitespace, with at least one space) is stored with real
        // spaces; GemmaTokenizer looks it up as one U+2581 per code point.
        for (auto& t : tokens) {
            const auto cps = code_points(t);
            bool blank = !cps.empty(), has_space = false;
            for (auto cp : cps) {
                has_space = has_space || cp == U' ';
                blank = blank && is_python_whitespace(cp);
            }
            if (blank && has_space) {
                std::string r;
                for (std::size_t k = 0; k < cps.size(); ++k) r += "\xe2\x96\x81";
                t = std::move(r);
            }
        }
    }
    std::vector<std::int64_t> types;
    if (f.has("tokenizer.ggml.token_type")) {
        types = f.get_int_array("tokenizer.ggml.token_type");
        if (types.size() != tokens.size()) {
            throw_bad_input("{}: tokenizer.ggml.token_type has {} entries for {} tokens", src, types.size(), tokens.size());
        }
    }
    const auto n = static_cast<std::int64_t>(tokens.size());
    auto id_key = [&](const char* key) -> std::optional<std::int64_t> {
        if (!f.has(key)) return std::nullopt;
        const auto id = f.get_int(key);
        if (id < 0 || id >= n) throw_bad_input("{}: {} = {} is not a token id (vocab of {})", src, key, id, n);
        return id;
    };
    const auto bos = id_key("tokenizer.ggml.bos_token_id");
    const auto eos = id_key("tokenizer.ggml.eos_token_id");
    const auto unk = id_key("tokenizer.ggml.unknown_token_id");
    const auto pad = id_key("tokenizer.ggml.padding_token_id");
    const bool add_bos = f.get_bool_or("tokenizer.ggml.add_bos_token", model == "llama");
    const bool add_eos = f.get_bool_or("tokenizer.ggml.add_eos_token", false);

    // The vocabulary as transformers spells it.
    std::vector<std::string> spelled = tokens;
    if (model == "gpt2") {
        for (auto& t : spelled) {
            if (!spelled_in_bytes(t)) t = respell_in_bytes(t);
        }
    }
    json vocab = json::object();
    for (std::int64_t i = 0; i < n; ++i) vocab[spelled[static_cast<std::size_t>(i)]] = i;

    json merges;
    if (f.has("tokenizer.ggml.merges")) {
        merges = json::array();
        for (const auto& m : f.get_string_array("tokenizer.ggml.merges")) {
            const auto sp = m.find(' ');
            if (sp == std::string::npos) throw_bad_input("{}: tokenizer.ggml.merges entry '{}' has no space", src, m);
            merges.push_back(json::array({m.substr(0, sp), m.substr(sp + 1)}));
        }
    } else if (model == "llama") {
        auto scores = f.get_float_array("tokenizer.ggml.scores");
        if (scores.size() != tokens.size()) {
            throw_bad_input("{}: tokenizer.ggml.scores has {} entries for {} tokens", src, scores.size(), tokens.size());
        }
        if (gemma) {
            // Gemma's scores do not follow its merge order; transformers sorts by file position.
            for (std::size_t i = 0; i < scores.size(); ++i) scores[i] = -static_cast<double>(i);
        }
        merges = merges_from_scores(tokens, scores);
    } else {
        throw_bad_input("{}: missing metadata key 'tokenizer.ggml.merges'", src);
    }

    // Added tokens: control tokens and the named special tokens (special), user-defined (plain).
    std::set<std::int64_t> special_ids;
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(types.size()); ++i) {
        if (types[static_cast<std::size_t>(i)] == kControl && (model != "gpt2" || spelled_in_bytes(tokens[static_cast<std::size_t>(i)]))) {
            special_ids.insert(i);
        }
    }
    for (const auto& id : {bos, eos, unk, pad}) {
        if (id) special_ids.insert(*id);
    }
    std::map<std::int64_t, json> added;
    for (auto id : special_ids) added[id] = added_token(id, spelled[static_cast<std::size_t>(id)], true);
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(types.size()); ++i) {
        // transformers adds a user-defined token as the file spells it, and only when that
        // spelling is a vocabulary entry (Gemma's runs of spaces, respelled above, are not).
        const auto& text = stored[static_cast<std::size_t>(i)];
        if (types[static_cast<std::size_t>(i)] == kUserDefined && !added.count(i) && vocab.contains(text)) {
            added[i] = added_token(vocab[text].get<std::int64_t>(), text, false);
        }
    }
    json added_list = json::array();
    for (auto& [id, t] : added) added_list.push_back(std::move(t));

    spec = json::object();
    spec["version"] = "1.0";
    spec["added_tokens"] = std::move(added_list);
    spec["normalizer"] = nullptr;
    if (model == "gpt2") {
        spec["model"] = {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr},
                         {"continuing_subword_prefix", ""}, {"end_of_word_suffix", ""}, {"fuse_unk", false},
                         {"byte_fallback", false}, {"ignore_merges", false}};
        const auto pre = f.get_string_or("tokenizer.ggml.pre", "");
        const auto split = pre_splits().find(pre);
        if (split != pre_splits().end()) {
            spec["pre_tokenizer"] = {
                {"type", "Sequence"},
                {"pretokenizers",
                 {{{"type", "Split"}, {"pattern", {{"Regex", split->second}}}, {"behavior", "Isolated"}, {"invert", false}},
                  {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}}}};
        } else {
            spec["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                                     {"use_regex", true}};
        }
        spec["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
    } else if (gemma) {
        // GemmaTokenizer: spaces become U+2581 in the normalizer (no prefix space), the Split on
        // " " then finds none; BPE with byte fallback and "<unk>"-style unk from the file.
        spec["model"] = {{"type", "BPE"}, {"dropout", nullptr},
                         {"unk_token", unk ? json(spelled[static_cast<std::size_t>(*unk)]) : json("<unk>")},
                         {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                         {"fuse_unk", true}, {"byte_fallback", true}, {"ignore_merges", false}};
        spec["normalizer"] = {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xe2\x96\x81"}};
        spec["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "MergedWithPrevious"},
                                 {"invert", false}};
        spec["decoder"] = {{"type", "Sequence"},
                           {"decoders",
                            {{{"type", "Replace"}, {"pattern", {{"String", "\xe2\x96\x81"}}}, {"content", " "}},
                             {{"type", "ByteFallback"}},
                             {{"type", "Fuse"}}}}};
    } else {
        spec["model"] = {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr},
                         {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                         {"fuse_unk", true}, {"byte_fallback", true}, {"ignore_merges", false}};
        spec["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\xe2\x96\x81"}, {"prepend_scheme", "first"},
                                 {"split", false}};
        spec["decoder"] = {{"type", "Sequence"},
                           {"decoders",
                            {{{"type", "Replace"}, {"pattern", {{"String", "\xe2\x96\x81"}}}, {"content", " "}},
                             {{"type", "ByteFallback"}},
                             {{"type", "Fuse"}},
                             {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
    }
    spec["model"]["vocab"] = std::move(vocab);
    spec["model"]["merges"] = std::move(merges);
    spec["post_processor"] = template_processing(spelled, add_bos ? bos : std::nullopt, add_eos ? eos : std::nullopt);

    config = TokenizerConfig{};
    auto name = [&](std::optional<std::int64_t> id) -> std::optional<std::string> {
        if (!id) return std::nullopt;
        return spelled[static_cast<std::size_t>(*id)];
    };
    config.bos_token = name(bos);
    config.eos_token = name(eos);
    config.pad_token = name(pad);
    config.add_bos_token = add_bos;
    config.add_eos_token = add_eos;
}

std::unique_ptr<Tokenizer> make_gguf_tokenizer(const io::GgufFile& file) {
    json spec;
    TokenizerConfig config;
    gguf_tokenizer_spec(file, spec, config);
    try {
        return make_hf_tokenizer(spec, config);
    } catch (const Error& e) {
        throw Error(e.code(), fmt::format("{}: GGUF vocabulary: {}", file.path().string(), e.what()));
    }
}

}  // namespace qbench::tokenizer
