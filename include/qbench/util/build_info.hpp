// What built this binary and where it runs: the `context` block of every report.
#pragma once

#include <string>

namespace qbench {

struct BuildInfo {
    std::string version;     // e.g. "0.1.0"
    std::string git_commit;  // short hash, or "unknown"
    std::string build_type;  // CMAKE_BUILD_TYPE
    std::string compiler;
};

BuildInfo build_info();

// "qbench 0.1.0 (abc123, Release)"
std::string version_line();

// CPU model name from /proc/cpuinfo ("unknown" when unavailable).
std::string cpu_model();

// Hardware threads available to this process.
int hardware_threads();

// Current UTC time, ISO 8601 with milliseconds: "2026-11-27T12:00:00.123Z".
std::string utc_now_iso8601();

}  // namespace qbench
