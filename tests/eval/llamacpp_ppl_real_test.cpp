// qbench's llama.cpp protocol against llama-perplexity itself, on the real models and GPL-3 text:
// the reference numbers are what `scripts/llamacpp_agreement.py ppl|kld` parsed from the built
// llama.cpp tools (<cache>/ppl/<model>.json, <cache>/kld/smollm2.json; scripts/test-deps writes
// them). Skipped when the references or the models are not there. qbench computes in float32
// (llama.cpp's CPU path does; bfloat16 alone moves the PPL by more than the tolerance).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "qbench/eval/api.hpp"
#include "qbench/util/files.hpp"

namespace qbench::eval {
namespace {

namespace fs = std::filesystem;

fs::path refs_dir() {
    if (const char* d = std::getenv("QBENCH_LLAMACPP_REFS")) return d;
    const char* home = std::getenv("HOME");
    return fs::path(home ? home : "/root") / ".cache" / "qbench" / "llamacpp_agreement";
}

std::optional<nlohmann::json> reference(const fs::path& p, const char* model_key) {
    if (!fs::exists(p)) return std::nullopt;
    auto j = nlohmann::json::parse(read_file(p));
    if (!fs::exists(j.at(model_key).get<std::string>()) || !fs::exists(j.at("text").get<std::string>())) {
        return std::nullopt;
    }
    return j;
}

PerplexityRun run_qbench(const nlohmann::json& ref, const std::string& model, const KldFiles& kld) {
    ModelRequest request;
    request.path = model;
    request.dtype = "float32";
    PerplexityOptions o;
    o.protocol = "llama.cpp";
    o.max_length = ref.at("n_ctx").get<std::int64_t>();
    o.limit = ref.at("chunks").get<std::int64_t>();
    return run_perplexity(request, ref.at("text").get<std::string>(), o, kld);
}

void check_ppl(const char* key) {
    const auto ref = reference(refs_dir() / "ppl" / (std::string(key) + ".json"), "model");
    if (!ref) GTEST_SKIP() << "no llama-perplexity reference: run scripts/test-deps";
    const auto run = run_qbench(*ref, (*ref)["model"].get<std::string>(), {});
    const auto& r = run.perplexity;
    EXPECT_EQ(static_cast<std::int64_t>(r.blocks.size()), (*ref)["chunks"].get<std::int64_t>());
    EXPECT_EQ(r.tokens_scored, (*ref)["tokens_scored"].get<std::int64_t>());
    const double ppl = (*ref)["ppl"];
    // The goal of issue 14: within 0.3% (llama.cpp quantizes activations to 8 bits inside its
    // quantized dot products; qbench does not).
    EXPECT_NEAR(r.ppl / ppl - 1, 0.0, 0.003) << "qbench " << r.ppl << ", llama-perplexity " << ppl;
    ASSERT_TRUE(r.ppl_stderr.has_value());
    // The stderr is ppl x the sd of per-token NLLs / sqrt(n): the same per-token NLLs, so the same
    // relative agreement as the PPL, with room for the sd's own spread (2%).
    EXPECT_NEAR(*r.ppl_stderr / (*ref)["ppl_stderr"].get<double>() - 1, 0.0, 0.02);
    const auto running = (*ref)["running_ppl"].get<std::vector<double>>();
    ASSERT_EQ(r.running_ppl.size(), running.size());
    for (std::size_t i = 0; i < running.size(); ++i) {
        // Measured (GPL-3, 29 chunks of 256): SmolLM2 Q4_1's running estimates are 0.5-0.7% below
        // llama-perplexity's at chunks 5-17, Gemma 3 Q4_K_M's first chunk (127 tokens) 1.3%
        // above; both converge to the final's < 0.3%. A per-token difference (hypothesis:
        // llama.cpp's 8-bit activations in its quantized dot products, not emulated here) that
        // few tokens do not average out: 2% over the first four chunks, 1% after.
        EXPECT_NEAR(r.running_ppl[i] / running[i] - 1, 0.0, i < 4 ? 0.02 : 0.01) << "chunk " << i + 1;
    }
}

TEST(LlamacppAgreement, SmolLM2PerplexityEqualsLlamaPerplexity) { check_ppl("smollm2"); }
TEST(LlamacppAgreement, Gemma3PerplexityEqualsLlamaPerplexity) { check_ppl("gemma3"); }

TEST(LlamacppAgreement, KldAgainstLlamaCppsBaseFileEqualsLlamaPerplexity) {
    const auto ref = reference(refs_dir() / "kld" / "smollm2.json", "variant");
    if (!ref || !fs::exists((*ref)["base_file"].get<std::string>())) {
        GTEST_SKIP() << "no llama-perplexity --kl-divergence reference: run scripts/test-deps";
    }
    const auto run = run_qbench(*ref, (*ref)["variant"].get<std::string>(), {.compare = (*ref)["base_file"].get<std::string>()});
    ASSERT_TRUE(run.kld.has_value());
    const auto& k = *run.kld;
    EXPECT_TRUE(k.exact);
    EXPECT_EQ(k.top_k, k.vocab_size);
    const double kld = (*ref)["kld_mean"];
    EXPECT_NEAR(k.kld_mean / kld - 1, 0.0, 0.01) << "qbench " << k.kld_mean << ", llama.cpp " << kld;
    EXPECT_NEAR(100 * (k.same_top - (*ref)["same_top"].get<double>()), 0.0, 0.2);
    // The percentile table: llama.cpp prints KLD to 6 decimals and Δp to 0.001%; the middle of
    // the distributions within 5% (or the print resolution), the tails within 10%. Measured on
    // SmolLM2 Q4_1 vs its Q4_0 requantization: the mean within 1% and same-top within 0.2 points
    // pass; the largest percentile gap is 3.3% (KLD P5: 0.03063 vs 0.02967), small per-token
    // differences that the mean averages out but a low quantile of small values does not.
    for (const auto& p : k.kld_percentiles) {
        const auto key = nlohmann::json(p.q).dump();
        if (!(*ref)["kld_percentiles"].contains(key)) continue;
        const double want = (*ref)["kld_percentiles"][key];
        const double tol = (p.q >= 0.01 && p.q <= 0.99 ? 0.05 : 0.10) * std::abs(want) + 2e-6;
        EXPECT_NEAR(p.value, want, tol) << "KLD q " << p.q;
    }
    for (const auto& p : k.delta_p_percentiles) {
        const auto key = nlohmann::json(p.q).dump();
        if (!(*ref)["delta_p_percentiles"].contains(key)) continue;
        const double want = (*ref)["delta_p_percentiles"][key];
        const double tol = (p.q >= 0.01 && p.q <= 0.99 ? 0.05 : 0.10) * std::abs(want) + 2e-5;
        EXPECT_NEAR(p.value, want, tol) << "delta p q " << p.q;
    }
}

}  // namespace
}  // namespace qbench::eval
