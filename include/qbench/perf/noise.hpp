// How much a speed measurement can be trusted: the spread of its repetitions (a t interval of the
// mean per-repetition rate, the coefficient of variation), slow outlier steps (a second mode of
// step times, the mark of another process taking the CPU), and what the rest of the machine did
// meanwhile (CPU time of other processes, hypervisor steal, clock frequency). Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qbench::perf {

// Cumulative CPU time (clock ticks) of the whole machine and of this process.
struct CpuTimes {
    double total = 0.0;  // every CPU: user + nice + system + idle + iowait + irq + softirq + steal
    double busy = 0.0;   // total minus idle and iowait
    double steal = 0.0;
    double self = 0.0;   // this process: utime + stime
    bool ok = false;     // false where /proc/stat or /proc/self/stat could not be read
};
CpuTimes read_cpu_times();

// Shares of the machine's CPU time between two readings: other processes' busy time
// (busy - self) and steal, each over the total; NaN when either reading failed or no time passed.
struct CpuActivity {
    double other_fraction;
    double steal_fraction;
};
CpuActivity cpu_activity(const CpuTimes& start, const CpuTimes& end);

// Mean "cpu MHz" of /proc/cpuinfo (the current clock of each CPU); NaN where absent.
double cpu_mhz();
// The 1-minute load average; NaN where unreadable.
double load_average();

// Spread of a scenario's per-repetition rates (tokens/s): the t interval of their mean at
// `confidence` and the coefficient of variation (sd / mean). One repetition: NaN interval and CV.
struct RateSpread {
    double mean = 0.0;
    double ci_lower = 0.0;
    double ci_upper = 0.0;
    double cv = 0.0;
};
RateSpread rate_spread(const std::vector<double>& rates, double confidence = 0.95);

// Half-width of the interval as a percentage of the mean (infinite for fewer than 2 rates).
double ci_half_width_percent(const RateSpread& s);

// Fraction of samples slower than `factor` times their median.
double slow_fraction(const std::vector<double>& samples, double factor = 2.0);

// The warnings a scenario's spread earns (empty when it is quiet): CV and slow steps over their
// thresholds, the interval target missed. `what` names the scenario ("decode batch 1").
inline constexpr double kNoisyCv = 0.05;         // CV of the repetitions above 5 %
inline constexpr double kNoisySlowSteps = 0.05;  // more than 5 % of steps over 2x the median
std::vector<std::string> spread_warnings(const std::string& what, const RateSpread& spread, double slow_steps,
                                         double target_percent);

}  // namespace qbench::perf
