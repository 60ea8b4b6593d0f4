#include "qbench/util/build_info.hpp"

#include <fmt/format.h>
#include <sched.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <thread>

#include "qbench/build_config.hpp"

namespace qbench {

BuildInfo build_info() {
    return {QBENCH_VERSION_STRING, QBENCH_GIT_COMMIT, QBENCH_BUILD_TYPE, QBENCH_COMPILER};
}

std::string version_line() {
    BuildInfo b = build_info();
    return fmt::format("qbench {} ({}, {})", b.version, b.git_commit, b.build_type);
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) == 0) {
            auto pos = line.find(':');
            if (pos != std::string::npos) {
                auto s = line.substr(pos + 1);
                auto b = s.find_first_not_of(' ');
                return b == std::string::npos ? s : s.substr(b);
            }
        }
    }
    return "unknown";
}

int hardware_threads() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
    return static_cast<int>(std::thread::hardware_concurrency());
}

std::string utc_now_iso8601() {
    auto now = std::chrono::system_clock::now();
    auto secs = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

}  // namespace qbench
