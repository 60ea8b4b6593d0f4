// Fuzz targets: each feeds arbitrary bytes to one parser the way a user's file reaches it (written
// to a file with the name qbench expects, then opened through the public entry point). A target
// returns normally when the parser accepts the input or rejects it with a qbench::Error (the
// one-line error a user sees); any other exception, a crash, a leak or undefined behaviour is a
// bug. libFuzzer executables (tests/fuzz/main/fuzz_main.cpp, `make fuzz`) and the regression
// test (fuzz_regression_test.cpp, replaying tests/fuzz/{corpus,regressions}/) share them.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace qbench::fuzz {

struct Target {
    std::string_view name;  // also the folder name under tests/fuzz/corpus and regressions
    std::string_view what;  // the parser it reaches
    void (*run)(std::span<const std::uint8_t> data);
};

std::span<const Target> targets();
// nullptr when no target has that name.
const Target* find_target(std::string_view name);

}  // namespace qbench::fuzz
