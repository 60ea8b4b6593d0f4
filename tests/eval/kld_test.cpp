// KLD vs the baseline: the per-token arithmetic against hand-computed values (exact for k =
// vocab, a lower bound that grows with k below it), the base file round trip, and the whole
// path on two fixture models against scripts/gen_kld_fixtures.py (transformers, float64).
#include "qbench/eval/kld.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "qbench/eval/llamacpp_kld.hpp"
#include "qbench/eval/perplexity_input.hpp"
#include "qbench/model/decoder.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"
#include "support/fixtures.hpp"

namespace qbench::eval {
namespace {

namespace fs = std::filesystem;

torch::Tensor log_rows(std::vector<std::vector<double>> rows) {
    std::vector<torch::Tensor> ts;
    for (const auto& r : rows) ts.push_back(torch::tensor(r, torch::kFloat64).log().to(torch::kFloat32));
    return torch::stack(ts);
}

TokenStats stats_for(const torch::Tensor& p, const torch::Tensor& q, std::vector<std::int64_t> targets, std::int64_t k) {
    return token_stats(reduce_base(p, torch::tensor(targets, torch::kInt64), k), q);
}

// Two positions over a vocabulary of 4:
//   p = (.5, .25, .125, .125), q uniform: exact KL = .5 ln 2 + 2 (.125 ln .5) = .25 ln 2;
//     k = 1: .5 ln(.5/.25) + P_tail ln(P_tail/Q_tail) = .5 ln 2 + .5 ln(.5/.75) = .5 ln(4/3);
//     k = 2: .5 ln 2 + 0 + .25 ln(.25/.5) = .25 ln 2 (the tail's ratio is uniform: exact).
//   p = (.1, .2, .3, .4), q = (.4, .3, .2, .1): exact = .3 ln 4 + .1 ln 1.5;
//     k = 1: .4 ln 4 + .6 ln(.6/.9); k = 2: .4 ln 4 + .3 ln 1.5 + .3 ln(.3/.7); k = 3: exact
//     (a one-token tail is exact).
TEST(KldMath, HandComputedValuesForEveryK) {
    const auto p = log_rows({{.5, .25, .125, .125}, {.1, .2, .3, .4}});
    const auto q = log_rows({{.25, .25, .25, .25}, {.4, .3, .2, .1}});
    const double ln2 = std::log(2.0);
    const double exact1 = 0.3 * std::log(4.0) + 0.1 * std::log(1.5);
    const double expected[5][2] = {{0, 0},
                                   {0.5 * std::log(4.0 / 3.0), 0.4 * std::log(4.0) + 0.6 * std::log(0.6 / 0.9)},
                                   {0.25 * ln2, 0.4 * std::log(4.0) + 0.3 * std::log(1.5) + 0.3 * std::log(0.3 / 0.7)},
                                   {0.25 * ln2, exact1},
                                   {0.25 * ln2, exact1}};
    for (std::int64_t k = 1; k <= 4; ++k) {
        const auto s = stats_for(p, q, {2, 1}, k);
        // float32 log-probs: ~1e-7 relative in each term.
        EXPECT_NEAR(s.kld[0].item<double>(), expected[k][0], 1e-6) << "k = " << k;
        EXPECT_NEAR(s.kld[1].item<double>(), expected[k][1], 1e-6) << "k = " << k;
        EXPECT_TRUE(s.same_top[0].item<bool>());   // q's argmax of a tie is the first index, base's top
        EXPECT_FALSE(s.same_top[1].item<bool>());  // q peaks at 0, p at 3
        EXPECT_NEAR(s.delta_p[0].item<double>(), 0.25 - 0.125, 1e-7);
        EXPECT_NEAR(s.delta_p[1].item<double>(), 0.3 - 0.2, 1e-7);
        EXPECT_NEAR(s.tail_mass[1].item<double>(), k == 4 ? 0.0 : (k == 1 ? 0.6 : k == 2 ? 0.3 : 0.1), 1e-6);
    }
}

// Merging the tail can only lose divergence: for random rows the top-k value is <= the exact one,
// grows with k (each k refines the partition of k - 1) and reaches it at k = vocab.
TEST(KldMath, TopKIsALowerBoundGrowingToTheExactValue) {
    torch::manual_seed(3);
    const std::int64_t V = 50;
    auto p = torch::log_softmax(2 * torch::randn({6, V}), -1);
    auto q = torch::log_softmax(p + 0.5 * torch::randn({6, V}), -1);
    const auto exact = stats_for(p, q, {0, 1, 2, 3, 4, 5}, V).kld;
    // independent float64 reference
    auto pd = p.to(torch::kFloat64), qd = q.to(torch::kFloat64);
    auto ref = (pd.exp() * (pd - qd)).sum(1);
    EXPECT_LT((exact - ref).abs().max().item<double>(), 1e-6);
    auto prev = torch::zeros({6}, torch::kFloat64);
    for (std::int64_t k = 1; k <= V; ++k) {
        const auto s = stats_for(p, q, {0, 1, 2, 3, 4, 5}, k).kld;
        EXPECT_TRUE((s <= exact + 1e-6).all().item<bool>()) << k;
        EXPECT_TRUE((s >= prev - 1e-6).all().item<bool>()) << k;
        EXPECT_TRUE((s >= -1e-7).all().item<bool>()) << k;
        prev = s;
    }
    EXPECT_LT((prev - exact).abs().max().item<double>(), 1e-9);
    // identical distributions: zero for every k
    for (std::int64_t k : {1, 7, 50}) {
        EXPECT_LT(stats_for(p, p, {0, 1, 2, 3, 4, 5}, k).kld.abs().max().item<double>(), 1e-6);
    }
}

// Per-token values and block sums -> the summary: block t interval, percentiles, same-top rate.
TEST(KldSummary, BlocksGiveTheIntervalAndTokensThePercentiles) {
    std::vector<report::KldBlock> blocks = {{2, 0.3, 1, 0.1, 0.01}, {2, 0.1, 2, -0.1, 0.01}, {1, 0.2, 0, 0.0, 0.0}};
    const auto r = summarize_kld(blocks, {0.1, 0.2, 0.05, 0.05, 0.2}, {0.1, 0.0, -0.1, 0.0, 0.0}, 0.0);
    EXPECT_EQ(r.tokens, 5);
    EXPECT_NEAR(r.kld_mean, 0.6 / 5, 1e-12);
    // cluster SE: residuals y_c - mean t_c = .3-.24, .1-.24, .2-.12 -> .06, -.14, .08;
    // sqrt(3/2 * (.0036 + .0196 + .0064)) / 5
    const double se = std::sqrt(1.5 * (0.0036 + 0.0196 + 0.0064)) / 5;
    EXPECT_NEAR(r.kld_se, se, 1e-12);
    EXPECT_NEAR(r.kld_ci_upper - r.kld_mean, 4.302652729749464 * se, 1e-9);  // t_{0.975, 2}
    EXPECT_NEAR(r.same_top, 0.6, 1e-12);
    EXPECT_NEAR(r.delta_p_rms, std::sqrt(0.02 / 5), 1e-12);
    ASSERT_EQ(r.kld_percentiles.size(), 13u);
    EXPECT_DOUBLE_EQ(r.kld_percentiles.front().value, 0.05);
    EXPECT_DOUBLE_EQ(r.kld_percentiles[6].value, 0.1);  // median of .05 .05 .1 .2 .2
    EXPECT_DOUBLE_EQ(r.kld_percentiles.back().value, 0.2);
    EXPECT_TRUE(r.kld_percentiles[10].undersampled);
    EXPECT_THROW(summarize_kld(blocks, {0.1}, {0.1}, 0.0), Error);
}

class KldModel : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::path(::testing::TempDir()) / ("qbench_kld_" + std::to_string(::getpid()) + "_" +
                                                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        expected_ = nlohmann::json::parse(read_file(qbench::testing::fixtures_dir() / "kld" / "expected.json"));
    }
    void TearDown() override { fs::remove_all(dir_); }

    // Runs the baseline (writing the base file with top-k) and the perturbed variant (scoring).
    std::optional<report::KldResult> run(const std::string& protocol, std::int64_t k, std::string* error = nullptr) {
        using qbench::testing::fixtures_dir;
        auto base = model::Decoder::load(qbench::testing::model_fixture("llama_linear_bias") / "f32",
                                         {torch::kCPU, torch::kFloat32, {}});
        auto var = model::Decoder::load(fixtures_dir() / "kld" / "perturbed", {torch::kCPU, torch::kFloat32, {}});
        auto input = load_perplexity_input(fixtures_dir() / "models" / "data.jsonl", {});
        PerplexityOptions o;
        o.protocol = protocol;
        o.max_length = 16;
        o.stride = 6;
        o.batch_size = 3;  // batches of windows: the observer must still see them in order
        o.chunk_bos = 1;
        KldFileInfo info{"base", protocol, "sha", 16, protocol == "sliding" ? 6 : 0, 0, 96, k};
        const auto path = dir_ / "base.kldbase";
        {
            KldBaseWriter w(path, info);
            evaluate_perplexity(*base, input, o, &w);
            w.finish();
        }
        const auto read = read_kld_info(path);
        EXPECT_EQ(read.tokens, expected_[protocol]["tokens"].get<std::int64_t>());
        EXPECT_EQ(read.windows, expected_[protocol]["windows"].get<std::int64_t>());
        // File size: header + per window 24 bytes + per token 12 bytes + k entries.
        KldScorer scorer(path, info);
        o.batch_size = 1;
        evaluate_perplexity(*var, input, o, &scorer);
        auto r = scorer.finish();
        if (error) *error = scorer.error();
        return r;
    }

    fs::path dir_;
    nlohmann::json expected_;
};

// Tolerances: qbench runs float32 (logits within ~1e-5 of float64 on these fixtures, see
// perplexity_test), the reference float64; a per-token KLD term p (ln p − ln q) then moves by
// ~1e-5 · p, so the means (~0.05) agree to 1e-5 absolute. same_top is compared exactly: the
// smallest top-1/top-2 log-prob margin of either model on these tokens is 3e-4 (checked when the
// fixtures were made), far above float32 error.
TEST_F(KldModel, ExactKldMatchesTransformersOnBothProtocols) {
    for (const std::string protocol : {"sliding", "llama.cpp"}) {
        const auto& e = expected_[protocol];
        auto r = run(protocol, 96);
        ASSERT_TRUE(r.has_value()) << protocol;
        EXPECT_TRUE(r->exact);
        EXPECT_EQ(r->top_k, 96);
        EXPECT_EQ(r->tokens, e["tokens"].get<std::int64_t>());
        EXPECT_NEAR(r->kld_mean, e["exact"]["mean"].get<double>(), 1e-5) << protocol;
        EXPECT_EQ(r->blocks.size(), e["exact"]["block_sums"].size());
        for (std::size_t b = 0; b < r->blocks.size(); ++b) {
            EXPECT_NEAR(r->blocks[b].kld_sum, e["exact"]["block_sums"][b].get<double>(), 1e-4) << protocol << " " << b;
        }
        EXPECT_NEAR(r->kld_percentiles[6].value, e["exact"]["median"].get<double>(), 1e-5);
        EXPECT_NEAR(r->kld_percentiles[8].value, e["exact"]["p90"].get<double>(), 1e-5);
        EXPECT_NEAR(r->kld_percentiles.back().value, e["exact"]["max"].get<double>(), 1e-5);
        EXPECT_NEAR(r->same_top * static_cast<double>(r->tokens), e["same_top"].get<double>(), 1e-9) << protocol;
        EXPECT_NEAR(r->delta_p_mean, e["delta_p_mean"].get<double>(), 1e-6);
        EXPECT_NEAR(r->delta_p_rms, e["delta_p_rms"].get<double>(), 1e-6);
        EXPECT_LT(r->kld_ci_lower, r->kld_mean);
        EXPECT_GT(r->kld_ci_upper, r->kld_mean);
        EXPECT_DOUBLE_EQ(r->base_tail_mass_mean, 0.0);
    }
}

TEST_F(KldModel, TopKPlusTailMatchesTheReferenceLowerBound) {
    auto r = run("sliding", expected_["top_k"].get<std::int64_t>());
    ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(r->exact);
    EXPECT_NEAR(r->kld_mean, expected_["sliding"]["top8"]["mean"].get<double>(), 1e-5);
    EXPECT_LT(r->kld_mean, expected_["sliding"]["exact"]["mean"].get<double>());
    EXPECT_GT(r->base_tail_mass_mean, 0.0);
    // same-top and Δp do not depend on k
    EXPECT_NEAR(r->same_top * static_cast<double>(r->tokens), expected_["sliding"]["same_top"].get<double>(), 1e-9);
    EXPECT_NEAR(r->delta_p_mean, expected_["sliding"]["delta_p_mean"].get<double>(), 1e-6);
}

TEST_F(KldModel, OtherWindowsAndBrokenFilesAreRefused) {
    KldFileInfo info{"base", "sliding", "sha", 16, 6, 0, 96, 8};
    const auto path = dir_ / "x.kldbase";
    {
        KldBaseWriter w(path, info);  // never finished: no file, no temp file left
    }
    EXPECT_FALSE(fs::exists(path));
    EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
    write_file_atomic(path, "QBKLD01\n garbage");
    try {
        read_kld_info(path);
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("x.kldbase"), std::string::npos) << e.what();
    }
    {
        KldBaseWriter w(path, info);
        w.finish();
    }
    auto other = info;
    other.max_length = 32;
    EXPECT_THROW({ KldScorer bad(path, other); }, Error);
    // a run over windows the file does not hold: no result, a reason
    KldScorer s(path, info);
    const std::vector<float> logp(2 * 96, -std::log(96.0f));
    const std::vector<float> target_logp(2, -std::log(96.0f));
    Window w{{1, 2, 3}, 1, 0};
    lm::WindowScores scores;
    scores.positions = 2;
    scores.vocab_size = 96;
    scores.targets = std::span<const std::int32_t>(w.ids.data() + 1, 2);
    scores.target_logp = target_logp;
    scores.k = 96;
    scores.logp = logp;
    s.window(0, w, scores);
    EXPECT_FALSE(s.finish().has_value());
    EXPECT_NE(s.error().find("ends before window 0"), std::string::npos) << s.error();
}


// A variant that lists only its top-k log-probs (a server) against a base file's rows.
struct TopkScores {
    std::vector<std::int32_t> targets, ids;
    std::vector<float> target_logp, logp;
    lm::WindowScores view(std::int64_t positions, std::int64_t vocab, std::int64_t k) const {
        lm::WindowScores s;
        s.positions = positions;
        s.vocab_size = vocab;
        s.targets = targets;
        s.target_logp = target_logp;
        s.k = k;
        s.top_ids = ids;
        s.logp = logp;
        return s;
    }
};

TopkScores topk_of(const torch::Tensor& q, const std::vector<std::int64_t>& targets, std::int64_t k) {
    TopkScores t;
    auto [values, ids] = torch::topk(q, k, 1, true, true);
    for (std::int64_t i = 0; i < q.size(0); ++i) {
        t.targets.push_back(static_cast<std::int32_t>(targets[static_cast<std::size_t>(i)]));
        t.target_logp.push_back(q[i][targets[static_cast<std::size_t>(i)]].item<float>());
        for (std::int64_t j = 0; j < k; ++j) {
            t.ids.push_back(static_cast<std::int32_t>(ids[i][j].item<std::int64_t>()));
            t.logp.push_back(values[i][j].item<float>());
        }
    }
    return t;
}

// p = (.5, .3, .2), q = (.45, .35, .2), true token 2, the variant lists its top 1 (token 0):
// the known cells are {0, 2}, the rest {1}: .5 ln(.5/.45) + .2 ln 1 + .3 ln(.3/.35) (a one-token
// rest bucket, so here the bound is the exact KL).
// Above 4096 tokens the whole vocabulary is kept in llama.cpp's 16-bit packing (2 bytes per
// entry): the file is that size, and each token's KLD, same-top and delta p equal llama.cpp's
// own definitions on the packed row (llamacpp_token_stats, itself checked against a float64
// brute force in llamacpp_kld_test) to 1e-6 (float32 vs float64 sums over 5000 terms), and the
// exact float32 KLD to 2e-3 nats: each packed ln p is within scale/2 <= 16/65535/2 = 1.2e-4 of
// its value (a relative error of p of that size on the KLD's p ln(p/q) terms, KLD ~ 1 here) and
// the entries below ln p = -16 that llama.cpp drops carry at most 5000 e^-16 = 5.6e-4 of mass.
TEST(KldDense16, FullVocabularyInTwoBytesPerEntryAsLlamaCppReadsIt) {
    const std::int64_t V = 5000, T = 6;
    EXPECT_EQ(default_kld_top_k(V), V);
    EXPECT_EQ(kld_dense_storage(V), "u16");
    EXPECT_EQ(kld_dense_storage(4096), "f32");
    const fs::path dir = fs::path(::testing::TempDir()) / ("qbench_kld16_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const auto path = dir / "b.kldbase";
    torch::manual_seed(7);
    auto base = torch::log_softmax(3.0 * torch::randn({T, V}), 1).to(torch::kFloat32).contiguous();
    auto var = torch::log_softmax(torch::log_softmax(3.0 * torch::randn({T, V}), 1) * 0.5 + base, 1)
                   .to(torch::kFloat32).contiguous();
    std::vector<std::int32_t> ids(T + 1);
    for (std::int64_t i = 0; i <= T; ++i) ids[i] = static_cast<std::int32_t>((i * 977) % V);
    Window w{ids, 1, 0};
    auto scores_of = [&](const torch::Tensor& lp, std::vector<float>& tl) {
        tl.resize(T);
        for (std::int64_t i = 0; i < T; ++i) tl[i] = lp[i][ids[i + 1]].item<float>();
        lm::WindowScores s;
        s.positions = T;
        s.vocab_size = V;
        s.targets = std::span<const std::int32_t>(ids.data() + 1, T);
        s.target_logp = tl;
        s.k = V;
        s.logp = std::span<const float>(lp.data_ptr<float>(), static_cast<std::size_t>(T * V));
        return s;
    };
    KldFileInfo info{"base", "sliding", "sha", 16, 6, 0, V, V};
    std::vector<float> tb, tv;
    {
        KldBaseWriter writer(path, info);
        writer.window(0, w, scores_of(base, tb));
        writer.finish();
    }
    const auto read = read_kld_info(path);
    EXPECT_EQ(read.storage, "u16");
    EXPECT_EQ(read.tokens, T);
    EXPECT_GE(static_cast<std::int64_t>(fs::file_size(path)), T * llamacpp_row_width(V) * 2);
    EXPECT_LT(static_cast<std::int64_t>(fs::file_size(path)), T * llamacpp_row_width(V) * 2 + 4096);
    KldScorer scorer(path, info);
    scorer.window(0, w, scores_of(var, tv));
    const auto records = scorer.finish_records();
    ASSERT_TRUE(records.has_value()) << scorer.error();
    ASSERT_EQ(records->windows.size(), 1u);
    const auto& rec = records->windows[0];
    const auto exact = token_stats(reduce_base(base, torch::tensor(std::vector<std::int64_t>(ids.begin() + 1, ids.end())), V), var);
    std::int64_t same = 0;
    for (std::int64_t i = 0; i < T; ++i) {
        std::vector<float> row_logp(base.data_ptr<float>() + i * V, base.data_ptr<float>() + (i + 1) * V);
        std::vector<std::uint16_t> row(static_cast<std::size_t>(llamacpp_row_width(V)));
        pack_log_probs(row_logp, row);
        const auto ref = llamacpp_token_stats({var.data_ptr<float>() + i * V, static_cast<std::size_t>(V)}, row, ids[i + 1]);
        EXPECT_NEAR(rec.kld[i], ref.kld, 1e-6 * std::max(1.0, ref.kld)) << i;
        EXPECT_NEAR(rec.kld[i], exact.kld[i].item<double>(), 2e-3) << i;
        EXPECT_GT(rec.kld[i], 0.05) << i;  // the pair differs: the check above is not 0 vs 0
        same += ref.same_top ? 1 : 0;
    }
    EXPECT_EQ(rec.same_top, same);
    fs::remove_all(dir);
}

// The fallback when the full file would not fit: a token count no disk holds gets the top-128
// and a reason naming the sizes; a small one keeps the whole vocabulary.
TEST(KldDense16, TopKFallsBackOnlyWhenTheFileWouldNotFitOnTheDisk) {
    KldFileInfo info{"base", "sliding", "sha", 16, 6, 0, 50000, 50000};
    EXPECT_EQ(kld_base_bytes(info, 10), 10 * (12 + llamacpp_row_width(50000) * 2));
    const fs::path dir = ::testing::TempDir();
    std::string why;
    EXPECT_EQ(kld_top_k_for_disk(info, 10, dir, &why), 50000);
    EXPECT_TRUE(why.empty()) << why;
    EXPECT_EQ(kld_top_k_for_disk(info, std::int64_t{1} << 40, dir, &why), 128);
    EXPECT_NE(why.find("GB free"), std::string::npos) << why;
}

TEST(KldTopk, HandComputedCoarsening) {
    const auto p = log_rows({{.5, .3, .2}});
    const auto q = log_rows({{.45, .35, .2}});
    const auto base = reduce_base(p, torch::tensor(std::vector<std::int64_t>{2}, torch::kInt64), 3);
    const auto v = topk_of(q, {2}, 1);
    const auto s = topk_token_stats(base, v.view(1, 3, 1));
    const double expected = .5 * std::log(.5 / .45) + .3 * std::log(.3 / .35);
    EXPECT_NEAR(s.kld[0].item<double>(), expected, 1e-6);
    EXPECT_NEAR(s.tail_mass[0].item<double>(), 0.3, 1e-6);
    EXPECT_TRUE(s.same_top[0].item<bool>());
    EXPECT_NEAR(s.delta_p[0].item<double>(), 0.0, 1e-7);
}

// On random distributions: never above the exact KL (dense base, or a base file that keeps only
// its top-K), equal to it when the listed tokens leave one token out, and same-top and delta-p
// equal to the exact statistics.
TEST(KldTopk, ALowerBoundThatIsExactWhenTheListCoversTheVocabulary) {
    torch::manual_seed(3);
    const std::int64_t T = 40, V = 30;
    const auto p = torch::log_softmax(2.0 * torch::randn({T, V}), 1);
    const auto q = torch::log_softmax(p + 0.7 * torch::randn({T, V}), 1);
    std::vector<std::int64_t> targets;
    for (std::int64_t i = 0; i < T; ++i) targets.push_back((i * 7) % V);
    const auto tt = torch::tensor(targets, torch::kInt64);
    const auto exact = token_stats(reduce_base(p, tt, V), q);
    for (const std::int64_t base_k : {V, std::int64_t{8}}) {
        const auto base = reduce_base(p, tt, base_k);
        for (const std::int64_t k : {std::int64_t{1}, std::int64_t{5}, std::int64_t{20}, V - 1}) {
            SCOPED_TRACE("base k " + std::to_string(base_k) + ", variant k " + std::to_string(k));
            const auto v = topk_of(q, targets, k);
            const auto s = topk_token_stats(base, v.view(T, V, k));
            for (std::int64_t i = 0; i < T; ++i) {
                const double lb = s.kld[i].item<double>(), full = exact.kld[i].item<double>();
                EXPECT_GE(lb, 0.0);
                EXPECT_LE(lb, full + 1e-6) << "position " << i;
                if (base_k == V && k == V - 1) EXPECT_NEAR(lb, full, 1e-5) << "position " << i;
                EXPECT_EQ(s.same_top[i].item<bool>(), exact.same_top[i].item<bool>()) << "position " << i;
                EXPECT_NEAR(s.delta_p[i].item<double>(), exact.delta_p[i].item<double>(), 1e-6);
            }
        }
    }
    // The bound tightens as the variant lists more tokens (on average over the positions).
    const auto base = reduce_base(p, tt, V);
    double prev = -1.0;
    for (const std::int64_t k : {std::int64_t{1}, std::int64_t{5}, std::int64_t{20}}) {
        const auto v = topk_of(q, targets, k);
        const double mean = topk_token_stats(base, v.view(T, V, k)).kld.mean().item<double>();
        EXPECT_GT(mean, prev) << "k " << k;
        prev = mean;
    }
    EXPECT_LT(prev, exact.kld.mean().item<double>());
}

}  // namespace
}  // namespace qbench::eval
