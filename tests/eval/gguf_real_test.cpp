// Real pretrained GGUF models fetched by scripts/fetch_real_models.py into
// $QBENCH_MODELS_DIR (default ~/.cache/qbench/models), against transformers' GGUF loading of the
// same file (the .reference.json the script writes). Skipped when the files are not there. Their
// tokenizer is checked against llama.cpp instead (tests/tokenizer/gguf_tokenizer_llamacpp_test.cpp).
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "qbench/eval/api.hpp"
#include "qbench/eval/model_env.hpp"
#include "qbench/tokenizer/tokenizer.hpp"
#include "qbench/util/files.hpp"
#include "qbench/util/hash.hpp"
#include "support/fixtures.hpp"

namespace qbench::eval {
namespace {

namespace fs = std::filesystem;

fs::path models_dir() {
    if (const char* d = std::getenv("QBENCH_MODELS_DIR")) return d;
    const char* home = std::getenv("HOME");
    return fs::path(home ? home : "/root") / ".cache" / "qbench" / "models";
}

struct Real {
    fs::path model;
    nlohmann::json reference;
    fs::path text;
};

// The model and its reference, or nullopt (the test skips) when they were not fetched.
std::optional<Real> real(const std::string& name) {
    Real r{models_dir() / name, {}, {}};
    auto ref = r.model;
    ref.replace_extension(".reference.json");
    if (!fs::exists(r.model) || !fs::exists(ref)) return std::nullopt;
    r.reference = nlohmann::json::parse(read_file(ref));
    r.text = qbench::testing::source_dir() / r.reference["text_file"].get<std::string>();
    // A reference computed on another version of the text (the demo's held-out text is
    // regenerated with the demo model) says so instead of failing on mismatched ids.
    if (r.reference.contains("text_sha256") &&
        sha256_file_hex(r.text) != r.reference["text_sha256"].get<std::string>()) {
        throw std::runtime_error(ref.string() + " was computed on another version of " + r.text.string() +
                                 ": rerun scripts/fetch_real_models.py");
    }
    return r;
}

constexpr const char* kSmolLM2 = "SmolLM2-135M-Instruct.Q4_1.gguf";
constexpr const char* kGemma3 = "gemma-3-270m-q4_k_m.gguf";

struct Agreement {
    double top1 = 0;   // fraction of positions whose argmax equals transformers'
    double nll = 0;    // summed NLL of the prompt's next tokens (float64 log-softmax)
    std::int64_t n = 0;
};

// qbench's float32 forward over the reference prompt (the first prompt_tokens ids, or the stored
// "prompt" when the reference has one), against transformers' top-1 tokens.
Agreement agreement_with_reference(const Real& r) {
    ModelRequest request;
    request.path = r.model;
    request.dtype = "float32";
    const auto env = load_model_env(request);
    const auto n = r.reference["prompt_tokens"].get<std::int64_t>();
    std::vector<std::int64_t> ids;
    if (r.reference.contains("prompt")) {
        ids = r.reference["prompt"].get<std::vector<std::int64_t>>();
    } else {
        ids = r.reference["ids"].get<std::vector<std::int64_t>>();
        ids.resize(static_cast<std::size_t>(n));
    }
    const auto x = torch::tensor(ids, torch::kInt64).unsqueeze(0);
    torch::NoGradGuard no_grad;
    const auto logits = env.decoder->forward(x)[0];
    const auto want = torch::tensor(r.reference["top1"].get<std::vector<std::int64_t>>(), torch::kInt64);
    Agreement a;
    a.n = n;
    a.top1 = logits.argmax(-1).eq(want).to(torch::kFloat64).mean().item<double>();
    const auto logp = torch::log_softmax(logits.to(torch::kFloat64), -1);
    a.nll = -logp.slice(0, 0, n - 1).gather(1, x[0].slice(0, 1, n).unsqueeze(1)).sum().item<double>();
    return a;
}

// Same prompt, same dequantized Q4_1 weights, float32 on both sides: the top-1 tokens agree and
// the NLL is the same to well under 1%.
TEST(SmolLM2Real, Top1AgreesWithTransformersGgufLoading) {
    auto r = real(kSmolLM2);
    if (!r) GTEST_SKIP() << "run scripts/fetch_real_models.py first";
    ModelRequest request;
    request.path = r->model;
    request.dtype = "float32";
    const auto env = load_model_env(request);
    const auto n = r->reference["prompt_tokens"].get<std::int64_t>();
    auto ids = r->reference["ids"].get<std::vector<std::int64_t>>();
    ids.resize(static_cast<std::size_t>(n));
    const auto x = torch::tensor(ids, torch::kInt64).unsqueeze(0);
    torch::NoGradGuard no_grad;
    const auto logits = env.decoder->forward(x)[0];
    const auto top1 = logits.argmax(-1);
    const auto want = torch::tensor(r->reference["top1"].get<std::vector<std::int64_t>>(), torch::kInt64);
    const double agreement = top1.eq(want).to(torch::kFloat64).mean().item<double>();
    const auto logp = torch::log_softmax(logits.to(torch::kFloat64), -1);
    const double nll = -logp.slice(0, 0, n - 1).gather(1, x[0].slice(0, 1, n).unsqueeze(1)).sum().item<double>();
    RecordProperty("top1_agreement", std::to_string(agreement));
    RecordProperty("nll_sum", std::to_string(nll));
    std::cout << "SmolLM2 top-1 agreement with transformers: " << agreement << " over " << n
              << " tokens; NLL " << nll << " vs " << r->reference["nll_sum"].get<double>() << "\n";
    EXPECT_GE(agreement, 0.98);
    EXPECT_NEAR(nll, r->reference["nll_sum"].get<double>(), 0.005 * r->reference["nll_sum"].get<double>());
}

// Perplexity of the held-out English text through the CLI's entry point (float32, sliding).
// sliding(512/256) perplexity of the reference's held-out text through the CLI's entry point
// (float32), printed and recorded; `limit` windows (0 = all).
double held_out_ppl(const Real& r, const std::string& label, std::int64_t limit = 0) {
    ModelRequest request;
    request.path = r.model;
    request.dtype = "float32";
    PerplexityOptions options;
    options.protocol = "sliding";
    options.max_length = 512;
    options.stride = 256;
    options.limit = limit;
    const auto result = run_perplexity(request, r.text, options);
    std::cout << label << " sliding(512/256) perplexity of " << r.text.filename() << ": " << result.ppl << " over "
              << result.tokens_scored << " tokens\n";
    ::testing::Test::RecordProperty("ppl", std::to_string(result.ppl));
    return result.ppl;
}

TEST(SmolLM2Real, PerplexityOfHeldOutEnglishIsPlausible) {
    auto r = real(kSmolLM2);
    if (!r) GTEST_SKIP() << "run scripts/fetch_real_models.py first";
    const double ppl = held_out_ppl(*r, "SmolLM2 Q4_1");
    // A 135M instruct model on plain English prose: well above 1, far below a unigram model.
    EXPECT_GT(ppl, 2.0);
    EXPECT_LT(ppl, 40.0);
}

}  // namespace
}  // namespace qbench::eval

namespace qbench::eval {
namespace {

// <bos> + the held-out text, the same dequantized Q4_K_M weights (Q8_0 embeddings, Q5_0 / Q4_K /
// Q6_K / Q8_0 layers), float32 on both sides. Tolerances: transformers computes the same ops in
// another order (its SDPA path, its own dequantizer), so logits differ by float32 rounding only;
// a top-1 flip needs two candidates within that rounding (allow 2%), and the summed NLL agrees
// to 0.5%, as for SmolLM2.
TEST(Gemma3Real, Top1AgreesWithTransformersGgufLoading) {
    auto r = real(kGemma3);
    if (!r) GTEST_SKIP() << "run scripts/fetch_real_models.py first";
    const auto a = agreement_with_reference(*r);
    const double want = r->reference["nll_sum"].get<double>();
    RecordProperty("top1_agreement", std::to_string(a.top1));
    RecordProperty("nll_sum", std::to_string(a.nll));
    std::cout << "Gemma 3 270M top-1 agreement with transformers: " << a.top1 << " over " << a.n
              << " tokens; NLL " << a.nll << " vs " << want << " (ppl " << std::exp(a.nll / (a.n - 1)) << " vs "
              << std::exp(want / (a.n - 1)) << ")\n";
    EXPECT_GE(a.top1, 0.98);
    EXPECT_NEAR(a.nll, want, 0.005 * want);
}

TEST(Gemma3Real, ConfigFromMetadata) {
    auto r = real(kGemma3);
    if (!r) GTEST_SKIP() << "run scripts/fetch_real_models.py first";
    ModelRequest request;
    request.path = r->model;
    request.dtype = "float32";
    const auto env = load_model_env(request);
    const auto& c = env.decoder->config();
    EXPECT_EQ(c.architecture, "Gemma3ForCausalLM");
    EXPECT_EQ(c.num_layers, 18);
    EXPECT_EQ(c.head_dim, 256);
    EXPECT_TRUE(c.tie_word_embeddings);
    // Layers 5, 11, 17 global; the others slide over 512 tokens.
    for (std::int64_t i = 0; i < c.num_layers; ++i) {
        EXPECT_EQ(c.layer_window[static_cast<std::size_t>(i)], (i + 1) % 6 == 0 ? 0 : 512) << i;
    }
}

// Perplexity of the held-out text through the CLI's entry point (float32, sliding).
TEST(Gemma3Real, PerplexityOfHeldOutTextIsPlausible) {
    auto r = real(kGemma3);
    if (!r) GTEST_SKIP() << "run scripts/fetch_real_models.py first";
    // 8 windows (~2300 tokens scored): a 262k-entry vocabulary is slow on CPU.
    const double ppl = held_out_ppl(*r, "Gemma 3 270M Q4_K_M", 8);
    EXPECT_GT(ppl, 1.5);
    EXPECT_LT(ppl, 40.0);
}

}  // namespace
}  // namespace qbench::eval
