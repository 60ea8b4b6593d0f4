// GGUF vocabularies against llama.cpp itself (ctest -L llamacpp). Needs the llama.cpp tree of
// scripts/fetch_llamacpp ($QBENCH_LLAMACPP_ROOT, default its cache) and, for the long texts, the
// reference ids scripts/llamacpp_agreement.py tokenize writes ($QBENCH_LLAMACPP_REFS, default
// ~/.cache/qbench/llamacpp_agreement); each test skips, saying so, when its input is absent.
//   - every models/ggml-vocab-*.gguf with .inp/.out: each case, ids equal (llama.cpp's
//     tests/test-tokenizer-0.cpp: add_special = false, parse_special = false);
//   - the ones without: they load (or refuse with an Error naming the file);
//   - llama-tokenize's ids for the long real texts on every vocab file and the real models, with
//     and without special-token parsing and BOS/EOS;
//   - our code point classes equal llama.cpp's table (src/unicode-data.cpp) for every code point.
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "qbench/io/gguf.hpp"
#include "qbench/tokenizer/gguf_tokenizer.hpp"
#include "qbench/tokenizer/llama_split.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"

namespace qbench::tokenizer {
namespace {

namespace fs = std::filesystem;

fs::path home() {
    const char* h = std::getenv("HOME");
    return h ? h : "/root";
}

fs::path llama_root() {
    if (const char* d = std::getenv("QBENCH_LLAMACPP_ROOT")) return d;
    return home() / ".cache/qbench/llama.cpp/llama_cpp_python-0.3.36/vendor/llama.cpp";
}

fs::path refs_dir() {
    if (const char* d = std::getenv("QBENCH_LLAMACPP_REFS")) return fs::path(d) / "tokenize";
    return home() / ".cache/qbench/llamacpp_agreement/tokenize";
}

std::unique_ptr<GgufTokenizer> load(const fs::path& p) { return make_gguf_tokenizer(io::GgufFile(p)); }

// Where two id lists first differ, with the pieces around it.
std::string first_difference(const GgufTokenizer& tok, const std::vector<std::int32_t>& got,
                             const std::vector<std::int32_t>& want) {
    std::size_t i = 0;
    while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
    auto pieces = [&](const std::vector<std::int32_t>& ids) {
        std::string s;
        for (std::size_t k = i >= 3 ? i - 3 : 0; k < std::min(ids.size(), i + 4); ++k) {
            const bool ok = ids[k] >= 0 && ids[k] < tok.vocab_size();
            s += fmt::format("{}{}:'{}' ", k == i ? "*" : "", ids[k], ok ? tok.token_bytes(ids[k]) : "?");
        }
        return s;
    };
    return fmt::format("first difference at {} of {} (ours) / {} (llama.cpp)\n  ours:      {}\n  llama.cpp: {}", i,
                       got.size(), want.size(), pieces(got), pieces(want));
}

std::vector<std::int32_t> parse_ids(const std::string& line) {
    std::vector<std::int32_t> ids;
    std::istringstream in(line);
    for (std::int32_t id; in >> id;) ids.push_back(id);
    return ids;
}

// The llama.cpp vocab test files; those without .inp/.out only have to load.
const char* const kVocabs[] = {"aquila",    "baichuan",  "bert-bge", "command-r", "deepseek-coder", "deepseek-llm",
                               "falcon",    "gemma-4",   "gpt-2",    "gpt-neox",  "llama-bpe",      "llama-spm",
                               "mpt",       "nomic-bert-moe", "phi-3", "qwen2",   "qwen35",         "refact",
                               "starcoder"};

class LlamaCppVocab : public ::testing::TestWithParam<const char*> {};

TEST_P(LlamaCppVocab, AgreesWithTestTokenizer0Cases) {
    const fs::path vocab = llama_root() / "models" / fmt::format("ggml-vocab-{}.gguf", GetParam());
    if (!fs::exists(vocab)) GTEST_SKIP() << vocab << " is absent: run scripts/fetch_llamacpp --source-only";
    fs::path inp = vocab, out = vocab;
    inp += ".inp";
    out += ".out";
    std::unique_ptr<GgufTokenizer> tok;
    try {
        tok = load(vocab);
    } catch (const Error& e) {
        // A refused vocabulary must say which file and why; one with test cases must load.
        EXPECT_NE(std::string(e.what()).find(vocab.string()), std::string::npos) << e.what();
        if (fs::exists(inp)) FAIL() << e.what();
        GTEST_SKIP() << "refused (no .inp/.out): " << e.what();
    }
    if (!fs::exists(inp) || !fs::exists(out)) {
        EXPECT_GT(tok->encode("Hello world", false).size(), 0u);
        GTEST_SKIP() << "loads; no .inp/.out cases for " << GetParam();
    }
    const std::string raw = read_file(inp);
    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<std::string> texts;
    for (std::size_t pos = 0; pos < raw.size();) {
        const auto next = raw.find(sep, pos);
        if (next == std::string::npos) {
            texts.push_back(raw.substr(pos));
            break;
        }
        texts.push_back(raw.substr(pos, next - pos));
        pos = next + sep.size();
    }
    std::ifstream lines(out);
    std::vector<std::vector<std::int32_t>> expected;
    for (std::string line; std::getline(lines, line);) expected.push_back(parse_ids(line));
    ASSERT_EQ(texts.size(), expected.size()) << inp;
    int agree = 0;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const auto got = tok->encode(texts[i], false, false);
        if (got == expected[i]) {
            ++agree;
        } else {
            ADD_FAILURE() << GetParam() << " case " << i << " '" << texts[i] << "': " << first_difference(*tok, got, expected[i]);
        }
    }
    RecordProperty("cases_agreeing", agree);
    std::cout << GetParam() << ": " << agree << "/" << texts.size() << " cases agree\n";
}

INSTANTIATE_TEST_SUITE_P(VocabFiles, LlamaCppVocab, ::testing::ValuesIn(kVocabs), [](const auto& info) {
    std::string name = info.param;
    for (auto& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    return name;
});

TEST(LlamaCppTokenize, LongRealTextsAgreeWithLlamaTokenize) {
    const fs::path dir = refs_dir();
    if (!fs::is_directory(dir)) GTEST_SKIP() << dir << " is absent: run .venv/bin/python scripts/llamacpp_agreement.py tokenize";
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() == ".json") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    ASSERT_FALSE(files.empty()) << dir;
    std::int64_t cases = 0, tokens = 0;
    for (const auto& f : files) {
        const auto ref = nlohmann::json::parse(read_file(f));
        const fs::path vocab = ref["vocab"].get<std::string>();
        SCOPED_TRACE(vocab.string());
        if (!fs::exists(vocab)) continue;
        std::unique_ptr<GgufTokenizer> tok;
        std::string refused;
        try {
            tok = load(vocab);
        } catch (const Error& e) {
            refused = e.what();
        }
        if (!tok) {
            // A kind we do not reproduce (t5/UGM): refused, naming the file and the kind.
            EXPECT_NE(refused.find(vocab.string()), std::string::npos) << refused;
            EXPECT_NE(refused.find("is not supported"), std::string::npos) << refused;
            std::cout << vocab.filename().string() << ": refused: " << refused << "\n";
            continue;
        }
        int n = 0, agree = 0;
        for (const auto& c : ref["cases"]) {
            if (c.contains("error")) continue;  // llama-tokenize refused it too
            const std::string text = read_file(c["text_file"].get<std::string>());
            const bool parse = c["parse_special"].get<bool>(), add = c["add_special"].get<bool>();
            const auto want = c["ids"].get<std::vector<std::int32_t>>();
            // llama-tokenize adds special tokens only where the model adds BOS.
            const auto got = tok->encode(text, add && tok->add_bos(), parse);
            ++n;
            if (got == want) {
                ++agree;
                tokens += static_cast<std::int64_t>(want.size());
            } else {
                ADD_FAILURE() << vocab.filename() << " on " << c["text"].get<std::string>() << " (parse_special " << parse
                              << ", add_special " << add << "): " << first_difference(*tok, got, want);
            }
        }
        cases += n;
        std::cout << vocab.filename().string() << ": " << agree << "/" << n << " long-text cases agree\n";
    }
    RecordProperty("cases", static_cast<int>(cases));
    RecordProperty("tokens_agreeing", std::to_string(tokens));
    std::cout << "long texts: " << cases << " cases, " << tokens << " ids agreeing\n";
}

// One MB of real text through a real BPE vocabulary in well under a second or two.
TEST(LlamaCppTokenize, OneMegabyteIsFast) {
    const fs::path model = home() / ".cache/qbench/models/SmolLM2-135M-Instruct.Q4_1.gguf";
    const fs::path text = "/usr/share/common-licenses/GPL-3";
    if (!fs::exists(model) || !fs::exists(text)) GTEST_SKIP() << model << " or " << text << " is absent";
    const auto tok = load(model);
    const std::string gpl = read_file(text);
    std::string big;
    while (big.size() < (1u << 20)) big += gpl;
    const auto t0 = std::chrono::steady_clock::now();
    const auto ids = tok->encode(big, false);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "1 MiB (" << big.size() << " bytes) -> " << ids.size() << " ids in " << s << " s\n";
    RecordProperty("seconds_per_mib", std::to_string(s));
    EXPECT_LT(s, 2.0);
}

// llama.cpp's generated table, parsed from its source: {start, flags} ranges and the whitespace set.
TEST(LlamaCppUnicode, CodePointClassesEqualLlamaCppTable) {
    const fs::path src = llama_root() / "src/unicode-data.cpp";
    if (!fs::exists(src)) GTEST_SKIP() << src << " is absent: run scripts/fetch_llamacpp --source-only";
    const std::string data = read_file(src);
    const auto begin = data.find("unicode_ranges_flags");
    const auto end = data.find("};", begin);
    ASSERT_NE(begin, std::string::npos);
    const std::regex pair(R"(\{0x([0-9A-Fa-f]+), 0x([0-9A-Fa-f]+)\})");
    std::vector<std::pair<char32_t, std::uint16_t>> ranges;
    for (std::sregex_iterator it(data.begin() + static_cast<std::ptrdiff_t>(begin),
                                 data.begin() + static_cast<std::ptrdiff_t>(end), pair);
         it != std::sregex_iterator(); ++it) {
        ranges.emplace_back(static_cast<char32_t>(std::stoul((*it)[1], nullptr, 16)),
                            static_cast<std::uint16_t>(std::stoul((*it)[2], nullptr, 16)));
    }
    ASSERT_GT(ranges.size(), 1000u);
    int mismatches = 0;
    for (std::size_t r = 0; r + 1 < ranges.size(); ++r) {
        for (char32_t cp = ranges[r].first; cp < ranges[r + 1].first; ++cp) {
            const auto ours = llama::cpt_flags(cp) & llama::kCategoryMask;
            if (ours != ranges[r].second && mismatches++ < 10) {
                ADD_FAILURE() << fmt::format("U+{:04X}: ours 0x{:02X}, llama.cpp 0x{:02X}", static_cast<std::uint32_t>(cp),
                                             ours, ranges[r].second);
            }
        }
    }
    EXPECT_EQ(mismatches, 0);
    const auto ws_begin = data.find("unicode_set_whitespace");
    const auto ws_end = data.find("};", ws_begin);
    int n_ws = 0;
    const std::regex hex(R"(0x([0-9A-Fa-f]+))");
    for (std::sregex_iterator it(data.begin() + static_cast<std::ptrdiff_t>(ws_begin),
                                 data.begin() + static_cast<std::ptrdiff_t>(ws_end), hex);
         it != std::sregex_iterator(); ++it) {
        const auto cp = static_cast<char32_t>(std::stoul((*it)[1], nullptr, 16));
        EXPECT_TRUE(llama::cpt_flags(cp) & llama::kWhitespace) << static_cast<std::uint32_t>(cp);
        ++n_ws;
    }
    int ours_ws = 0;
    for (char32_t cp = 0; cp < 0x110000; ++cp) ours_ws += (llama::cpt_flags(cp) & llama::kWhitespace) != 0;
    EXPECT_EQ(ours_ws, n_ws);
}

}  // namespace
}  // namespace qbench::tokenizer
