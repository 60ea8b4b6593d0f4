// Perplexity (every protocol), KLD, a multiple-choice task, a generative task and the end-to-end
// scenario run through lm::LanguageModel alone, on a scripted model (tests/support), against
// values computed here in double from the scripted table. Float32 log-probs cross the seam, so
// the tolerances are float32 rounding of log-probs of magnitude < 10 (about 1e-6 each).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "qbench/eval/kld.hpp"
#include "qbench/eval/perplexity.hpp"
#include "qbench/eval/tasks/evaluate.hpp"
#include "qbench/eval/tasks/task.hpp"
#include "qbench/perf/scenarios.hpp"
#include "qbench/util/error.hpp"
#include "support/scripted_model.hpp"

namespace qbench::eval {
namespace {

namespace fs = std::filesystem;
using testing::ScriptedModel;

PerplexityInput scripted_input() {
    PerplexityInput in;
    std::uint32_t x = 7;
    for (int d = 0; d < 3; ++d) {
        TokenIds doc;
        for (int i = 0; i < 40 + 7 * d; ++i) {
            x = x * 1103515245u + 12345u;
            doc.push_back(static_cast<std::int32_t>((x >> 16) % ScriptedModel::kVocab));
        }
        in.documents.push_back(doc);
        in.plain.push_back(doc);
        in.joined.insert(in.joined.end(), doc.begin(), doc.end());
    }
    return in;
}

PerplexityOptions options_for(const std::string& protocol) {
    PerplexityOptions o;
    o.protocol = protocol;
    o.max_length = 16;
    o.stride = 8;
    o.batch_size = 3;
    o.chunk_bos = 1;
    o.prefix_token = 0;
    return o;
}

fs::path temp_dir(const std::string& name) {
    auto d = fs::temp_directory_path() / ("qbench_seam_" + name + "_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
}

void write(const fs::path& p, const std::string& text) {
    std::ofstream(p) << text;
}

TEST(Seam, PerplexityOfEveryProtocolIsExpOfTheMeanScriptedNll) {
    ScriptedModel model(1);
    const auto in = scripted_input();
    for (const auto& protocol : perplexity_protocols()) {
        const auto o = options_for(protocol);
        std::size_t blocks = 0;
        const auto windows = make_windows(in, o, &blocks);
        double nll = 0;
        std::int64_t n = 0;
        std::vector<double> block_nll(blocks, 0.0);
        for (const auto& w : windows) {
            for (std::size_t t = static_cast<std::size_t>(w.score_from); t < w.ids.size(); ++t) {
                const double x = -model.logp(w.ids[t - 1], w.ids[t]);
                nll += x;
                block_nll[w.block] += x;
                ++n;
            }
        }
        ASSERT_GT(n, 20) << protocol;
        const auto r = evaluate_perplexity(model, in, o);
        EXPECT_EQ(r.tokens_scored, n) << protocol;
        EXPECT_NEAR(r.nll_sum, nll, 1e-6 * n) << protocol;
        EXPECT_NEAR(r.ppl / std::exp(nll / static_cast<double>(n)), 1.0, 1e-6) << protocol;
        ASSERT_EQ(r.blocks.size(), blocks) << protocol;
        for (std::size_t b = 0; b < blocks; ++b) EXPECT_NEAR(r.blocks[b].nll_sum, block_nll[b], 1e-5) << protocol;
    }
}

// KLD(base || variant) of two scripted models, exact (k = vocab): the mean over scored
// positions of Σ p ln(p / q), the same-top rate and Δp of the true token.
TEST(Seam, KldOfTwoScriptedModelsMatchesTheDirectSum) {
    ScriptedModel base(1), variant(2);
    const auto in = scripted_input();
    const auto o = options_for("sliding");
    const auto path = temp_dir("kld") / "base.kldbase";
    KldFileInfo info;
    info.baseline = "base";
    info.protocol = o.protocol;
    info.max_length = o.max_length;
    info.stride = o.stride;
    info.vocab_size = ScriptedModel::kVocab;
    info.top_k = ScriptedModel::kVocab;
    {
        KldBaseWriter w(path, info);
        evaluate_perplexity(base, in, o, &w);
        w.finish();
    }
    KldScorer scorer(path, info);
    evaluate_perplexity(variant, in, o, &scorer);
    const auto k = scorer.finish();
    ASSERT_TRUE(k) << scorer.error();

    double kld = 0, same = 0, dp = 0;
    std::int64_t n = 0;
    for (const auto& w : make_windows(in, o, nullptr)) {
        for (std::size_t t = static_cast<std::size_t>(w.score_from); t < w.ids.size(); ++t) {
            const auto prev = w.ids[t - 1];
            for (std::int32_t v = 0; v < ScriptedModel::kVocab; ++v) {
                kld += std::exp(base.logp(prev, v)) * (base.logp(prev, v) - variant.logp(prev, v));
            }
            same += base.argmax(prev) == variant.argmax(prev) ? 1 : 0;
            dp += std::exp(variant.logp(prev, w.ids[t])) - std::exp(base.logp(prev, w.ids[t]));
            ++n;
        }
    }
    EXPECT_TRUE(k->exact);
    EXPECT_EQ(k->tokens, n);
    EXPECT_GT(kld / n, 0.1);  // two different tables: a divergence far from 0
    EXPECT_NEAR(k->kld_mean, kld / n, 1e-5);
    EXPECT_DOUBLE_EQ(k->same_top, same / n);
    EXPECT_NEAR(k->delta_p_mean, dp / n, 1e-6);
}

// A model that returns only the top 20 log-probs (a served model's limit) cannot feed KLD, and
// perplexity says so instead of computing a wrong divergence.
TEST(Seam, KldRefusesAModelWithoutFullDistributions) {
    ScriptedModel base(1, 20);
    const auto in = scripted_input();
    const auto o = options_for("sliding");
    KldFileInfo info;
    info.vocab_size = ScriptedModel::kVocab;
    info.top_k = ScriptedModel::kVocab;
    KldBaseWriter w(temp_dir("kld20") / "b.kldbase", info);
    try {
        evaluate_perplexity(base, in, o, &w);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kBadInput);
        EXPECT_NE(std::string(e.what()).find("returns at most the top 20"), std::string::npos) << e.what();
    }
    // Perplexity alone needs only the targets' log-probs.
    EXPECT_GT(evaluate_perplexity(base, in, o).tokens_scored, 0);
}

TEST(Seam, MultipleChoiceTaskPicksTheChoiceWithTheHighestScriptedLoglikelihood) {
    ScriptedModel model(3);
    const auto dir = temp_dir("mc");
    const std::vector<std::string> qs{"ab", "cd", "ef", "gh", "ij", "kl"};
    const std::vector<std::vector<std::string>> cs{{"xy", "zw", "mn"}, {"pq", "rs", "tu"}};
    std::string jsonl;
    double right = 0;
    std::vector<std::vector<double>> expected;
    for (std::size_t i = 0; i < qs.size(); ++i) {
        const auto& c = cs[i % 2];
        jsonl += "{\"q\":\"" + qs[i] + "\",\"c\":[\"" + c[0] + "\",\"" + c[1] + "\",\"" + c[2] + "\"],\"g\":1}\n";
        std::vector<double> ll;
        for (const auto& choice : c) {
            // lm-eval's target delimiter " " starts the continuation.
            double x = 0;
            auto prev = ScriptedModel::token(qs[i].back());
            for (char ch : " " + choice) {
                x += model.logp(prev, ScriptedModel::token(ch));
                prev = ScriptedModel::token(ch);
            }
            ll.push_back(x);
        }
        right += (std::max_element(ll.begin(), ll.end()) - ll.begin()) == 1 ? 1 : 0;
        expected.push_back(ll);
    }
    write(dir / "test.jsonl", jsonl);
    write(dir / "mc.yaml", "name: mc\noutput_type: multiple_choice\ndata: test.jsonl\ndoc_to_text: '{{q}}'\n"
                           "doc_to_target: '{{g}}'\ndoc_to_choice: '{{c}}'\nmetrics: [{name: acc}]\n");
    std::vector<tasks::ItemRecord> items;
    tasks::TaskRunOptions o;
    o.on_item = [&](const tasks::ItemRecord& r) { items.push_back(r); };
    const auto r = tasks::evaluate_task(tasks::load_task(dir / "mc.yaml"), model, o);
    ASSERT_EQ(items.size(), qs.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
        ASSERT_EQ(items[i].loglikelihoods.size(), 3u);
        for (int j = 0; j < 3; ++j) EXPECT_NEAR(items[i].loglikelihoods[j], expected[i][j], 1e-5) << i << " " << j;
    }
    ASSERT_FALSE(r.metrics.empty());
    EXPECT_EQ(r.metrics[0].name, "acc");
    EXPECT_EQ(r.metrics[0].n, static_cast<std::int64_t>(qs.size()));
    EXPECT_DOUBLE_EQ(r.metrics[0].value, right / static_cast<double>(qs.size()));
}

TEST(Seam, GenerativeTaskScoresTheScriptedGreedyText) {
    ScriptedModel model(4);
    const auto dir = temp_dir("gen");
    // Item 0's answer is the greedy continuation of its prompt (exact match 1), item 1's is not.
    const std::string greedy0 = ScriptedModel::decode(model.greedy(ScriptedModel::token('b'), 5));
    std::string wrong = ScriptedModel::decode(model.greedy(ScriptedModel::token('d'), 5));
    wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
    write(dir / "test.jsonl", "{\"q\":\"ab\",\"a\":\"" + greedy0 + "\"}\n{\"q\":\"cd\",\"a\":\"" + wrong + "\"}\n");
    write(dir / "g.yaml", "name: g\noutput_type: generate_until\ndata: test.jsonl\ndoc_to_text: '{{q}}'\n"
                          "doc_to_target: '{{a}}'\ngeneration: {until: ['\\n\\n'], max_gen_toks: 5}\n"
                          "metrics: [{name: exact_match}]\n");
    std::vector<tasks::ItemRecord> items;
    tasks::TaskRunOptions o;
    o.on_item = [&](const tasks::ItemRecord& r) { items.push_back(r); };
    const auto r = tasks::evaluate_task(tasks::load_task(dir / "g.yaml"), model, o);
    ASSERT_EQ(items.size(), 2u);
    ASSERT_EQ(items[0].responses.size(), 1u);
    EXPECT_EQ(items[0].responses[0], greedy0);
    ASSERT_FALSE(r.metrics.empty());
    EXPECT_EQ(r.metrics[0].n, 2);
    EXPECT_DOUBLE_EQ(r.metrics[0].value, 0.5);
}

// Scripted timestamps: token k at (k + 1) ms, so TTFT = queue + 1 ms, TPOT = ITL = 1 ms.
TEST(Seam, EndToEndScenarioTimesTheScriptedTokens) {
    ScriptedModel model(5);
    perf::ThroughputOptions o;
    o.max_new_tokens = 4;
    o.requests = 3;
    o.warmup = 1;
    o.arrival = "sequential";
    const auto r = perf::run_end_to_end(model, {{1, 2, 3}, {4, 5}}, o);
    EXPECT_EQ(model.generations, 4);  // one warm-up, three requests
    ASSERT_EQ(r.requests.size(), 3u);
    for (const auto& q : r.requests) {
        EXPECT_EQ(q.output_tokens, 4);
        EXPECT_GE(q.queue_ms, 0.0);
        EXPECT_LT(q.queue_ms, 50.0);
        EXPECT_NEAR(q.ttft_ms - q.queue_ms, 1.0, 1e-9);
        EXPECT_NEAR(q.e2e_ms - q.queue_ms, 4.0, 1e-9);
        EXPECT_NEAR(q.tpot_ms, 1.0, 1e-9);
        ASSERT_EQ(q.itl_ms.size(), 3u);
        for (double x : q.itl_ms) EXPECT_NEAR(x, 1.0, 1e-9);
    }
    EXPECT_EQ(r.requests[1].prompt_tokens, 2);
    EXPECT_EQ(r.itl.n, 9);
    EXPECT_NEAR(r.tpot.mean_ms, 1.0, 1e-9);
}

}  // namespace
}  // namespace qbench::eval
