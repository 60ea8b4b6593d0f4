// One exception type for the whole library. Library code throws qbench::Error with a code and a
// one-line message that names the file / key / tensor at fault; only src/cli turns it into a
// message on stderr and an exit code (DESIGN.md rule 4).
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace qbench {

// The exit codes of the command-line contract (DESIGN.md, "The command line").
enum class ErrorCode : int {
    kCheckFailed = 1,  // a benchmark, gate or check failed
    kBadInput = 2,     // bad usage or bad input (files, YAML, options)
    kRuntime = 3,      // out of memory, device error, other failures at run time
};

class Error : public std::runtime_error {
public:
    Error(ErrorCode code, std::string message)
        : std::runtime_error(std::move(message)), code_(code) {}

    ErrorCode code() const { return code_; }
    int exit_code() const { return static_cast<int>(code_); }

private:
    ErrorCode code_;
};

// Shorthands: throw_bad_input("{}: tensor '{}' ...", path, name)
template <typename... Args>
[[noreturn]] void throw_bad_input(fmt::format_string<Args...> f, Args&&... args) {
    throw Error(ErrorCode::kBadInput, fmt::format(f, std::forward<Args>(args)...));
}

template <typename... Args>
[[noreturn]] void throw_runtime(fmt::format_string<Args...> f, Args&&... args) {
    throw Error(ErrorCode::kRuntime, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace qbench
