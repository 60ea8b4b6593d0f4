// Progress of long work on stderr: a redrawn bar with rate and ETA on a terminal, a plain line
// every few seconds otherwise, nothing when the log level is quiet. stdout is never touched.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace qbench {

class Progress {
public:
    // `total` may be 0 when unknown; `unit` names what is counted ("windows", "tokens").
    Progress(std::string label, std::uint64_t total, std::string unit);
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    void advance(std::uint64_t n = 1);
    void finish();

private:
    void draw(bool final);

    std::string label_;
    std::uint64_t total_;
    std::string unit_;
    std::uint64_t done_ = 0;
    bool enabled_;
    bool tty_;
    bool finished_ = false;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace qbench
