// qbench's IFEval checkers against lm-eval 0.4.13's own checker classes, case by case:
// tests/fixtures/ifeval/agreement.json (scripts/gen_ifeval_fixtures.py: lm-eval's verdicts with
// langdetect seeded, punkt-free texts for the two punkt checkers).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include "qbench/eval/tasks/ifeval.hpp"
#include "support/fixtures.hpp"

namespace qbench::eval::tasks {
namespace {

using nlohmann::json;

const json& fixture() {
    static const json doc = [] {
        const auto path = qbench::testing::fixtures_dir() / "ifeval" / "agreement.json";
        std::ifstream in(path);
        if (!in) throw std::runtime_error("cannot open " + path.string());
        return json::parse(in);
    }();
    return doc;
}

std::string describe(const json& c) {
    return c.at("id").get<std::string>() + " kwargs=" + c.at("kwargs").dump() + " response=" + c.at("response").dump();
}

TEST(IfevalAgreement, FixtureCoversEveryCheckerBothWays) {
    std::map<std::string, std::set<bool>> seen;
    for (const auto& c : fixture().at("checks")) seen[c.at("id").get<std::string>()].insert(c.at("followed").get<bool>());
    for (const auto& id : ifeval_instruction_ids()) {
        ASSERT_TRUE(seen.count(id)) << "no lm-eval case for " << id;
        EXPECT_EQ(seen[id].size(), 2u) << id << " has only followed or only not-followed cases";
    }
    EXPECT_EQ(seen.size(), ifeval_instruction_ids().size());
    EXPECT_GE(fixture().at("checks").size(), 300u);
}

TEST(IfevalAgreement, EveryCheckerGivesLmEvalsVerdict) {
    std::size_t n = 0, bad = 0;
    for (const auto& c : fixture().at("checks")) {
        const bool want = c.at("followed").get<bool>();
        const bool got = ifeval_check(c.at("id").get<std::string>(), c.at("kwargs"), c.at("prompt").get<std::string>(),
                                      c.at("response").get<std::string>());
        ++n;
        if (got != want) ++bad;
        EXPECT_EQ(got, want) << describe(c);
    }
    EXPECT_EQ(bad, 0u) << bad << " of " << n << " cases disagree with lm-eval";
}

TEST(IfevalAgreement, StrictAndLoosePromptLevelMatchLmEval) {
    for (const auto& p : fixture().at("prompts")) {
        json doc = {{"instruction_id_list", p.at("instruction_id_list")},
                    {"kwargs", p.at("kwargs")},
                    {"prompt", p.at("prompt")}};
        const auto s = score_ifeval(doc, p.at("response").get<std::string>());
        const std::string what = p.at("instruction_id_list").dump() + " response=" + p.at("response").dump();
        EXPECT_EQ(json(s.strict), p.at("strict")) << what;
        EXPECT_EQ(json(s.loose), p.at("loose")) << what;
        EXPECT_EQ(s.prompt_strict, p.at("prompt_strict").get<bool>()) << what;
        EXPECT_EQ(s.prompt_loose, p.at("prompt_loose").get<bool>()) << what;
    }
    // the items exercise the loose variants: at least one is followed loosely but not strictly
    bool loose_only = false;
    for (const auto& p : fixture().at("prompts"))
        loose_only |= p.at("prompt_loose").get<bool>() && !p.at("prompt_strict").get<bool>();
    EXPECT_TRUE(loose_only);
}

// Not agreement: the language approximation (docs/ARCHITECTURE.md, "Tasks", IFEval) knowingly
// gives the other verdict on these texts. If one starts agreeing, move it to the checks.
TEST(IfevalDocumentedDifference, LanguageGuessDiffersExactlyWhereDocumented) {
    const std::set<std::string> documented = {"Latin-script language outside guess_language's eight",
                                              "Cyrillic is always ru", "Arabic script is always ar",
                                              "Devanagari is always hi"};
    ASSERT_FALSE(fixture().at("documented_differences").empty());
    for (const auto& c : fixture().at("documented_differences")) {
        EXPECT_TRUE(documented.count(c.at("approximation").get<std::string>())) << c.at("approximation");
        const bool lm = c.at("followed").get<bool>();
        const bool got = ifeval_check(c.at("id").get<std::string>(), c.at("kwargs"), c.at("prompt").get<std::string>(),
                                      c.at("response").get<std::string>());
        EXPECT_NE(got, lm) << "now agrees with lm-eval: " << describe(c);
    }
}

}  // namespace
}  // namespace qbench::eval::tasks
