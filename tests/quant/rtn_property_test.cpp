// RTN on the trained demo model (models/qbench-tiny, made on the `data` branch): int8 is within
// 1% of the baseline perplexity, and quality falls with bits (int4 < int8, int3 < int4), while
// int4 with groups of 32 is no worse than int4 per channel. Skips while the model is absent.
#include <gtest/gtest.h>

#include <algorithm>

#include "qbench/eval/api.hpp"
#include "support/fixtures.hpp"

namespace qbench::quant {
namespace {

namespace fs = std::filesystem;

// The held-out text of the demo model (datasets/MANIFEST.md); $QBENCH_TINY_EVAL_DATA overrides.
fs::path eval_data() {
    if (const char* env = std::getenv("QBENCH_TINY_EVAL_DATA")) return fs::path(env);
    return qbench::testing::source_dir() / "datasets" / "tinyworld" / "test.txt";
}

double ppl(const fs::path& model, const fs::path& data, const char* spec) {
    eval::ModelRequest r{model, "cpu", "float32", std::nullopt, 0};
    if (spec) r.quantize = config::parse_quantize_spec(spec);
    eval::PerplexityOptions o;
    o.protocol = "sliding";
    o.max_length = 256;
    o.stride = 128;
    o.batch_size = 8;  // the whole held-out text: the effects are small, a subset is noise
    return eval::run_perplexity(r, data, o).ppl;
}

TEST(RtnProperty, QualityFallsWithBitsOnTheTrainedDemoModel) {
    const auto model = qbench::testing::source_dir() / "models" / "qbench-tiny";
    if (!fs::is_directory(model)) GTEST_SKIP() << model << " is absent (made on the data branch)";
    const auto data = eval_data();
    const double base = ppl(model, data, nullptr);
    const double int8 = ppl(model, data, "rtn:bits=8,group_size=-1");
    const double int4 = ppl(model, data, "rtn:bits=4,group_size=-1");
    const double int4_g32 = ppl(model, data, "rtn:bits=4,group_size=32");
    const double int3 = ppl(model, data, "rtn:bits=3,group_size=-1");
    EXPECT_NEAR(int8 / base, 1.0, 0.01) << "baseline " << base << ", int8 " << int8;
    EXPECT_GT(int4, int8);
    EXPECT_GT(int3, int4);
    EXPECT_LE(int4_g32, int4);
}

}  // namespace
}  // namespace qbench::quant
