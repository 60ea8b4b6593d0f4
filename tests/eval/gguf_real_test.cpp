// Real pretrained GGUF models fetched by scripts/fetch_real_models.py into
// $QBENCH_MODELS_DIR (default ~/.cache/qbench/models), against transformers' GGUF loading of the
// same file (the .reference.json the script writes). Skipped when the files are not there.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "qbench/eval/api.hpp"
#include "qbench/eval/model_env.hpp"
#include "qbench/tokenizer/tokenizer.hpp"
#include "qbench/util/files.hpp"
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
    return r;
}

constexpr const char* kSmolLM2 = "SmolLM2-135M-Instruct.Q4_1.gguf";

TEST(SmolLM2Real, TokenizerMatchesTransformersGgufTokenizer) {
    auto r = real(kSmolLM2);
    if (!r) GTEST_SKIP() << "run scripts/fetch_real_models.py first";
    const auto tok = tokenizer::load_tokenizer(r->model);
    EXPECT_EQ(tok->encode(read_file(r->text), false), r->reference["ids"].get<std::vector<std::int32_t>>());
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
TEST(SmolLM2Real, PerplexityOfHeldOutEnglishIsPlausible) {
    auto r = real(kSmolLM2);
    if (!r) GTEST_SKIP() << "run scripts/fetch_real_models.py first";
    ModelRequest request;
    request.path = r->model;
    request.dtype = "float32";
    PerplexityOptions options;
    options.protocol = "sliding";
    options.max_length = 512;
    options.stride = 256;
    const auto result = run_perplexity(request, r->text, options);
    std::cout << "SmolLM2 Q4_1 sliding(512/256) perplexity of " << r->text.filename() << ": " << result.ppl
              << " over " << result.tokens_scored << " tokens\n";
    RecordProperty("ppl", std::to_string(result.ppl));
    // A 135M instruct model on plain English prose: well above 1, far below a unigram model.
    EXPECT_GT(result.ppl, 2.0);
    EXPECT_LT(result.ppl, 40.0);
}

}  // namespace
}  // namespace qbench::eval
