#include "qbench/perf/noise.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "qbench/stats/means.hpp"

namespace qbench::perf {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

CpuTimes read_cpu_times() {
    CpuTimes t;
    std::ifstream stat("/proc/stat");
    std::string cpu;
    double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    if (!(stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) || cpu != "cpu") return t;
    t.total = user + nice + system + idle + iowait + irq + softirq + steal;
    t.busy = t.total - idle - iowait;
    t.steal = steal;
    // /proc/self/stat: "pid (comm) state ..." with utime and stime the 14th and 15th fields; comm
    // may hold spaces, so count from the last ')'.
    std::ifstream self("/proc/self/stat");
    const std::string line((std::istreambuf_iterator<char>(self)), std::istreambuf_iterator<char>());
    const auto close = line.rfind(')');
    if (close == std::string::npos) return t;
    std::istringstream rest(line.substr(close + 1));
    std::string field;
    for (int i = 3; i <= 13 && rest >> field; ++i) {
    }
    double utime = 0, stime = 0;
    if (!(rest >> utime >> stime)) return t;
    t.self = utime + stime;
    t.ok = true;
    return t;
}

CpuActivity cpu_activity(const CpuTimes& start, const CpuTimes& end) {
    const double total = end.total - start.total;
    if (!start.ok || !end.ok || !(total > 0)) return {kNaN, kNaN};
    const double other = (end.busy - start.busy) - (end.self - start.self);
    return {std::clamp(other / total, 0.0, 1.0), std::clamp((end.steal - start.steal) / total, 0.0, 1.0)};
}

double cpu_mhz() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    double sum = 0.0;
    int n = 0;
    while (std::getline(in, line)) {
        if (line.rfind("cpu MHz", 0) != 0) continue;
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        try {
            sum += std::stod(line.substr(colon + 1));
            ++n;
        } catch (const std::exception&) {
        }
    }
    return n > 0 ? sum / n : kNaN;
}

double load_average() {
    std::ifstream in("/proc/loadavg");
    double one = kNaN;
    if (!(in >> one)) return kNaN;
    return one;
}

RateSpread rate_spread(const std::vector<double>& rates, double confidence) {
    // A non-finite rate (a repetition the clock did not see) has no spread; the caller's
    // checked total says what went wrong.
    if (rates.empty() || std::any_of(rates.begin(), rates.end(), [](double x) { return !std::isfinite(x); })) {
        return {kNaN, kNaN, kNaN, kNaN};
    }
    const auto m = stats::mean_estimate(rates, confidence);
    if (rates.size() < 2) return {m.mean, kNaN, kNaN, kNaN};
    return {m.mean, m.ci.lower, m.ci.upper, m.mean != 0.0 ? m.sd / m.mean : kNaN};
}

double ci_half_width_percent(const RateSpread& s) {
    if (!std::isfinite(s.ci_lower) || !std::isfinite(s.ci_upper) || !(s.mean > 0)) {
        return std::numeric_limits<double>::infinity();
    }
    return 100.0 * (s.ci_upper - s.ci_lower) / 2.0 / s.mean;
}

double slow_fraction(const std::vector<double>& samples, double factor) {
    if (samples.empty()) return kNaN;
    std::vector<double> sorted = samples;
    std::sort(sorted.begin(), sorted.end());
    const std::size_t n = sorted.size();
    const double median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    const auto slow = std::count_if(sorted.begin(), sorted.end(), [&](double x) { return x > factor * median; });
    return static_cast<double>(slow) / static_cast<double>(n);
}

std::vector<std::string> spread_warnings(const std::string& what, const RateSpread& spread, double slow_steps,
                                         double target_percent) {
    std::vector<std::string> out;
    if (std::isfinite(spread.cv) && spread.cv > kNoisyCv) {
        out.push_back(fmt::format("{}: the repetitions vary by {:.1f}% (coefficient of variation; above {:.0f}%: a "
                                  "noisy machine?)", what, 100.0 * spread.cv, 100.0 * kNoisyCv));
    }
    if (std::isfinite(slow_steps) && slow_steps > kNoisySlowSteps) {
        out.push_back(fmt::format("{}: {:.0f}% of the steps took more than twice the median step: another process "
                                  "competed for the CPU or the device (bimodal step times)", what, 100.0 * slow_steps));
    }
    const double half = ci_half_width_percent(spread);
    if (target_percent > 0 && half > target_percent) {
        out.push_back(fmt::format("{}: the 95% interval of tokens/s is +/-{:.1f}%, wider than the {:.1f}% target "
                                  "after the repetitions allowed (max_repetitions, time_budget_s)", what, half, target_percent));
    }
    return out;
}

}  // namespace qbench::perf
