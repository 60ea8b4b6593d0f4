// Logging to stderr (stdout is reserved for results and --json). Levels: quiet < info < debug.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace qbench::log {

enum class Level { kQuiet = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

void set_level(Level level);
Level level();

void write(Level level, std::string_view message);

template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
    if (level() >= Level::kInfo) write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}

template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
    if (level() >= Level::kWarn) write(Level::kWarn, fmt::format(f, std::forward<Args>(args)...));
}

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
    if (level() >= Level::kDebug) write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace qbench::log
