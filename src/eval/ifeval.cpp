#include "qbench/eval/tasks/ifeval.hpp"

#include <algorithm>
#include <functional>
#include <map>

#include "qbench/eval/tasks/scoring.hpp"
#include "qbench/tokenizer/unicode.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/strings.hpp"

// The checkers follow google-research/instruction_following_eval/instructions.py (as vendored
// by lm-eval's tasks/ifeval/instructions.py) line by line, with two documented approximations:
// language detection (langdetect) is replaced by a Unicode-script and stop-word check, and
// NLTK's sentence / word tokenizers by regex splitters (see docs/ARCHITECTURE.md, "Tasks").
namespace qbench::eval::tasks {

namespace {

using nlohmann::json;

std::string strip(const std::string& s, const std::string& chars = " \t\n\r\f\v") {
    const auto b = s.find_first_not_of(chars);
    if (b == std::string::npos) return "";
    const auto e = s.find_last_not_of(chars);
    return s.substr(b, e - b + 1);
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

// Python str.isupper / islower, approximately: an uppercase character is one lowercase() changes;
// lowercase characters are the ASCII ones.
bool has_case(const std::string& s, bool upper) {
    const bool has_upper = lower(s) != s;
    const bool has_lower = std::any_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; });
    return upper ? has_upper && !has_lower : has_lower && !has_upper;
}

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
        else if (c >= 0xa80 && c <= 0xaff) ++scripts["gu"];
        else if (c >= 0xb80 && c <= 0xbff) ++scripts["ta"];
        else if (c >= 0xc00 && c <= 0xc7f) ++scripts["te"];
        else if (c >= 0xc80 && c <= 0xcff) ++scripts["kn"];
        else if (c >= 0xe00 && c <= 0xe7f) ++scripts["th"];
        else if (c >= 0x370 && c <= 0x3ff) ++scripts["el"];
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
             const auto n = static_cast<std::int64_t>(count_matches("(?i)" + get_str(kw, "keyword"), v));
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
             std::string word = p.substr(0, p.find_first_of(" \t\n\r\f\v"));
             word = word.substr(std::min(word.size(), word.find_first_not_of('\'')));
             word = word.substr(std::min(word.size(), word.find_first_not_of('"')));
             std::string first;
             for (char c : word) {
                 if (std::string(".,?!'\"").find(c) != std::string::npos) break;
                 first += c;
             }
             return n == get_int(kw, "num_paragraphs") && lower(first) == get_str(kw, "first_word");
         }},
        {"detectable_content:number_placeholders",
         [](const json& kw, const std::string&, const std::string& v) {
             return static_cast<std::int64_t>(count_matches("\\[.*?\\]", v)) >= get_int(kw, "num_placeholders");
         }},
        {"detectable_content:postscript",
         [](const json& kw, const std::string&, const std::string& v) {
             const std::string marker = get_str(kw, "postscript_marker");
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
             const auto sections = PyRegex("\\s?" + get_str(kw, "section_spliter") + "\\s?\\d+\\s?").split(v);
             return static_cast<std::int64_t>(sections.size()) - 1 >= get_int(kw, "num_sections");
         }},
        {"detectable_format:json_format",
         [](const json&, const std::string&, const std::string& v) {
             std::string s = strip(v);
             for (const char* p : {"```json", "```Json", "```JSON", "```"}) {
                 if (starts_with(s, p)) {
                     s = s.substr(std::string(p).size());
                     break;
                 }
             }
             if (ends_with(s, "```")) s.resize(s.size() - 3);
             return json::accept(strip(s));
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
             for (const auto& w : PyRegex("\\w+|[^\\w\\s]+").findall(v))
                 if (has_case(w[0], true)) ++n;
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
