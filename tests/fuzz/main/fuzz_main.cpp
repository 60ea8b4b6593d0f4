// One libFuzzer executable per target: QBENCH_FUZZ_TARGET names it (tests/fuzz/CMakeLists.txt).
#include <cstdio>
#include <cstdlib>

#include "fuzz/targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const qbench::fuzz::Target* target = [] {
        const auto* t = qbench::fuzz::find_target(QBENCH_FUZZ_TARGET);
        if (!t) {
            std::fprintf(stderr, "no fuzz target named %s\n", QBENCH_FUZZ_TARGET);
            std::abort();
        }
        return t;
    }();
    target->run({data, size});
    return 0;
}
