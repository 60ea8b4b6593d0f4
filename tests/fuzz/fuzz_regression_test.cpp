// Replays the committed fuzz inputs (tests/fuzz/corpus: seeds; tests/fuzz/regressions: inputs
// that once crashed a parser) through the same targets the libFuzzer executables run, in the
// ordinary build: each must be accepted or rejected with a qbench::Error.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "fuzz/targets.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path kFuzzDir = fs::path(QBENCH_SOURCE_DIR) / "tests" / "fuzz";

std::vector<std::uint8_t> read_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs every file under `root`/<target>/ through its target; returns the number of inputs.
int replay(const fs::path& root) {
    int n = 0;
    if (!fs::exists(root)) return 0;
    for (const auto& dir : fs::directory_iterator(root)) {
        if (!dir.is_directory()) continue;
        const auto* target = qbench::fuzz::find_target(dir.path().filename().string());
        EXPECT_NE(target, nullptr) << dir.path() << " names no fuzz target";
        if (!target) continue;
        for (const auto& f : fs::directory_iterator(dir.path())) {
            if (!f.is_regular_file()) continue;
            const auto bytes = read_bytes(f.path());
            EXPECT_NO_THROW(target->run(bytes)) << f.path();
            ++n;
        }
    }
    return n;
}

}  // namespace

TEST(FuzzRegression, EveryTargetHasASeedCorpus) {
    for (const auto& t : qbench::fuzz::targets()) {
        const fs::path dir = kFuzzDir / "corpus" / std::string(t.name);
        ASSERT_TRUE(fs::is_directory(dir)) << dir;
        EXPECT_FALSE(fs::is_empty(dir)) << dir;
    }
}

TEST(FuzzRegression, SeedsAndRegressionInputsAreAcceptedOrRejectedWithAQbenchError) {
    EXPECT_GT(replay(kFuzzDir / "corpus"), 0);
    replay(kFuzzDir / "regressions");
}

TEST(FuzzRegression, ATargetLetsOnlyQbenchErrorsThrough) {
    // A truncated GGUF header and a non-JSON tokenizer file are rejected, not thrown past.
    const auto* gguf = qbench::fuzz::find_target("gguf");
    ASSERT_NE(gguf, nullptr);
    const std::vector<std::uint8_t> truncated = {'G', 'G', 'U', 'F', 3, 0};
    EXPECT_NO_THROW(gguf->run(truncated));
    EXPECT_EQ(qbench::fuzz::find_target("no such target"), nullptr);
}
