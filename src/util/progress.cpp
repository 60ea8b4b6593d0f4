#include "qbench/util/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

#include "qbench/util/log.hpp"

namespace qbench {
namespace {

std::string format_duration(double s) {
    if (s < 0 || s > 1e7) return "--:--";
    auto t = static_cast<long>(s + 0.5);
    if (t >= 3600) return fmt::format("{}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60);
    return fmt::format("{:02}:{:02}", t / 60, t % 60);
}

}  // namespace

Progress::Progress(std::string label, std::uint64_t total, std::string unit)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      enabled_(log::level() >= log::Level::kInfo),
      tty_(::isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { finish(); }

void Progress::advance(std::uint64_t n) {
    done_ += n;
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    auto interval = tty_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(10000);
    if (now - last_draw_ >= interval) {
        last_draw_ = now;
        draw(false);
    }
}

void Progress::finish() {
    if (finished_) return;
    finished_ = true;
    if (enabled_ && (tty_ || done_ > 0)) draw(true);
}

void Progress::draw(bool final) {
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
    std::string line;
    if (total_ > 0) {
        double frac = std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_));
        double eta = rate > 0 ? static_cast<double>(total_ - std::min(done_, total_)) / rate : -1;
        if (tty_) {
            constexpr int kWidth = 24;
            int filled = static_cast<int>(frac * kWidth);
            line = fmt::format("{} [{}{}] {}/{} {} {:.1f} {}/s ETA {}", label_,
                               std::string(filled, '#'), std::string(kWidth - filled, '.'), done_,
                               total_, unit_, rate, unit_, format_duration(final ? 0 : eta));
        } else {
            line = fmt::format("{}: {}/{} {} ({:.0f}%), {:.1f} {}/s, elapsed {}, ETA {}", label_,
                               done_, total_, unit_, 100 * frac, rate, unit_,
                               format_duration(elapsed), format_duration(final ? 0 : eta));
        }
    } else {
        line = fmt::format("{}: {} {}, {:.1f} {}/s, elapsed {}", label_, done_, unit_, rate, unit_,
                           format_duration(elapsed));
    }
    if (tty_) {
        std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
        std::fflush(stderr);
    } else {
        log::write(log::Level::kInfo, line);
    }
}

}  // namespace qbench
