// Task machinery: definitions, prompts and few-shot sampling as lm-eval builds them, filters and
// metrics, loglikelihood scoring and greedy generation on a fixture model (batch-size invariance,
// shared prefixes, left truncation), and whole tasks on a scripted model and on the demo model.
#include <gtest/gtest.h>

#include <limits>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "qbench/eval/local_model.hpp"
#include "qbench/eval/model_env.hpp"
#include "qbench/eval/tasks/decoder_lm.hpp"
#include "qbench/eval/tasks/evaluate.hpp"
#include "qbench/eval/tasks/scoring.hpp"
#include "qbench/eval/tasks/task.hpp"
#include "qbench/model/decoder.hpp"
#include "qbench/tokenizer/tokenizer.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/hash.hpp"
#include "support/fixtures.hpp"

namespace qbench::eval::tasks {
namespace {

namespace fs = std::filesystem;

// One token per character for the vocab-96 fixture models: '\n' -> 0, BOS 1, EOS 2,
// ' '..'|' -> 3..95, anything else -> '?'.
class CharTokenizer : public tokenizer::Tokenizer {
public:
    explicit CharTokenizer(bool add_bos = true) {
        special_.bos = 1;
        special_.eos = 2;
        special_.add_bos = add_bos;
    }
    std::vector<std::int32_t> encode(std::string_view text, bool add_special) const override {
        std::vector<std::int32_t> ids;
        if (add_special && special_.add_bos) ids.push_back(1);
        for (char c : text) ids.push_back(id_of(c));
        return ids;
    }
    std::string decode(const std::vector<std::int32_t>& ids, bool skip_special) const override {
        std::string s;
        for (auto id : ids) {
            if (id == 1 || id == 2) {
                if (!skip_special) s += id == 1 ? "<s>" : "</s>";
            } else {
                s += token_bytes(id);
            }
        }
        return s;
    }
    std::string token_bytes(std::int32_t id) const override {
        if (id == 0) return "\n";
        return std::string(1, static_cast<char>(id + 29));
    }
    std::int64_t vocab_size() const override { return 96; }
    bool is_special(std::int32_t id) const override { return id == 1 || id == 2; }

private:
    static std::int32_t id_of(char c) {
        if (c == '\n') return 0;
        if (c >= ' ' && c <= '|') return c - 29;
        return '?' - 29;
    }
};

fs::path temp_dir(const std::string& name) {
    const fs::path d = fs::temp_directory_path() / ("qbench-tasks-" + name + "-" + std::to_string(getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

void write(const fs::path& p, const std::string& text) {
    std::ofstream(p, std::ios::binary) << text;
}

// ---- definitions, prompts, few-shot ------------------------------------------------------------

TEST(TaskDefinition, LoadsYamlAndBuildsLmEvalPromptLayout) {
    const auto dir = temp_dir("layout");
    write(dir / "train.jsonl", R"({"q":"one","a":1,"choices":["x","y"]}
{"q":"two","a":0,"choices":["u","v"]}
)");
    write(dir / "test.jsonl", R"({"q":"three","a":1,"choices":["p","q r"]}
)");
    write(dir / "t.yaml", R"(name: t
output_type: multiple_choice
data: test.jsonl
fewshot_data: train.jsonl
num_fewshot: 2
description: "Desc.\n\n"
doc_to_text: "Q: {{q}}\nA:"
doc_to_target: "{{a}}"
doc_to_choice: "{{choices}}"
metrics: [{name: acc}, {name: acc_norm}]
)");
    const Task t = load_task(dir / "t.yaml");
    ASSERT_EQ(t.docs.size(), 1u);
    FewshotSampler sampler(t);
    const auto shots = sampler.sample(t.docs[0]);
    ASSERT_EQ(shots.size(), 2u);
    // description + text + " " + choices[gold] + "\n\n" per shot, then the item without delimiter.
    EXPECT_EQ(build_context(t, t.docs[0], shots), "Desc.\n\nQ: one\nA: y\n\nQ: two\nA: u\n\nQ: three\nA:");
    EXPECT_EQ(doc_choices(t, t.docs[0]), (std::vector<std::string>{"p", "q r"}));
    EXPECT_EQ(doc_gold(t, t.docs[0], doc_choices(t, t.docs[0])), (std::vector<std::int64_t>{1}));
}

TEST(TaskDefinition, ErrorsNameFileLineAndKey) {
    const auto dir = temp_dir("errors");
    write(dir / "bad.yaml", "name: t\noutput_type: multiple_choise\ndata: x.jsonl\ndoc_to_text: a\ndoc_to_target: b\n"
                            "metrics: [{name: acc}]\n");
    try {
        parse_task_definition(dir / "bad.yaml");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("bad.yaml:2: output_type"), std::string::npos) << e.what();
    }
    write(dir / "nodata.yaml", "name: t\noutput_type: generate_until\ndata: missing.jsonl\ndoc_to_text: a\n"
                               "doc_to_target: b\nmetrics: [{name: exact_match}]\n");
    EXPECT_THROW(load_task(dir / "nodata.yaml"), Error);
}

TEST(TaskDefinition, TemplatesRenderFieldsIndicesAndStrip) {
    const json doc = json::parse(R"({"q":"  hi  ","c":["a","b"],"m":{"k":3}})");
    EXPECT_EQ(render_text("{{q|strip}}?{{c[1]}}{{m.k}}", doc), "hi?b3");
    EXPECT_EQ(render("{{c}}", doc), json::parse(R"(["a","b"])"));
    EXPECT_EQ(render("{{m.k}}", doc), json(3));
    EXPECT_THROW(render("{{nope}}", doc), Error);
}

Task numbered_task(std::size_t n, std::int64_t shots, const std::string& sampler, bool from_test) {
    Task t;
    t.def.name = "n";
    t.def.output_type = "generate_until";
    t.def.num_fewshot = shots;
    t.def.fewshot_sampler = sampler;
    t.def.doc_to_text = "{{i}}";
    t.def.doc_to_target = "{{i}}";
    for (std::size_t i = 0; i < n; ++i) t.docs.push_back({static_cast<std::int64_t>(i), json{{"i", i}}, ""});
    t.fewshot_docs = t.docs;
    t.fewshot_from_test = from_test;
    return t;
}

std::vector<int> ids_of(const std::vector<const Doc*>& shots) {
    std::vector<int> out;
    for (const auto* d : shots) out.push_back(d->fields["i"].get<int>());
    return out;
}

TEST(FewshotSampler, RandomMatchesPythonRandomSampleWithOneGeneratorAcrossItems) {
    // Python: r = random.Random(1234); [r.sample(range(10), 3) for _ in range(3)]
    //   -> [[7, 1, 0], [1, 0, 9], [1, 5, 3]]
    const Task t = numbered_task(10, 3, "random", false);
    FewshotSampler s(t);
    EXPECT_EQ(ids_of(s.sample(t.docs[0])), (std::vector<int>{7, 1, 0}));
    EXPECT_EQ(ids_of(s.sample(t.docs[1])), (std::vector<int>{1, 0, 9}));
    EXPECT_EQ(ids_of(s.sample(t.docs[2])), (std::vector<int>{1, 5, 3}));
    // The set-based branch (n > setsize): random.Random(1234).sample(range(100), 6) x 2.
    const Task big = numbered_task(100, 6, "random", false);
    FewshotSampler b(big);
    EXPECT_EQ(ids_of(b.sample(big.docs[0])), (std::vector<int>{99, 56, 14, 0, 11, 74}));
    EXPECT_EQ(ids_of(b.sample(big.docs[1])), (std::vector<int>{4, 85, 88, 10, 12, 98}));
}

TEST(FewshotSampler, PoolFromTheEvaluationSetDrawsOneMoreAndDropsTheItem) {
    const Task t = numbered_task(5, 2, "first_n", true);
    FewshotSampler s(t);
    EXPECT_EQ(ids_of(s.sample(t.docs[0])), (std::vector<int>{1, 2}));
    EXPECT_EQ(ids_of(s.sample(t.docs[3])), (std::vector<int>{0, 1}));
}

// ---- filters and metrics ------------------------------------------------------------------------

TEST(Scoring, Gsm8kStrictAndFlexibleExtractAsLmEval) {
    const std::vector<FilterStep> strict{{"regex", "#### (\\-?[0-9\\.\\,]+)", 0, "[invalid]"}, {"take_first", "", 0, ""}};
    const std::vector<FilterStep> flexible{{"regex", "(-?[$0-9.,]{2,})|(-?[0-9]+)", -1, "[invalid]"},
                                           {"take_first", "", 0, ""}};
    const std::string resp = "She has 3 apples and buys 12 more, so 15.\n#### 1,500";
    EXPECT_EQ(apply_filters(strict, resp), "1,500");
    EXPECT_EQ(apply_filters(flexible, resp), "1,500");
    EXPECT_EQ(apply_filters(strict, "The answer is 7"), "[invalid]");
    EXPECT_EQ(apply_filters(flexible, "The answer is 7"), "7");  // second group of the last match
    EXPECT_EQ(apply_filters(flexible, "costs $12.50."), "$12.50.");

    MetricConfig em;
    em.name = "exact_match";
    em.ignore_case = true;
    em.regexes_to_ignore = {",", "\\$", "(?s).*#### ", "\\.$"};
    EXPECT_EQ(exact_match(em, "1,500", "Long reasoning\nwith #### lines\n#### 1500"), 1.0);
    EXPECT_EQ(exact_match(em, "$12.50.", "#### 12.50"), 1.0);
    EXPECT_EQ(exact_match(em, "[invalid]", "#### 7"), 0.0);
    MetricConfig punct = em;
    punct.regexes_to_ignore = {};
    punct.ignore_punctuation = true;
    EXPECT_EQ(exact_match(punct, "Paris!", "paris"), 1.0);
}

TEST(Scoring, AccNormDividesByCharactersAndAccBytesByUtf8Bytes) {
    // "ab": -3 -> -1.5 per character and per byte; "éé" (2 characters, 4 bytes): -3.2 -> -1.6
    // per character, -0.8 per byte.
    const std::vector<double> lls{-3.0, -3.2};
    const std::vector<std::string> choices{"ab", "\xc3\xa9\xc3\xa9"};
    const auto s = score_choices(lls, choices, {1});
    EXPECT_EQ(s.pred, 0);
    EXPECT_EQ(s.pred_norm, 0);
    EXPECT_EQ(s.pred_bytes, 1);
    EXPECT_EQ(s.acc, 0.0);
    EXPECT_EQ(s.acc_norm, 0.0);
    EXPECT_EQ(s.acc_bytes, 1.0);
    EXPECT_EQ(code_points(choices[1]), 2);
}

TEST(Scoring, PassAtKIsTheUnbiasedEstimator) {
    EXPECT_DOUBLE_EQ(pass_at_k(1, 1, 1), 1.0);
    EXPECT_DOUBLE_EQ(pass_at_k(10, 0, 5), 0.0);
    EXPECT_NEAR(pass_at_k(10, 3, 1), 0.3, 1e-12);
    // 1 - C(7,5)/C(10,5) = 1 - 21/252
    EXPECT_NEAR(pass_at_k(10, 3, 5), 1.0 - 21.0 / 252.0, 1e-12);
    EXPECT_DOUBLE_EQ(pass_at_k(4, 2, 3), 1.0);  // n - c < k
    EXPECT_THROW(pass_at_k(3, 1, 4), Error);
}

// ---- loglikelihood on a fixture model -------------------------------------------------------------

std::unique_ptr<model::Decoder> fixture_model() {
    return model::Decoder::load(qbench::testing::model_fixture("llama_gqa_llama3") / "f32", model::LoadOptions{});
}

TEST(EncodePair, MovesTrailingSpaceAndSplitsAtTheContextLength) {
    const CharTokenizer tok;
    auto [ctx, cont] = encode_pair(tok, "Answer: ", "yes", 1, true);
    EXPECT_EQ(ctx, tok.encode("Answer:", true));
    EXPECT_EQ(cont, tok.encode(" yes", false));
    auto [c2, k2] = encode_pair(tok, "", "hi", 1, true);
    EXPECT_EQ(c2, (TokenIds{1}));
    EXPECT_EQ(k2, tok.encode("hi", false));
}

TEST(DecoderLM, MatchesADirectForwardAndIsIdenticalForBatchSizes1AndN) {
    const auto model = fixture_model();
    const CharTokenizer tok;
    const std::vector<LoglikelihoodRequest> reqs{{"Question: 2+2?\nAnswer:", " 4"},
                                                 {"Question: 2+2?\nAnswer:", " 5"},
                                                 {"Question: 2+2?\nAnswer:", " four"},
                                                 {"Q: capital of France\nA:", " Paris"},
                                                 {"Q: capital of France\nA:", " Rome"},
                                                 {"", "standalone"}};
    DecoderLM one(*model, tok, {1, 0, true});
    DecoderLM many(*model, tok, {4, 0, true});
    const auto a = one.loglikelihood(reqs);
    const auto b = many.loglikelihood(reqs);
    ASSERT_EQ(a.size(), reqs.size());
    for (std::size_t i = 0; i < reqs.size(); ++i) {
        EXPECT_NEAR(a[i].logprob, b[i].logprob, 1e-5) << i;
        EXPECT_EQ(a[i].is_greedy, b[i].is_greedy) << i;
        EXPECT_EQ(a[i].tokens, static_cast<std::int64_t>(reqs[i].continuation.size()));
    }
    // One token per character: the inputs of " 4" and " 5" (context + " ") are prefixes of the
    // input of " four" (context + " fou"), so one row serves all three; " Paris" and " Rome"
    // need a row each; "standalone" one. 6 requests -> 4 rows.
    EXPECT_EQ(one.rows_run(), 4);

    // Direct: log_softmax of the full forward at the continuation positions.
    auto [ctx, cont] = encode_pair(tok, reqs[3].context, reqs[3].continuation, 1, true);
    TokenIds all = ctx;
    all.insert(all.end(), cont.begin(), cont.end());
    auto ids = torch::tensor(std::vector<std::int64_t>(all.begin(), all.end() - 1)).unsqueeze(0);
    auto logp = torch::log_softmax(model->forward(ids)[0], -1);
    double expect = 0;
    for (std::size_t j = 0; j < cont.size(); ++j)
        expect += logp[static_cast<std::int64_t>(ctx.size() - 1 + j)][cont[j]].item<double>();
    EXPECT_NEAR(a[3].logprob, expect, 1e-5);
}

TEST(DecoderLM, LeftTruncatesToMaxLengthPlusOne) {
    const auto model = fixture_model();
    const CharTokenizer tok;
    const std::string long_ctx(200, 'a');
    DecoderLM lm(*model, tok, {2, 16, true});
    const auto r = lm.loglikelihood({{long_ctx, "bc"}, {std::string(15, 'a'), "bc"}});
    // Both read the last 16 tokens "aaaa...ab" before 'c' ... the 16-token window is the same.
    EXPECT_NEAR(r[0].logprob, r[1].logprob, 1e-5);
}

// Greedy generation runs in left-padded batches of model::generate; every prompt must get the
// text it gets alone (batch 1 takes the one-prompt path with its own cache), whatever the
// padding in front of it. Random fixture weights: the texts are noise but deterministic.
TEST(DecoderLM, GreedyGenerationIsIdenticalForBatchSizes1AndN) {
    const auto model = fixture_model();
    const CharTokenizer tok;
    const std::vector<std::string> prompts{"Q: 2+2?\nA:", "Question: what is the capital of France?\nAnswer:", "x",
                                           "Q: a much longer prompt than the others, padded least\nA:", "hi there",
                                           "Q: 7*6?\nA:"};
    GenerationOptions o;
    o.max_gen_toks = 12;
    o.until = {"e", "\n"};  // stop strings that random weights hit now and then
    DecoderLM one(*model, tok, {1, 0, true});
    DecoderLM three(*model, tok, {1, 0, true, 3});
    DecoderLM all(*model, tok, {8, 0, true});
    const auto a = one.generate(prompts, o);
    const auto b = three.generate(prompts, o);
    const auto c = all.generate(prompts, o);
    ASSERT_EQ(a.size(), prompts.size());
    EXPECT_EQ(a, b);
    EXPECT_EQ(a, c);
    bool any_text = false;
    for (const auto& t : a) any_text = any_text || !t.empty();
    EXPECT_TRUE(any_text);
    // Without stop strings every row runs max_gen_toks tokens (12 characters) in both paths.
    o.until.clear();
    const auto full_one = one.generate(prompts, o);
    EXPECT_EQ(full_one, all.generate(prompts, o));
}

// The same on a real generative task: the demo model on tinyworld_gsm (gsm8k's filters and
// exact_match), items scored with batch size 1 and 8 give identical records.
TEST(EvaluateTask, GenerativeTaskRecordsAreIdenticalForBatchSizes1AndN) {
    const fs::path model_dir = qbench::testing::source_dir() / "models" / "qbench-tiny";
    if (!fs::is_directory(model_dir)) GTEST_SKIP() << model_dir << " is absent";
    const ModelEnv env = load_model_env({model_dir, "cpu", "float32"});
    ASSERT_TRUE(env.tokenizer);
    const Task task = load_task(qbench::testing::source_dir() / "tasks" / "tinyworld_gsm.yaml");
    const auto run = [&](std::int64_t batch) {
        LocalModel lm(*env.decoder, env.tokenizer.get(), {"qbench-tiny", {batch, 0, true}});
        std::vector<json> records;
        TaskRunOptions o;
        o.limit = 12;
        o.on_item = [&](const ItemRecord& r) { records.push_back(r.to_json()); };
        const auto result = evaluate_task(task, lm, o);
        return std::make_pair(result.item_scores, records);
    };
    const auto [scores1, records1] = run(1);
    const auto [scores8, records8] = run(8);
    ASSERT_EQ(records1.size(), 12u);
    EXPECT_EQ(scores1, scores8);
    ASSERT_EQ(records8.size(), records1.size());
    for (std::size_t i = 0; i < records1.size(); ++i) EXPECT_EQ(records1[i], records8[i]) << i;
    // The trained model answers most of these: the comparison is not between empty strings.
    double right = 0;
    for (double v : scores1.at("exact_match,strict-match")) right += v;
    EXPECT_GT(right, 0.0);
}

// ---- whole tasks on a scripted model ------------------------------------------------------------

class ScriptedLM : public LanguageModel {
public:
    // Text-only double: tasks use loglikelihood and generate alone.
    lm::ModelDescription describe() const override { return {"scripted", 0, 0, "", "", "scripted"}; }
    lm::Capabilities capabilities() const override { return {}; }
    void score_windows(const std::vector<lm::Window>&, const lm::ScoreOptions&, lm::ScoreObserver&) override {
        throw Error(ErrorCode::kBadInput, "ScriptedLM scores no windows");
    }
    lm::TimedGeneration generate_tokens(const lm::TokenIds&, const lm::TokenGenerationOptions&) override {
        throw Error(ErrorCode::kBadInput, "ScriptedLM generates no tokens");
    }
    std::vector<LoglikelihoodResult> loglikelihood(const std::vector<LoglikelihoodRequest>& reqs) override {
        std::vector<LoglikelihoodResult> out;
        for (const auto& r : reqs) {
            // Prefers the continuation " right"; the longer the continuation, the lower.
            const double ll = r.continuation == " right" ? -1.0 : -2.0 - static_cast<double>(r.continuation.size());
            out.push_back({ll, false, 1});
        }
        return out;
    }
    std::vector<std::string> generate(const std::vector<std::string>& prompts, const GenerationOptions& o) override {
        last_options = o;
        std::vector<std::string> out;
        for (const auto& p : prompts) out.push_back(p.find("two") != std::string::npos ? " 1+1 = 2.\n#### 2" : " 3\n#### 4");
        return out;
    }
    GenerationOptions last_options;
};

// A model whose loglikelihood of item "b"'s second choice is NaN (what DecoderLM returns for
// non-finite logits, with its diagnosis).
class NanLM : public ScriptedLM {
public:
    std::vector<LoglikelihoodResult> loglikelihood(const std::vector<LoglikelihoodRequest>& reqs) override {
        auto out = ScriptedLM::loglikelihood(reqs);
        for (std::size_t i = 0; i < reqs.size(); ++i) {
            if (reqs[i].context == "b" && reqs[i].continuation == " right") {
                out[i].logprob = std::numeric_limits<double>::quiet_NaN();
                out[i].nonfinite = "float16 overflow in layer 3 (mlp block)";
            }
        }
        return out;
    }
};

TEST(EvaluateTask, ANonFiniteLoglikelihoodFailsTheTaskNamingTheItem) {
    const auto dir = temp_dir("mc_nan");
    write(dir / "test.jsonl", R"({"q":"a","c":["right","wrong"],"g":0}
{"q":"b","c":["wrong","right"],"g":0}
)");
    write(dir / "mc.yaml", "name: mc\noutput_type: multiple_choice\ndata: test.jsonl\ndoc_to_text: '{{q}}'\n"
                           "doc_to_target: '{{g}}'\ndoc_to_choice: '{{c}}'\nmetrics: [{name: acc}]\n");
    NanLM lm;
    try {
        evaluate_task(load_task(dir / "mc.yaml"), lm, TaskRunOptions{});
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kRuntime);
        EXPECT_STREQ(e.what(), "task 'mc' item 1 choice 1: the loglikelihood is nan: float16 overflow in layer 3 "
                               "(mlp block)");
    }
}

TEST(EvaluateTask, MultipleChoiceRecordsEveryItemAndAggregatesWithWilson) {
    const auto dir = temp_dir("mc");
    write(dir / "test.jsonl", R"({"q":"a","c":["right","wrong"],"g":0}
{"q":"b","c":["wrong","right"],"g":0}
{"q":"c","c":["right","no"],"g":0}
)");
    write(dir / "mc.yaml", "name: mc\noutput_type: multiple_choice\ndata: test.jsonl\ndoc_to_text: '{{q}}'\n"
                           "doc_to_target: '{{g}}'\ndoc_to_choice: '{{c}}'\nmetrics: [{name: acc}, {name: acc_norm}]\n");
    const Task t = load_task(dir / "mc.yaml");
    ScriptedLM lm;
    std::vector<ItemRecord> seen;
    TaskRunOptions o;
    o.items_per_chunk = 2;
    o.on_item = [&](const ItemRecord& r) { seen.push_back(r); };
    const auto r = evaluate_task(t, lm, o);
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[1].scores.at("acc"), 0.0);
    EXPECT_EQ(seen[1].loglikelihoods.size(), 2u);
    ASSERT_EQ(r.metrics.size(), 2u);
    EXPECT_EQ(r.metrics[0].name, "acc");
    EXPECT_NEAR(r.metrics[0].value, 2.0 / 3.0, 1e-12);
    EXPECT_TRUE(r.metrics[0].binary);
    EXPECT_GT(r.metrics[0].ci_lower, 0.0);
    EXPECT_LT(r.metrics[0].ci_upper, 1.0);
    EXPECT_EQ(r.item_ids, (std::vector<std::string>{"0", "1", "2"}));
    EXPECT_EQ(r.item_scores.at("acc"), (std::vector<double>{1, 0, 1}));

    SamplesWriter w(dir / "s" / "mc.jsonl");
    w.write(seen[0]);
    std::ifstream in(dir / "s" / "mc.jsonl");
    std::string line;
    std::getline(in, line);
    const auto j = json::parse(line);
    EXPECT_EQ(j["doc_id"], 0);
    EXPECT_EQ(j["scores"]["acc"], 1.0);
    EXPECT_EQ(j["prompt_hash"].get<std::string>(), sha256_hex(j["prompt"].get<std::string>()));
    // The item's identity: its document (keys sorted, compact), prompt and target.
    EXPECT_EQ(j["doc_hash"].get<std::string>(), sha256_hex(R"({"c":["right","wrong"],"g":0,"q":"a"})"));
    EXPECT_EQ(j["target_hash"].get<std::string>(), sha256_hex(j["target"].dump()));
    ASSERT_EQ(r.item_hashes.size(), 3u);
    EXPECT_EQ(r.item_hashes[0], j["doc_hash"].get<std::string>().substr(0, 16) + ":" +
                                    j["prompt_hash"].get<std::string>().substr(0, 16) + ":" +
                                    j["target_hash"].get<std::string>().substr(0, 16));
    EXPECT_NE(r.item_hashes[0], r.item_hashes[1]);
}

TEST(EvaluateTask, GenerativeTaskAppliesFiltersAndExactMatchPerFilter) {
    const auto dir = temp_dir("gen");
    write(dir / "test.jsonl", R"({"question":"one plus one, two?","answer":"1+1=2\n#### 2"}
{"question":"three plus one?","answer":"#### 5"}
)");
    write(dir / "g.yaml", R"yaml(name: g
output_type: generate_until
data: test.jsonl
doc_to_text: "Question: {{question}}\nAnswer:"
doc_to_target: "{{answer}}"
generation: {until: ["Question:"], max_gen_toks: 32}
filters:
  - name: strict-match
    steps: [{function: regex, pattern: "#### (\\-?[0-9\\.\\,]+)"}, {function: take_first}]
  - name: flexible-extract
    steps: [{function: regex, pattern: "(-?[$0-9.,]{2,})|(-?[0-9]+)", group_select: -1}, {function: take_first}]
metrics:
  - name: exact_match
    ignore_case: true
    regexes_to_ignore: [",", "\\$", "(?s).*#### ", "\\.$"]
)yaml");;
    const Task t = load_task(dir / "g.yaml");
    ScriptedLM lm;
    const auto r = evaluate_task(t, lm, {});
    ASSERT_EQ(r.metrics.size(), 2u);
    EXPECT_EQ(r.metrics[0].name, "exact_match,strict-match");
    EXPECT_EQ(r.metrics[1].name, "exact_match,flexible-extract");
    // Item 0 answers "#### 2" (right under both filters); item 1 answers 4 for 5 (wrong).
    EXPECT_EQ(r.item_scores.at("exact_match,strict-match"), (std::vector<double>{1, 0}));
    EXPECT_EQ(r.item_scores.at("exact_match,flexible-extract"), (std::vector<double>{1, 0}));
    EXPECT_EQ(lm.last_options.until, (std::vector<std::string>{"Question:"}));
    EXPECT_EQ(lm.last_options.max_gen_toks, 32);
}

TEST(EvaluateTask, CodeTasksAreRefusedWithoutPermission) {
    const auto dir = temp_dir("code");
    write(dir / "test.jsonl", R"({"prompt":"def f():\n","test":"assert f() == 1"}
)");
    write(dir / "c.yaml", "name: c\noutput_type: generate_until\ndata: test.jsonl\ndoc_to_text: '{{prompt}}'\n"
                          "doc_to_target: '{{test}}'\ncode: {program_prefix: '{{prompt}}', test: '{{test}}'}\n"
                          "metrics: [{name: pass_at_k, k: [1]}]\n");
    const Task t = load_task(dir / "c.yaml");
    ScriptedLM lm;
    try {
        evaluate_task(t, lm, {});
        FAIL() << "ran without permission";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kBadInput);
        EXPECT_NE(std::string(e.what()).find("--allow-code-execution"), std::string::npos);
    }
}

}  // namespace
}  // namespace qbench::eval::tasks
