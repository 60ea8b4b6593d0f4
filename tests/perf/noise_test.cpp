// Speed statistics: the interval and spread of repetitions against hand-computed values, slow-step
// detection, the machine's other CPU use between two readings, the warnings, and the adaptive
// repetitions of the scenarios on a tiny model.
#include "qbench/perf/noise.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "qbench/perf/scenarios.hpp"
#include "support/fixtures.hpp"

namespace qbench::perf {
namespace {

TEST(Noise, RateSpreadIsTheTIntervalOfTheMeanRate) {
    // {100, 110, 90}: mean 100, sd 10, se 10 / sqrt(3) = 5.7735; t_{2, 0.975} = 4.302653.
    const auto s = rate_spread({100.0, 110.0, 90.0});
    EXPECT_DOUBLE_EQ(s.mean, 100.0);
    EXPECT_NEAR(s.ci_lower, 100.0 - 4.302653 * 5.773503, 1e-4);
    EXPECT_NEAR(s.ci_upper, 100.0 + 4.302653 * 5.773503, 1e-4);
    EXPECT_NEAR(s.cv, 0.1, 1e-12);
    EXPECT_NEAR(ci_half_width_percent(s), 24.8414, 1e-3);
    const auto one = rate_spread({42.0});
    EXPECT_TRUE(std::isnan(one.ci_lower) && std::isnan(one.cv));
    EXPECT_TRUE(std::isinf(ci_half_width_percent(one)));
}

TEST(Noise, SlowStepsAreThoseOverTwiceTheMedian) {
    EXPECT_DOUBLE_EQ(slow_fraction({1, 1, 1, 1, 10}), 0.2);
    EXPECT_DOUBLE_EQ(slow_fraction({1, 1, 2, 2}), 0.0);  // median 1.5: 2 is not over 3
    EXPECT_DOUBLE_EQ(slow_fraction({1.6, 1.6, 1.6, 3.3, 17.0, 1.6}), 2.0 / 6.0);
    EXPECT_TRUE(std::isnan(slow_fraction({})));
}

TEST(Noise, OtherProcessesShareIsBusyTimeNotOurs) {
    CpuTimes a{1000, 500, 10, 200, true};
    CpuTimes b{2000, 1400, 30, 700, true};
    const auto act = cpu_activity(a, b);
    EXPECT_DOUBLE_EQ(act.other_fraction, 0.4);  // (900 busy - 500 ours) / 1000
    EXPECT_DOUBLE_EQ(act.steal_fraction, 0.02);
    b.ok = false;
    EXPECT_TRUE(std::isnan(cpu_activity(a, b).other_fraction));
    // The real readings of this process move forward.
    const auto now = read_cpu_times();
    if (now.ok) {
        volatile double x = 0;
        for (int i = 0; i < 20000000; ++i) x = x + 1e-9 * i;
        const auto later = read_cpu_times();
        EXPECT_GE(later.total, now.total);
        EXPECT_GE(later.self, now.self);
    }
}

TEST(Noise, WarningsNameTheScenarioAndTheProblem) {
    EXPECT_TRUE(spread_warnings("decode batch 1", {100, 99, 101, 0.01}, 0.0, 5.0).empty());
    const auto w = spread_warnings("decode batch 1", {100, 75, 125, 0.12}, 0.35, 5.0);
    ASSERT_EQ(w.size(), 3u);
    EXPECT_NE(w[0].find("decode batch 1: the repetitions vary by 12.0%"), std::string::npos) << w[0];
    EXPECT_NE(w[1].find("35% of the steps took more than twice the median"), std::string::npos) << w[1];
    EXPECT_NE(w[2].find("+/-25.0%, wider than the 5.0% target"), std::string::npos) << w[2];
    EXPECT_EQ(spread_warnings("x", {100, 75, 125, 0.01}, 0.0, 0.0).size(), 0u);  // target off
}

std::unique_ptr<model::Decoder> tiny() {
    return model::Decoder::load(qbench::testing::model_fixture("llama_gqa_llama3") / "f32",
                                {torch::kCPU, torch::kFloat32, {}});
}

ThroughputOptions options(double target, std::int64_t max_reps, double budget_s) {
    ThroughputOptions o;
    o.context = 8;
    o.decode_steps = 3;
    o.warmup = 1;
    o.repetitions = 2;
    o.ci_target_percent = target;
    o.max_repetitions = max_reps;
    o.time_budget_s = budget_s;
    return o;
}

TEST(Noise, RepetitionsAreAddedUntilTheIntervalTargetTheCapOrTheBudget) {
    auto model = tiny();
    // Off: exactly `repetitions`.
    auto d = run_decode(*model, 1, options(0.0, 0, 10.0), 0.0);
    EXPECT_EQ(d.repetitions, 2);
    EXPECT_EQ(d.samples_ns.size(), 6u);
    EXPECT_TRUE(std::isfinite(d.tokens_per_s_ci_lower) && d.tokens_per_s_ci_lower <= d.tokens_per_s_ci_upper);
    // An unreachable target: up to the cap.
    d = run_decode(*model, 1, options(1e-12, 7, 100.0), 0.0);
    EXPECT_EQ(d.repetitions, 7);
    EXPECT_EQ(d.repetition_tokens_per_s.size(), 7u);
    // The cap defaults to 4 x repetitions.
    const auto p = run_prefill(*model, 8, options(1e-12, 0, 100.0));
    EXPECT_EQ(p.repetitions, 8);
    EXPECT_EQ(p.repetition_tokens_per_s.size(), 8u);
    // A spent time budget adds none.
    d = run_decode(*model, 1, options(1e-12, 7, 1e-12), 0.0);
    EXPECT_EQ(d.repetitions, 2);
}

}  // namespace
}  // namespace qbench::perf
