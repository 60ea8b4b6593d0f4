#include "qbench/util/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace qbench::log {
namespace {
std::atomic<Level> g_level{Level::kInfo};
std::mutex g_mutex;
}  // namespace

void set_level(Level level) { g_level = level; }
Level level() { return g_level; }

void write(Level level, std::string_view message) {
    std::lock_guard lock(g_mutex);
    const char* prefix = level == Level::kWarn ? "warning: " : level == Level::kDebug ? "debug: " : "";
    std::fprintf(stderr, "%s%.*s\n", prefix, static_cast<int>(message.size()), message.data());
    std::fflush(stderr);
}

}  // namespace qbench::log
