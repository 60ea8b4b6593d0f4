// The embedded demo model is the one models/qbench-tiny/README.md documents: its weights' sha256,
// and its held-out perplexity against the float64 transformers evaluation in reference.json
// (scripts/eval_tiny_model.py), through qbench's own tokenizer and decoder.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "qbench/eval/api.hpp"
#include "qbench/util/files.hpp"
#include "qbench/util/hash.hpp"
#include "support/fixtures.hpp"

namespace qbench {
namespace {

const std::filesystem::path kModel = qbench::testing::source_dir() / "models" / "qbench-tiny";

nlohmann::json reference() { return nlohmann::json::parse(read_file(kModel / "reference.json")); }

TEST(DemoModel, WeightsAndDataAreTheDocumentedOnes) {
    const auto ref = reference();
    EXPECT_EQ(sha256_file_hex(kModel / "model.safetensors"),
              ref["files"]["model.safetensors"]["sha256"].get<std::string>());
    EXPECT_EQ(sha256_file_hex(kModel / "tokenizer.json"), ref["files"]["tokenizer.json"]["sha256"].get<std::string>());
    EXPECT_EQ(sha256_file_hex(qbench::testing::source_dir() / ref["perplexity"]["data"].get<std::string>()),
              ref["perplexity"]["data_sha256"].get<std::string>());
}

// Tolerances from models/qbench-tiny/README.md: transformers itself moves this PPL by < 1e-6
// relative between float64 and float32 compute, so a correct float32 implementation lands within
// 1e-4; float16 compute within 1e-3. Token and window counts must match exactly (same
// tokenizer ids, same protocol).
class DemoModelPerplexity : public ::testing::TestWithParam<std::pair<const char*, double>> {};

TEST_P(DemoModelPerplexity, MatchesTheDocumentedReference) {
    const auto [dtype, tolerance] = GetParam();
    const auto ref = reference()["perplexity"]["sliding"];
    eval::PerplexityOptions o;
    o.protocol = "sliding";
    o.max_length = ref["max_length"];
    o.stride = ref["stride"];
    o.batch_size = 8;
    eval::ModelRequest request;
    request.path = kModel;
    request.dtype = dtype;
    const auto r = eval::run_perplexity(request,
                                        qbench::testing::source_dir() / "datasets" / "tinyworld" / "test.txt", o);
    EXPECT_EQ(r.tokens_scored, ref["tokens_scored"].get<std::int64_t>());
    EXPECT_EQ(static_cast<std::int64_t>(r.blocks.size()), ref["windows"].get<std::int64_t>());
    EXPECT_LT(std::abs(r.ppl / ref["ppl"].get<double>() - 1), tolerance) << r.ppl;
}

INSTANTIATE_TEST_SUITE_P(Dtypes, DemoModelPerplexity,
                         ::testing::Values(std::pair{"float32", 1e-4}, std::pair{"float16", 1e-3}));

}  // namespace
}  // namespace qbench
