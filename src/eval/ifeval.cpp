#include "qbench/eval/tasks/ifeval.hpp"

#include <algorithm>
#include <functional>
#include <map>

#include <utf8proc.h>

#include "qbench/eval/tasks/scoring.hpp"
#include "qbench/tokenizer/unicode.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/strings.hpp"

// The checkers follow google-research/instruction_following_eval/instructions.py (as vendored
// by lm-eval's tasks/ifeval/instructions.py) line by line, with two documented approximations:
// language detection (langdetect) is replaced by a Unicode-script and stop-word check, and
// NLTK's sentence / word tokenizers by regex splitters (see docs/ARCHITECTURE.md, "Tasks").
// tests/eval/ifeval_agreement_test.cpp checks every checker against lm-eval's own classes
// (tests/fixtures/ifeval/agreement.json, scripts/gen_ifeval_fixtures.py).
namespace qbench::eval::tasks {

namespace {

using nlohmann::json;

// s.strip(chars) for ASCII `chars`.
std::string strip(const std::string& s, const std::string& chars) {
    const auto b = s.find_first_not_of(chars);
    if (b == std::string::npos) return "";
    const auto e = s.find_last_not_of(chars);
    return s.substr(b, e - b + 1);
}

// Python's str.isspace() on one code point (what str.strip() and str.split() remove).
bool py_space(char32_t c) {
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

// The code points of s with their byte offsets and lengths (bytes of invalid UTF-8 as U+FFFD).
struct Cp {
    char32_t c;
    std::size_t at, len;
};
std::vector<Cp> code_points_of(const std::string& s) {
    std::vector<Cp> out;
    const bool valid = tokenizer::is_valid_utf8(s);
    for (std::size_t i = 0; i < s.size();) {
        std::size_t len = 1;
        char32_t c = static_cast<unsigned char>(s[i]);
        if (valid) c = tokenizer::next_code_point(s, i, len);
        else if (c >= 0x80) c = 0xfffd;
        out.push_back({c, i, len});
        i += len;
    }
    return out;
}

// Python str.strip() (Unicode whitespace).
std::string strip(const std::string& s) {
    const auto cps = code_points_of(s);
    std::size_t b = 0, e = cps.size();
    while (b < e && py_space(cps[b].c)) ++b;
    while (e > b && py_space(cps[e - 1].c)) --e;
    if (b == e) return "";
    return s.substr(cps[b].at, cps[e - 1].at + cps[e - 1].len - cps[b].at);
}

// The first item of Python's str.split() of an already stripped, non-empty string.
std::string first_field(const std::string& s) {
    for (const auto& cp : code_points_of(s))
        if (py_space(cp.c)) return s.substr(0, cp.at);
    return s;
}

std::string lower(const std::string& s) { return tokenizer::lowercase(s); }

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
bool ends_with(const std::string& s, const std::string& p) {
    return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

std::vector<std::string> split_on(const std::string& s, const std::string& sep) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (true) {
        const auto at = s.find(sep, pos);
        if (at == std::string::npos) {
            out.push_back(s.substr(pos));
            return out;
        }
        out.push_back(s.substr(pos, at - pos));
        pos = at + sep.size();
    }
}

std::string join_lines(const std::vector<std::string>& v, std::size_t from, std::size_t to) {
    std::string out;
    for (std::size_t i = from; i < to; ++i) {
        if (i > from) out += "\n";
        out += v[i];
    }
    return out;
}

std::size_t count_matches(const std::string& pattern, const std::string& s) { return PyRegex(pattern).findall(s).size(); }

bool compare(const std::string& relation, std::int64_t value, std::int64_t target) {
    if (relation == "less than") return value < target;
    if (relation == "at least") return value >= target;
    throw_bad_input("ifeval: unknown relation '{}' (expected 'less than' or 'at least')", relation);
}

std::int64_t get_int(const json& kw, const char* key) {
    if (!kw.contains(key) || kw[key].is_null()) throw_bad_input("ifeval: missing argument '{}'", key);
    return kw[key].is_number() ? kw[key].get<std::int64_t>() : std::stoll(kw[key].get<std::string>());
}

std::string get_str(const json& kw, const char* key) {
    if (!kw.contains(key) || !kw[key].is_string()) throw_bad_input("ifeval: missing argument '{}'", key);
    return kw[key].get<std::string>();
}

// Python str.isupper / str.islower by general category: upper = Lu, lower = Ll, title = Lt
// (Python also counts the Other_Uppercase / Other_Lowercase code points, e.g. circled letters
// and modifier letters, as cased; they are not here). isupper: some Lu and no Ll or Lt;
// islower: some Ll and no Lu or Lt.
bool has_case(const std::string& s, bool upper) {
    bool has_upper = false, has_lower = false, has_title = false;
    for (const auto& cp : code_points_of(s)) {
        switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp.c))) {
            case UTF8PROC_CATEGORY_LU: has_upper = true; break;
            case UTF8PROC_CATEGORY_LL: has_lower = true; break;
            case UTF8PROC_CATEGORY_LT: has_title = true; break;
            default: break;
        }
    }
    if (has_title) return false;
    return upper ? has_upper && !has_lower : has_lower && !has_upper;
}

// Whether Python's json.loads(s) succeeds (CPython's C scanner, strict=True): RFC 8259 plus NaN,
// Infinity, -Infinity; whitespace is [ \t\n\r]; \uXXXX escapes need four hex digits (lone
// surrogates are accepted); raw control characters in strings are not; a leading BOM is an error.
class PyJson {
public:
    explicit PyJson(const std::string& s) : s_(s) {}
    bool loads() {
        ws();
        if (!value(0)) return false;
        ws();
        return i_ == s_.size();
    }

private:
    const std::string& s_;
    std::size_t i_ = 0;
    char peek(std::size_t k = 0) const { return i_ + k < s_.size() ? s_[i_ + k] : '\0'; }
    bool eof() const { return i_ >= s_.size(); }
    void ws() {
        while (!eof() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
    }
    bool lit(const char* w) {
        const std::string_view v(w);
        if (s_.compare(i_, v.size(), v) != 0) return false;
        i_ += v.size();
        return true;
    }
    static bool digit(char c) { return c >= '0' && c <= '9'; }
    static bool hex(char c) { return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
    bool string() {  // at the opening quote
        ++i_;
        while (!eof()) {
            const char c = s_[i_++];
            if (c == '"') return true;
            if (static_cast<unsigned char>(c) < 0x20) return false;
            if (c == '\\') {
                if (eof()) return false;
                const char e = s_[i_++];
                if (e == 'u') {
                    for (int k = 0; k < 4; ++k)
                        if (!hex(peek(static_cast<std::size_t>(k)))) return false;
                    i_ += 4;
                } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
                    return false;
                }
            }
        }
        return false;
    }
    bool number() {
        if (peek() == '-') ++i_;
        if (peek() == '0') {
            ++i_;
        } else if (digit(peek())) {
            while (digit(peek())) ++i_;
        } else {
            return false;
        }
        if (peek() == '.' && digit(peek(1))) {
            i_ += 2;
            while (digit(peek())) ++i_;
        }
        if (peek() == 'e' || peek() == 'E') {
            std::size_t k = 1;
            if (peek(1) == '+' || peek(1) == '-') k = 2;
            if (digit(peek(k))) {
                i_ += k;
                while (digit(peek())) ++i_;
            }
        }
        return true;
    }
    bool value(int depth) {
        if (depth > 900 || eof()) return false;
        switch (peek()) {
            case '"': return string();
            case '{': {
                ++i_;
                ws();
                if (peek() == '}') return ++i_, true;
                while (true) {
                    if (peek() != '"' || !string()) return false;
                    ws();
                    if (peek() != ':') return false;
                    ++i_;
                    ws();
                    if (!value(depth + 1)) return false;
                    ws();
                    if (peek() == '}') return ++i_, true;
                    if (peek() != ',') return false;
                    ++i_;
                    ws();
                }
            }
            case '[': {
                ++i_;
                ws();
                if (peek() == ']') return ++i_, true;
                while (true) {
                    if (!value(depth + 1)) return false;
                    ws();
                    if (peek() == ']') return ++i_, true;
                    if (peek() != ',') return false;
                    ++i_;
                    ws();
                }
            }
            case 'n': return lit("null");
            case 't': return lit("true");
            case 'f': return lit("false");
            case 'N': return lit("NaN");
            case 'I': return lit("Infinity");
            case '-':
                if (peek(1) == 'I') return lit("-Infinity");
                return number();
            default: return number();
        }
    }
};

// Words as NLTK's RegexpTokenizer(r"\w+") finds them.
std::size_t count_words(const std::string& s) { return count_matches("\\w+", s); }

// Sentences: a regex splitter at ., ! or ? followed by whitespace (approximating NLTK punkt).
std::size_t count_sentences(const std::string& s) {
    std::size_t n = 0;
    for (const auto& piece : PyRegex("(?<=[.!?])\\s+").split(strip(s)))
        if (!strip(piece).empty()) ++n;
    return n;
}

// Approximate language identification: the dominant Unicode script, and for Latin-script text
// English stop words against the most common stop words of other Latin-script languages.
std::string guess_language(const std::string& s) {
    std::map<std::string, std::size_t> scripts;
    std::size_t i = 0;
    while (i < s.size()) {
        const unsigned char b = static_cast<unsigned char>(s[i]);
        char32_t c = b;
        std::size_t len = 1;
        if (b >= 0xf0 && i + 3 < s.size()) {
            c = ((b & 0x07u) << 18) | ((s[i + 1] & 0x3fu) << 12) | ((s[i + 2] & 0x3fu) << 6) | (s[i + 3] & 0x3fu);
            len = 4;
        } else if (b >= 0xe0 && i + 2 < s.size()) {
            c = ((b & 0x0fu) << 12) | ((s[i + 1] & 0x3fu) << 6) | (s[i + 2] & 0x3fu);
            len = 3;
        } else if (b >= 0xc0 && i + 1 < s.size()) {
            c = ((b & 0x1fu) << 6) | (s[i + 1] & 0x3fu);
            len = 2;
        }
        i += len;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= 0xc0 && c <= 0x24f)) ++scripts["latin"];
        else if (c >= 0x400 && c <= 0x4ff) ++scripts["ru"];
        else if (c >= 0x600 && c <= 0x6ff) ++scripts["ar"];
        else if (c >= 0x900 && c <= 0x97f) ++scripts["hi"];
        else if (c >= 0x980 && c <= 0x9ff) ++scripts["bn"];
        else if (c >= 0xa00 && c <= 0xa7f) ++scripts["pa"];
        else if (c >= 0xa80 && c <= 0xaff) ++scripts["gu"];
        else if (c >= 0xb80 && c <= 0xbff) ++scripts["ta"];
        else if (c >= 0xc00 && c <= 0xc7f) ++scripts["te"];
        else if (c >= 0xc80 && c <= 0xcff) ++scripts["kn"];
        else if (c >= 0xd00 && c <= 0xd7f) ++scripts["ml"];
        else if (c >= 0xe00 && c <= 0xe7f) ++scripts["th"];
        else if (c >= 0x370 && c <= 0x3ff) ++scripts["el"];
        // langdetect 1.0.9 answers "et" for Armenian and Georgian text (checked with seeds 0..9);
        // other scripts without a profile (Ethiopic, Khmer, Sinhala, ...) raise "no features"
        else if ((c >= 0x530 && c <= 0x58f) || (c >= 0x10a0 && c <= 0x10ff)) ++scripts["et"];
        else if (c >= 0x590 && c <= 0x5ff) ++scripts["he"];
        else if ((c >= 0x3040 && c <= 0x30ff)) ++scripts["ja"];
        else if (c >= 0xac00 && c <= 0xd7af) ++scripts["ko"];
        else if (c >= 0x4e00 && c <= 0x9fff) ++scripts["zh"];
    }
    if (scripts.empty()) return "";
    auto top = std::max_element(scripts.begin(), scripts.end(),
                                [](const auto& a, const auto& b) { return a.second < b.second; });
    if (top->first == "zh" && scripts.count("ja")) return "ja";
    if (top->first != "latin") return top->first;
    static const std::map<std::string, std::vector<std::string>> kStop = {
        {"en", {"the", "and", "is", "of", "to", "in", "it", "that", "you", "with"}},
        {"de", {"der", "die", "und", "das", "ist", "nicht", "ich", "zu", "ein", "mit"}},
        {"fr", {"le", "la", "les", "et", "est", "des", "une", "pas", "que", "pour"}},
        {"es", {"el", "la", "los", "y", "es", "que", "una", "por", "con", "para"}},
        {"it", {"il", "la", "che", "e", "di", "non", "una", "sono", "per", "con"}},
        {"pt", {"o", "a", "os", "e", "que", "um", "uma", "para", "com", "não"}},
        {"sw", {"na", "ya", "wa", "kwa", "ni", "za", "katika", "hii", "la", "kuwa"}},
        {"fi", {"ja", "on", "ei", "se", "että", "oli", "ovat", "kuin", "mutta", "tai"}},
    };
    std::map<std::string, std::size_t> hits;
    for (const auto& w : PyRegex("\\w+").findall(lower(s)))
        for (const auto& [lang, words] : kStop)
            if (std::find(words.begin(), words.end(), w[0]) != words.end()) ++hits[lang];
    if (hits.empty()) return "en";
    return std::max_element(hits.begin(), hits.end(), [](const auto& a, const auto& b) { return a.second < b.second; })
        ->first;
}

// NLTK's word_tokenize (punkt sentences, then NLTKWordTokenizer) as far as it matters for counting
// upper-case words: only splits between two cased characters change the count. Splits at Unicode
// whitespace; around ;@#$%&?!*"`()[]{}<> , the curly quotes and guillemets, U+2012..U+2015, "--"
// and runs of two or more periods; at ',' and ':' unless a digit follows; the contraction
// suffixes n't 'll 're 've 's 'm 'd (either case) at a piece's end; and the whole words cannot,
// gimme, gonna, gotta, lemme, more'n, wanna, d'ye, 'tis, 'twas; the text's final period. Not
// modelled: punkt's sentence breaks (only the last sentence's final period is split off here)
// and \b-bounded contractions inside a longer piece ("CANNOT-BE").
std::vector<std::string> treebank_words(const std::string& text) {
    std::vector<std::string> pieces;
    std::string cur;
    auto flush = [&] {
        if (!cur.empty()) pieces.push_back(cur);
        cur.clear();
    };
    const auto cps = code_points_of(text);
    for (std::size_t i = 0; i < cps.size(); ++i) {
        const char32_t c = cps[i].c;
        const char32_t next = i + 1 < cps.size() ? cps[i + 1].c : 0;
        const std::string ch = text.substr(cps[i].at, cps[i].len);
        if (py_space(c)) {
            flush();
        } else if (std::u32string_view(U";@#$%&?!*\"`()[]{}<>\u00ab\u00bb\u201c\u201d\u2018\u2019\u201e").find(c) !=
                       std::u32string_view::npos ||
                   (c >= 0x2012 && c <= 0x2015) || ((c == ',' || c == ':') && !(next >= '0' && next <= '9')) ||
                   (c == '-' && next == '-') || (c == '.' && next == '.')) {
            flush();
            pieces.push_back(ch);
            if ((c == '-' && next == '-')) pieces.back() += text.substr(cps[++i].at, 1);
            while (c == '.' && i + 1 < cps.size() && cps[i + 1].c == '.') pieces.back() += text.substr(cps[++i].at, 1);
        } else {
            cur += ch;
        }
    }
    flush();
    // the text's final period (NLTK: ([^.])(.)([]})>"'»”’ ]*)\s*$), past closing brackets and quotes
    for (std::size_t k = pieces.size(); k-- > 0;) {
        const std::string& p = pieces[k];
        if (p.size() > 1 && p.back() == '.' && p[p.size() - 2] != '.') {
            pieces.insert(pieces.begin() + static_cast<std::ptrdiff_t>(k) + 1, ".");
            pieces[k].pop_back();
            break;
        }
        if (p != "]" && p != "}" && p != ")" && p != ">" && p != "\"" && p != "\u00bb" && p != "\u201d" &&
            p != "\u2019")
            break;
    }
    static const std::vector<std::pair<std::string, std::size_t>> kWhole = {
        {"cannot", 3}, {"gimme", 3}, {"gonna", 3}, {"gotta", 3}, {"lemme", 3}, {"more'n", 4},
        {"wanna", 3},  {"d'ye", 1},  {"'tis", 2},  {"'twas", 2}};
    std::vector<std::string> out;
    for (const auto& p : pieces) {
        const std::string lp = lower(p);
        bool done = false;
        for (const auto& [w, at] : kWhole) {
            if (lp == w) {
                out.push_back(p.substr(0, at));
                out.push_back(p.substr(at));
                done = true;
                break;
            }
        }
        if (done) continue;
        // NLTK applies ('[sS]|'[mM]|'[dD]|') before ('ll|'LL|'re|'RE|'ve|'VE|n't|N'T), once each
        std::size_t cut = std::string::npos;
        for (const char* suf : {"'s", "'S", "'m", "'M", "'d", "'D"})
            if (ends_with(p, suf)) cut = p.size() - 2;
        if (cut == std::string::npos && ends_with(p, "'")) cut = p.size() - 1;
        if (cut == std::string::npos)
            for (const char* suf : {"'ll", "'LL", "'re", "'RE", "'ve", "'VE", "n't", "N'T"})
                if (ends_with(p, suf)) cut = p.size() - 3;
        // the rule needs a character before the suffix that is neither ' nor a space
        if (cut != std::string::npos && cut > 0 && p[cut - 1] != '\'') {
            out.push_back(p.substr(0, cut));
            out.push_back(p.substr(cut));
        } else {
            out.push_back(p);
        }
    }
    return out;
}

using Checker = std::function<bool(const json& kw, const std::string& prompt, const std::string& value)>;

const std::map<std::string, Checker>& checkers() {
    static const std::map<std::string, Checker> k = {
        {"keywords:existence",
         [](const json& kw, const std::string&, const std::string& v) {
             for (const auto& w : kw.at("keywords"))
                 if (!PyRegex("(?i)" + w.get<std::string>()).search(v)) return false;
             return true;
         }},
        {"keywords:frequency",
         [](const json& kw, const std::string&, const std::string& v) {
             const auto n = static_cast<std::int64_t>(count_matches("(?i)" + strip(get_str(kw, "keyword")), v));
             return compare(get_str(kw, "relation"), n, get_int(kw, "frequency"));
         }},
        {"keywords:forbidden_words",
         [](const json& kw, const std::string&, const std::string& v) {
             for (const auto& w : kw.at("forbidden_words"))
                 if (PyRegex("(?i)\\b" + w.get<std::string>() + "\\b").search(v)) return false;
             return true;
         }},
        {"keywords:letter_frequency",
         [](const json& kw, const std::string&, const std::string& v) {
             const std::string letter = lower(get_str(kw, "letter"));
             const std::string lv = lower(v);
             std::int64_t n = 0;
             for (std::size_t at = lv.find(letter); !letter.empty() && at != std::string::npos; at = lv.find(letter, at + letter.size())) ++n;
             return compare(get_str(kw, "let_relation"), n, get_int(kw, "let_frequency"));
         }},
        {"language:response_language",
         [](const json& kw, const std::string&, const std::string& v) {
             const std::string g = guess_language(v);
             return g.empty() || g == get_str(kw, "language");
         }},
        {"length_constraints:number_sentences",
         [](const json& kw, const std::string&, const std::string& v) {
             return compare(get_str(kw, "relation"), static_cast<std::int64_t>(count_sentences(v)), get_int(kw, "num_sentences"));
         }},
        {"length_constraints:number_paragraphs",
         [](const json& kw, const std::string&, const std::string& v) {
             const auto paragraphs = PyRegex("\\s?\\*\\*\\*\\s?").split(v);
             auto n = static_cast<std::int64_t>(paragraphs.size());
             for (std::size_t i = 0; i < paragraphs.size(); ++i) {
                 if (strip(paragraphs[i]).empty()) {
                     if (i == 0 || i + 1 == paragraphs.size()) --n;
                     else return false;
                 }
             }
             return n == get_int(kw, "num_paragraphs");
         }},
        {"length_constraints:number_words",
         [](const json& kw, const std::string&, const std::string& v) {
             return compare(get_str(kw, "relation"), static_cast<std::int64_t>(count_words(v)), get_int(kw, "num_words"));
         }},
        {"length_constraints:nth_paragraph_first_word",
         [](const json& kw, const std::string&, const std::string& v) {
             const auto paragraphs = split_on(v, "\n\n");
             auto n = static_cast<std::int64_t>(paragraphs.size());
             for (const auto& p : paragraphs)
                 if (strip(p).empty()) --n;
             const auto nth = get_int(kw, "nth_paragraph");
             if (nth > n || nth < 1 || nth > static_cast<std::int64_t>(paragraphs.size())) return false;
             const std::string p = strip(paragraphs[static_cast<std::size_t>(nth - 1)]);
             if (p.empty()) return false;
             std::string word = first_field(p);
             word = word.substr(std::min(word.size(), word.find_first_not_of('\'')));
             word = word.substr(std::min(word.size(), word.find_first_not_of('"')));
             std::string first;
             for (char c : word) {
                 if (std::string(".,?!'\"").find(c) != std::string::npos) break;
                 first += c;
             }
             return n == get_int(kw, "num_paragraphs") && lower(first) == lower(get_str(kw, "first_word"));
         }},
        {"detectable_content:number_placeholders",
         [](const json& kw, const std::string&, const std::string& v) {
             return static_cast<std::int64_t>(count_matches("\\[.*?\\]", v)) >= get_int(kw, "num_placeholders");
         }},
        {"detectable_content:postscript",
         [](const json& kw, const std::string&, const std::string& v) {
             const std::string marker = strip(get_str(kw, "postscript_marker"));
             std::string pattern;
             if (marker == "P.P.S") pattern = "\\s*p\\.\\s?p\\.\\s?s.*$";
             else if (marker == "P.S.") pattern = "\\s*p\\.\\s?s\\..*$";
             else pattern = "\\s*" + lower(marker) + ".*$";
             return PyRegex("(?m)" + pattern).search(lower(v));
         }},
        {"detectable_format:number_bullet_lists",
         [](const json& kw, const std::string&, const std::string& v) {
             const auto n = count_matches("(?m)^\\s*\\*[^\\*].*$", v) + count_matches("(?m)^\\s*-.*$", v);
             return static_cast<std::int64_t>(n) == get_int(kw, "num_bullets");
         }},
        {"detectable_format:constrained_response",
         [](const json&, const std::string&, const std::string& v) {
             const std::string s = strip(v);
             for (const char* r : {"My answer is yes.", "My answer is no.", "My answer is maybe."})
                 if (s.find(r) != std::string::npos) return true;
             return false;
         }},
        {"detectable_format:number_highlighted_sections",
         [](const json& kw, const std::string&, const std::string& v) {
             std::int64_t n = 0;
             for (const auto& h : PyRegex("\\*[^\\n\\*]*\\*").findall(v))
                 if (!strip(strip(h[0], "*")).empty()) ++n;
             for (const auto& h : PyRegex("\\*\\*[^\\n\\*]*\\*\\*").findall(v))
                 if (!strip(h[0].substr(2, h[0].size() - 4)).empty()) ++n;
             return n >= get_int(kw, "num_highlights");
         }},
        {"detectable_format:multiple_sections",
         [](const json& kw, const std::string&, const std::string& v) {
             const auto sections = PyRegex("\\s?" + strip(get_str(kw, "section_spliter")) + "\\s?\\d+\\s?").split(v);
             return static_cast<std::int64_t>(sections.size()) - 1 >= get_int(kw, "num_sections");
         }},
        {"detectable_format:json_format",
         [](const json&, const std::string&, const std::string& v) {
             // str.removeprefix, chained as lm-eval chains them
             std::string s = strip(v);
             for (const char* p : {"```json", "```Json", "```JSON", "```"})
                 if (starts_with(s, p)) s = s.substr(std::string(p).size());
             if (ends_with(s, "```")) s.resize(s.size() - 3);
             s = strip(s);
             return PyJson(s).loads();
         }},
        {"detectable_format:title",
         [](const json&, const std::string&, const std::string& v) {
             for (const auto& t : PyRegex("<<[^\\n]+>>").findall(v)) {
                 std::string inner = t[0];
                 inner = inner.substr(inner.find_first_not_of('<'));
                 inner = inner.substr(0, inner.find_last_not_of('>') + 1);
                 if (!strip(inner).empty()) return true;
             }
             return false;
         }},
        {"combination:two_responses",
         [](const json&, const std::string&, const std::string& v) {
             const auto parts = split_on(v, "******");
             std::vector<std::string> valid;
             for (std::size_t i = 0; i < parts.size(); ++i) {
                 if (strip(parts[i]).empty()) {
                     if (i != 0 && i + 1 != parts.size()) return false;
                 } else {
                     valid.push_back(parts[i]);
                 }
             }
             return valid.size() == 2 && strip(valid[0]) != strip(valid[1]);
         }},
        {"combination:repeat_prompt",
         [](const json& kw, const std::string&, const std::string& v) {
             return starts_with(lower(strip(v)), lower(strip(get_str(kw, "prompt_to_repeat"))));
         }},
        {"startend:end_checker",
         [](const json& kw, const std::string&, const std::string& v) {
             return ends_with(lower(strip(strip(v), "\"")), lower(strip(get_str(kw, "end_phrase"))));
         }},
        {"change_case:capital_word_frequency",
         [](const json& kw, const std::string&, const std::string& v) {
             std::int64_t n = 0;
             for (const auto& w : treebank_words(v))
                 if (has_case(w, true)) ++n;
             return compare(get_str(kw, "capital_relation"), n, get_int(kw, "capital_frequency"));
         }},
        {"change_case:english_capital",
         [](const json&, const std::string&, const std::string& v) {
             return has_case(v, true) && guess_language(lower(v)) == "en";
         }},
        {"change_case:english_lowercase",
         [](const json&, const std::string&, const std::string& v) {
             return has_case(v, false) && guess_language(v) == "en";
         }},
        {"punctuation:no_comma",
         [](const json&, const std::string&, const std::string& v) { return v.find(',') == std::string::npos; }},
        {"startend:quotation",
         [](const json&, const std::string&, const std::string& v) {
             const std::string s = strip(v);
             return s.size() > 1 && s.front() == '"' && s.back() == '"';
         }},
    };
    return k;
}

}  // namespace

const std::vector<std::string>& ifeval_instruction_ids() {
    static const std::vector<std::string> ids = [] {
        std::vector<std::string> v;
        for (const auto& [id, _] : checkers()) v.push_back(id);
        return v;
    }();
    return ids;
}

bool ifeval_check(const std::string& id, const json& kwargs, const std::string& prompt, const std::string& response) {
    const auto it = checkers().find(id);
    if (it == checkers().end())
        throw_bad_input("ifeval: unknown instruction '{}'{}", id, did_you_mean(id, ifeval_instruction_ids()));
    // lm-eval drops falsy arguments before building the checker.
    json kw = json::object();
    if (kwargs.is_object())
        for (const auto& [k, v] : kwargs.items())
            if (!(v.is_null() || (v.is_string() && v.get<std::string>().empty()) || (v.is_number() && v == 0) ||
                  (v.is_boolean() && !v.get<bool>()) || (v.is_array() && v.empty())))
                kw[k] = v;
    return it->second(kw, prompt, response);
}

IfevalScore score_ifeval(const json& doc, const std::string& response) {
    IfevalScore s;
    const auto& ids = doc.at("instruction_id_list");
    const json kwargs = doc.value("kwargs", json::array());
    const std::string prompt = doc.value("prompt", "");
    const auto lines = split_on(response, "\n");
    const std::string first_removed = strip(join_lines(lines, 1, lines.size()));
    const std::string last_removed = strip(join_lines(lines, 0, lines.empty() ? 0 : lines.size() - 1));
    const std::string both_removed = strip(lines.size() >= 2 ? join_lines(lines, 1, lines.size() - 1) : "");
    auto no_star = [](std::string x) {
        x.erase(std::remove(x.begin(), x.end(), '*'), x.end());
        return x;
    };
    const std::vector<std::string> variants{response,     no_star(response),     first_removed,
                                            last_removed, both_removed,          no_star(first_removed),
                                            no_star(last_removed), no_star(both_removed)};
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const std::string id = ids[i].get<std::string>();
        const json kw = i < kwargs.size() ? kwargs[i] : json::object();
        s.strict.push_back(!strip(response).empty() && ifeval_check(id, kw, prompt, response));
        bool loose = false;
        for (const auto& v : variants) {
            if (!strip(v).empty() && ifeval_check(id, kw, prompt, v)) {
                loose = true;
                break;
            }
        }
        s.loose.push_back(loose);
    }
    s.prompt_strict = std::all_of(s.strict.begin(), s.strict.end(), [](bool b) { return b; });
    s.prompt_loose = std::all_of(s.loose.begin(), s.loose.end(), [](bool b) { return b; });
    return s;
}

}  // namespace qbench::eval::tasks
