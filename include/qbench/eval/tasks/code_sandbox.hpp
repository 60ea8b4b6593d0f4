// Running model-generated Python in a sandbox (humaneval, mbpp). Each program runs in a
// `python3 -I` child process that
//   - leads its own process group (setsid); the wall-clock timeout kills the whole group,
//   - works in a fresh temporary directory, removed afterwards,
//   - has rlimits: CPU seconds, address space, file size, number of processes, core dumps off,
//   - gets no network: a new network namespace (unshare(CLONE_NEWUSER | CLONE_NEWNET)) where
//     the kernel allows it; otherwise it runs with the network and the result says so,
//   - sees an environment of only PATH, HOME/TMPDIR (the temp dir), LANG and PYTHON* flags that
//     turn off user site-packages, none of the caller's variables (no tokens or keys).
// It is a defence against accidents and sloppy code, not a security boundary against a
// determined attacker (no seccomp, no file-system namespace: files the user can read stay
// readable; writes outside the temp dir are possible where permissions allow).
#pragma once

#include <cstdint>
#include <string>

namespace qbench::eval::tasks {

struct SandboxLimits {
    double timeout_s = 3.0;                        // wall clock, then SIGKILL to the group
    std::int64_t cpu_s = 5;                        // RLIMIT_CPU
    std::int64_t address_space_bytes = 1ll << 30;  // RLIMIT_AS
    std::int64_t file_size_bytes = 1ll << 20;      // RLIMIT_FSIZE
    std::int64_t processes = 16;                   // RLIMIT_NPROC (per user, inside the user namespace)
};

struct SandboxResult {
    bool passed = false;      // exit status 0 within the limits
    bool timed_out = false;
    int exit_code = -1;       // -1 when killed by a signal
    int signal = 0;
    bool network_isolated = false;  // ran in its own network namespace
    std::string output;       // stdout + stderr, the first 4 KiB
    std::string status;       // "passed" | "timed out" | "failed: ..."
};

SandboxResult run_python_sandboxed(const std::string& program, const SandboxLimits& limits = {});

// Whether this kernel lets an unprivileged process make a network namespace (probed once).
bool network_isolation_available();

}  // namespace qbench::eval::tasks
