#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "run_qbench.hpp"

namespace qbench::testing_cli {

TEST(StatsCli, TwoProportionJsonGivesTheSeedFormulasTrueValues) {
    const RunResult r =
        run_qbench({"stats", "two-proportion", "--p1", "0.299", "--p2", "0.262", "--n", "164",
                    "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_NEAR(j.at("z").get<double>(), 0.7458, 5e-4);
    EXPECT_NEAR(j.at("p_value").get<double>(), 0.4558, 5e-4);
    EXPECT_NEAR(j.at("critical_difference").get<double>(), 0.09724, 5e-6);
    EXPECT_NEAR(j.at("mde").get<double>(), 0.139, 5e-4);
    EXPECT_EQ(j.at("design"), "unpaired");
    EXPECT_FALSE(j.at("significant").get<bool>());
    EXPECT_LT(j.at("ci").at("lower").get<double>(), 0.0);
}

TEST(StatsCli, TwoProportionHumanOutputIsATable) {
    const RunResult r =
        run_qbench({"stats", "two-proportion", "--p1", "0.568", "--p2", "0.521", "--n", "1319"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("2.4236"), std::string::npos) << r.out;  // z = 2.424 (§7)
    EXPECT_NE(r.out.find("(significant)"), std::string::npos);
}

TEST(StatsCli, McNemarJsonWithAndWithoutN) {
    const RunResult bare = run_qbench({"stats", "mcnemar", "--b", "12", "--c", "2", "--json"});
    ASSERT_EQ(bare.exit_code, 0) << bare.err;
    const auto j = nlohmann::json::parse(bare.out);
    EXPECT_NEAR(j.at("exact_p").get<double>(), 0.012940, 1e-6);
    EXPECT_NEAR(j.at("mid_p").get<double>(), 0.007385, 1e-6);
    EXPECT_FALSE(j.contains("ci"));

    // Table (4, 9, 3, 16): Tango interval of (c − b)/n = (−0.390, 0.027).
    const RunResult full =
        run_qbench({"stats", "mcnemar", "--b", "9", "--c", "3", "--n", "32", "--json"});
    ASSERT_EQ(full.exit_code, 0) << full.err;
    const auto k = nlohmann::json::parse(full.out);
    EXPECT_EQ(k.at("ci").at("method"), "tango");
    EXPECT_NEAR(k.at("ci").at("lower").get<double>(), -0.390, 6e-4);
    EXPECT_NEAR(k.at("ci").at("upper").get<double>(), 0.027, 6e-4);
    EXPECT_DOUBLE_EQ(k.at("flips").get<double>(), 12.0 / 32.0);
    EXPECT_DOUBLE_EQ(k.at("difference").get<double>(), -6.0 / 32.0);
}

TEST(StatsCli, WilsonJson) {
    const RunResult r = run_qbench({"stats", "wilson", "--k", "7", "--n", "50", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_NEAR(j.at("clopper_pearson").at("lower").get<double>(), 0.0581917003, 1e-9);
    EXPECT_NEAR(j.at("clopper_pearson").at("upper").get<double>(), 0.2673960025, 1e-9);
    EXPECT_NEAR(j.at("wilson").at("lower").get<double>(), 0.06951, 5e-6);
}

TEST(StatsCli, BadInputExitsWithTwoAndAMessage) {
    const RunResult zero_n = run_qbench({"stats", "wilson", "--k", "0", "--n", "0", "--json"});
    EXPECT_EQ(zero_n.exit_code, 2);
    EXPECT_NE(zero_n.err.find("n >= 1"), std::string::npos) << zero_n.err;
    EXPECT_TRUE(zero_n.out.empty());

    const RunResult bad_p =
        run_qbench({"stats", "two-proportion", "--p1", "1.5", "--p2", "0.2", "--n", "10"});
    EXPECT_EQ(bad_p.exit_code, 2);
    EXPECT_NE(bad_p.err.find("[0, 1]"), std::string::npos) << bad_p.err;

    const RunResult bad_counts = run_qbench({"stats", "mcnemar", "--b", "8", "--c", "3", "--n",
                                             "10"});
    EXPECT_EQ(bad_counts.exit_code, 2);
    EXPECT_NE(bad_counts.err.find("b + c <= n"), std::string::npos) << bad_counts.err;

    const RunResult bad_conf = run_qbench({"stats", "wilson", "--k", "1", "--n", "5",
                                           "--confidence", "95"});
    EXPECT_EQ(bad_conf.exit_code, 2);
    EXPECT_NE(bad_conf.err.find("confidence"), std::string::npos) << bad_conf.err;

    const RunResult missing = run_qbench({"stats", "mcnemar", "--b", "3"});
    EXPECT_EQ(missing.exit_code, 2);
    EXPECT_NE(missing.err.find("--c"), std::string::npos) << missing.err;
}

}  // namespace qbench::testing_cli
