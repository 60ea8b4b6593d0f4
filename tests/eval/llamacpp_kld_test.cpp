// llama.cpp's KLD base file and llama-perplexity's figures: the stderr formula against a
// hand-computed case, the u16 log-prob packing against its stated bound, the reader on files
// laid out here byte by byte (and corrupt, truncated, mismatched ones), and the per-token KLD
// against a float64 brute force over the whole vocabulary.
#include "qbench/eval/llamacpp_kld.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <unistd.h>

#include "qbench/util/error.hpp"

namespace qbench::eval {
namespace {

namespace fs = std::filesystem;

std::vector<float> random_logits(std::int64_t n, float spread, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-spread / 2, spread / 2);
    std::vector<float> x(static_cast<std::size_t>(n));
    for (auto& v : x) v = u(rng);
    return x;
}

std::vector<double> log_softmax64(const std::vector<float>& x) {
    double m = -INFINITY;
    for (float v : x) m = std::max<double>(m, v);
    double s = 0;
    for (float v : x) s += std::exp(v - m);
    std::vector<double> out;
    for (float v : x) out.push_back(v - m - std::log(s));
    return out;
}

std::vector<std::uint16_t> packed(const std::vector<float>& logits) {
    std::vector<std::uint16_t> row(static_cast<std::size_t>(llamacpp_row_width(static_cast<std::int64_t>(logits.size()))));
    pack_log_probs(logits, row);
    return row;
}

void expect_bad_input(const std::function<void()>& f, const std::string& part) {
    try {
        f();
        ADD_FAILURE() << "no error; expected one containing '" << part << "'";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kBadInput) << e.what();
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
}

TEST(LlamacppEstimates, RunningPplAndStderrAsLlamaPerplexityComputesThem) {
    // Chunk 1 scores nll 1 and 2, chunk 2 scores 3: Σ = 6, Σ² = 14, n = 3, mean 2,
    // variance 14/3 − 4 = 2/3, stderr = e² · sqrt((2/3) / 2) = e² / sqrt(3).
    report::PerplexityResult r;
    r.protocol = "llama.cpp";
    r.blocks = {{3.0, 2}, {3.0, 1}};
    finalize(r);
    llamacpp_estimates(r, {5.0, 9.0});
    ASSERT_EQ(r.running_ppl.size(), 2u);
    EXPECT_DOUBLE_EQ(r.running_ppl[0], std::exp(1.5));
    EXPECT_DOUBLE_EQ(r.running_ppl[1], std::exp(2.0));
    ASSERT_TRUE(r.ppl_stderr.has_value());
    EXPECT_NEAR(*r.ppl_stderr, std::exp(2.0) / std::sqrt(3.0), 1e-12);
    EXPECT_DOUBLE_EQ(r.ppl, std::exp(2.0));
}

TEST(LlamacppEstimates, NoStderrWithoutSpread) {
    report::PerplexityResult r;
    r.blocks = {{4.0, 2}};  // both tokens nll 2: variance 0, llama.cpp prints no estimate
    llamacpp_estimates(r, {8.0});
    EXPECT_FALSE(r.ppl_stderr.has_value());
    ASSERT_EQ(r.running_ppl.size(), 1u);
    EXPECT_DOUBLE_EQ(r.running_ppl[0], std::exp(2.0));
    EXPECT_THROW(llamacpp_estimates(r, {}), Error);
}

TEST(LlamacppPacking, RoundTripWithinHalfAStep) {
    for (std::int64_t n : {1, 2, 7, 50}) {
        const auto logits = random_logits(n, 12.f, static_cast<unsigned>(n));
        const auto row = packed(logits);
        EXPECT_EQ(static_cast<std::int64_t>(row.size()), 2 * ((n + 1) / 2) + 4);
        const auto exact = log_softmax64(logits);
        float scale = 0;
        std::memcpy(&scale, row.data(), 4);
        EXPECT_LE(scale, 16.f / 65535.f);
        for (std::int64_t i = 0; i < n; ++i) {
            // half a step of rounding plus float32 arithmetic on values of size ≤ 16 + ln n
            EXPECT_NEAR(unpacked_log_prob(row, i), exact[i], scale / 2 + 1e-5) << "n " << n << " i " << i;
        }
    }
}

TEST(LlamacppPacking, LogProbsBelowTheClampReadAsTheClamp) {
    const std::vector<float> logits = {0.f, -3.f, -40.f, -16.5f};
    const auto row = packed(logits);
    const auto exact = log_softmax64(logits);
    const double clamp = -16.0 - (0.0 - exact[0]);  // max − 16 as a log-prob
    EXPECT_NEAR(unpacked_log_prob(row, 2), clamp, 1e-5);
    EXPECT_NEAR(unpacked_log_prob(row, 3), clamp, 1e-5);
    EXPECT_NEAR(unpacked_log_prob(row, 1), exact[1], 2e-4);
}

TEST(LlamacppKld, TokenStatsEqualBruteForceOverTheWholeVocabulary) {
    const std::int64_t n = 301;
    for (unsigned seed = 0; seed < 5; ++seed) {
        const auto base = random_logits(n, 10.f, seed);
        auto variant = base;
        std::mt19937 rng(100 + seed);
        std::normal_distribution<float> noise(0.f, 0.7f);
        for (auto& v : variant) v += noise(rng);
        const auto lp = log_softmax64(base), lq = log_softmax64(variant);
        double kld = 0, abs_terms = 0;
        for (std::int64_t i = 0; i < n; ++i) {
            kld += std::exp(lp[i]) * (lp[i] - lq[i]);
            abs_terms += std::exp(lp[i]) * std::abs(lp[i] - lq[i]);
        }
        const auto row = packed(base);
        const std::int32_t target = static_cast<std::int32_t>(seed * 37 % n);
        const auto s = llamacpp_token_stats(variant, row, target);
        // Each base log-prob is off by at most scale/2 = 10/65535/2 (the range < 16: nothing
        // clamped), so the KLD by at most that times (1 + Σ p |ln p − ln q|), doubled for float32.
        EXPECT_NEAR(s.kld, kld, 2 * (10.0 / 65535 / 2) * (1 + abs_terms)) << seed;
        EXPECT_NEAR(s.nll, -lq[target], 1e-5);
        // p(target) read from the row is off by at most p · scale/2 (+ float32 rounding).
        EXPECT_NEAR(s.delta_p, std::exp(lq[target]) - std::exp(lp[target]), std::exp(lp[target]) * 1e-4 + 1e-6);
        const auto argmax = [](const std::vector<double>& v) { return std::max_element(v.begin(), v.end()) - v.begin(); };
        EXPECT_EQ(s.same_top, argmax(lp) == argmax(lq));
    }
    const auto same = random_logits(n, 10.f, 9);
    const auto s = llamacpp_token_stats(same, packed(same), 0);
    EXPECT_NEAR(s.kld, 0.0, 1e-4);
    EXPECT_TRUE(s.same_top);
}

// A file in llama.cpp's layout, written byte by byte: n_chunk chunks of n_ctx tokens.
struct TmpFile {
    fs::path path = fs::temp_directory_path() / ("qbench_llamacpp_kld_" + std::to_string(::getpid()) + "_" +
                                                 ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".kld");
    ~TmpFile() {
        std::error_code ec;
        fs::remove(path, ec);
    }
};

std::vector<std::int32_t> stream(std::int64_t n) {
    std::vector<std::int32_t> t;
    for (std::int64_t i = 0; i < n; ++i) t.push_back(static_cast<std::int32_t>((i * 7 + 3) % 11));
    return t;
}

void write_llama_file(const fs::path& p, std::int32_t n_ctx, std::int32_t n_vocab, std::int32_t n_chunk,
                      const std::vector<std::int32_t>& tokens, std::int64_t drop_bytes = 0, std::string magic = "_logits_") {
    std::string bytes = magic;
    auto put = [&bytes](const void* x, std::size_t n) { bytes.append(static_cast<const char*>(x), n); };
    put(&n_ctx, 4);
    put(&n_vocab, 4);
    put(&n_chunk, 4);
    put(tokens.data(), static_cast<std::size_t>(n_ctx * n_chunk) * 4);
    const std::int32_t rows = n_ctx - 1 - n_ctx / 2;
    for (std::int32_t c = 0; c < n_chunk * rows; ++c) {
        const auto row = packed(random_logits(n_vocab, 8.f, static_cast<unsigned>(c)));
        put(row.data(), row.size() * 2);
    }
    bytes.resize(bytes.size() - static_cast<std::size_t>(drop_bytes));
    std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(LlamacppKldFile, ReadsTheHeaderOfAFileInLlamaCppsLayout) {
    TmpFile f;
    const auto tokens = stream(24);
    write_llama_file(f.path, 8, 11, 3, tokens);
    EXPECT_TRUE(is_llamacpp_kld_file(f.path));
    const auto h = read_llamacpp_kld_header(f.path);
    EXPECT_EQ(h.n_ctx, 8);
    EXPECT_EQ(h.n_vocab, 11);
    EXPECT_EQ(h.n_chunk, 3);
    EXPECT_EQ(h.rows_per_chunk(), 3);
    EXPECT_EQ(h.tokens, tokens);
    check_llamacpp_kld_header(f.path, h, 8, 11, 3, stream(30));  // a longer stream: its first 24 match
}

TEST(LlamacppKldFile, RefusesCorruptTruncatedAndMismatchedFiles) {
    TmpFile f;
    const auto tokens = stream(24);
    write_llama_file(f.path, 8, 11, 3, tokens, 0, "_logitz_");
    EXPECT_FALSE(is_llamacpp_kld_file(f.path));
    expect_bad_input([&] { read_llamacpp_kld_header(f.path); }, "not a llama.cpp KLD base file");
    write_llama_file(f.path, 8, 11, 3, tokens, 2);
    expect_bad_input([&] { read_llamacpp_kld_header(f.path); }, "truncated");
    std::ofstream(f.path, std::ios::binary).write("_logits_\x08\0", 10);
    expect_bad_input([&] { read_llamacpp_kld_header(f.path); }, "truncated");
    write_llama_file(f.path, 8, 11, 3, tokens);
    std::ofstream(f.path, std::ios::binary | std::ios::app).write("xx", 2);
    expect_bad_input([&] { read_llamacpp_kld_header(f.path); }, "bytes after the last chunk");
    write_llama_file(f.path, 8, 11, 3, tokens);
    const auto h = read_llamacpp_kld_header(f.path);
    expect_bad_input([&] { check_llamacpp_kld_header(f.path, h, 16, 11, 3, stream(48)); }, "n_ctx 8");
    expect_bad_input([&] { check_llamacpp_kld_header(f.path, h, 8, 12, 3, tokens); }, "vocabulary of 11");
    expect_bad_input([&] { check_llamacpp_kld_header(f.path, h, 8, 11, 2, tokens); }, "holds 3 chunks");
    auto other = tokens;
    other[13] += 1;
    expect_bad_input([&] { check_llamacpp_kld_header(f.path, h, 8, 11, 3, other); }, "token 13 (chunk 1)");
    expect_bad_input([&] { read_llamacpp_kld_header(f.path.string() + ".missing"); }, "cannot open");
}

// Full log-prob rows of `logits` [rows x vocab] as the seam hands them to observers.
struct Scores {
    std::vector<float> logp;
    std::vector<float> target_logp;
    std::vector<std::int32_t> targets;
    lm::WindowScores view(std::int64_t rows, std::int64_t vocab) const {
        lm::WindowScores s;
        s.positions = rows;
        s.vocab_size = vocab;
        s.k = vocab;
        s.targets = targets;
        s.target_logp = target_logp;
        s.logp = logp;
        return s;
    }
};

Scores scores_of(const torch::Tensor& logits, const torch::Tensor& targets) {
    auto lp = torch::log_softmax(logits.to(torch::kFloat32), -1).contiguous();
    auto t = targets.to(torch::kInt64).contiguous();
    Scores s;
    s.logp.assign(lp.data_ptr<float>(), lp.data_ptr<float>() + lp.numel());
    for (std::int64_t i = 0; i < t.size(0); ++i) {
        s.targets.push_back(static_cast<std::int32_t>(t[i].item<std::int64_t>()));
        s.target_logp.push_back(lp[i][t[i].item<std::int64_t>()].item<float>());
    }
    return s;
}

// Writer and scorer through the observer interface the perplexity run drives.
TEST(LlamacppKld, WriterAndScorerRoundTripGivesTheBruteForceMean) {
    TmpFile f;
    const std::int64_t n_ctx = 10, vocab = 37, chunks = 2, rows = n_ctx - 1 - n_ctx / 2;
    const auto tokens = stream(n_ctx * chunks + 3);
    torch::manual_seed(3);
    std::vector<torch::Tensor> base, variant;
    for (int c = 0; c < chunks; ++c) {
        base.push_back(torch::randn({rows, vocab}) * 2);
        variant.push_back(base.back() + torch::randn({rows, vocab}) * 0.5);
    }
    {
        LlamaKldWriter w(f.path, n_ctx, vocab, chunks, tokens);
        for (int c = 0; c < chunks; ++c) {
            Window win{{}, n_ctx / 2 + 1, static_cast<std::size_t>(c)};
            const auto sc = scores_of(base[c], torch::zeros({rows}, torch::kInt64));
            w.window(c, win, sc.view(rows, vocab));
        }
        w.finish();
    }
    LlamaKldScorer s(f.path, n_ctx, vocab, chunks, tokens);
    double brute = 0;
    for (int c = 0; c < chunks; ++c) {
        auto targets = torch::arange(rows, torch::kInt64);
        const auto sc = scores_of(variant[c], targets);
        s.window(c, {{}, n_ctx / 2 + 1, static_cast<std::size_t>(c)}, sc.view(rows, vocab));
        auto lp = torch::log_softmax(base[c].to(torch::kFloat64), -1), lq = torch::log_softmax(variant[c].to(torch::kFloat64), -1);
        brute += (lp.exp() * (lp - lq)).sum().item<double>();
    }
    const auto r = s.finish();
    EXPECT_TRUE(r.exact);
    EXPECT_EQ(r.top_k, vocab);
    EXPECT_EQ(r.tokens, chunks * rows);
    // Per token at most 2 x scale/2 (range ≤ 16: scale ≤ 16/65535) times (1 + Σ p |ln p − ln q|), which
    // is below 2 here (noise 0.5 on the logits).
    EXPECT_NEAR(r.kld_mean, brute / static_cast<double>(chunks * rows), 16.0 / 65535 * 2);
    LlamaKldScorer early(f.path, n_ctx, vocab, chunks, tokens);
    expect_bad_input([&] { early.finish(); }, "scored 0 chunks");
}

}  // namespace
}  // namespace qbench::eval
