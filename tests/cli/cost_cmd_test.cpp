#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "run_qbench.hpp"

namespace qbench::testing_cli {

TEST(CostCli, JsonCarriesUsdPerMillionTokens) {
    // The seed's INT4 row: 3.50 $/h at 5800 tok/s -> 3.5 / 20.88 = 0.16762 $ per million.
    const RunResult r = run_qbench({"cost", "--usd-per-hour", "3.5", "--tokens-per-s", "5800",
                                    "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_NEAR(j.at("usd_per_million_tokens").get<double>(), 3.5 / 20.88, 1e-12);
    EXPECT_DOUBLE_EQ(j.at("total_usd_per_million_tokens").get<double>(),
                     j.at("usd_per_million_tokens").get<double>());
}

TEST(CostCli, CalibrationAndQualityFactor) {
    const RunResult r = run_qbench({"cost", "--usd-per-hour", "3.5", "--tokens-per-s", "5800",
                                    "--calibration-gpu-hours", "4",
                                    "--calibration-usd-per-gpu-hour", "3.5", "--served-tokens",
                                    "1e9", "--quality-factor", "1.01", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_DOUBLE_EQ(j.at("calibration_usd").get<double>(), 14.0);
    EXPECT_NEAR(j.at("calibration_usd_per_million_tokens").get<double>(), 0.014, 1e-15);
    EXPECT_NEAR(j.at("quality_adjusted_usd_per_million_tokens").get<double>(),
                (3.5 / 20.88 + 0.014) * 1.01, 1e-12);
}

TEST(CostCli, HumanOutput) {
    const RunResult r = run_qbench({"cost", "--usd-per-hour", "0.4", "--tokens-per-s", "1200"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("0.0926"), std::string::npos) << r.out;
}

TEST(CostCli, BadInputExitsWithTwoAndAMessage) {
    const RunResult zero = run_qbench({"cost", "--usd-per-hour", "3.5", "--tokens-per-s", "0"});
    EXPECT_EQ(zero.exit_code, 2);
    EXPECT_NE(zero.err.find("tokens/s"), std::string::npos) << zero.err;

    const RunResult no_tokens = run_qbench({"cost", "--usd-per-hour", "3.5", "--tokens-per-s",
                                            "100", "--calibration-gpu-hours", "4",
                                            "--calibration-usd-per-gpu-hour", "3"});
    EXPECT_EQ(no_tokens.exit_code, 2);
    EXPECT_NE(no_tokens.err.find("served tokens"), std::string::npos) << no_tokens.err;
}

}  // namespace qbench::testing_cli
