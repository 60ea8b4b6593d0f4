// The run planner: units and their keys, the unit store, and the report assembled from units.
#include <gtest/gtest.h>

#include <fstream>

#include "qbench/plan/assemble.hpp"
#include "qbench/plan/plan.hpp"
#include "qbench/plan/unit_store.hpp"
#include "qbench/report/report.hpp"
#include "qbench/util/files.hpp"

namespace qbench::plan {
namespace {

using nlohmann::json;

class PlanTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("qbench_plan_test_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "m");
        std::ofstream(dir_ / "m" / "config.json") << "{}";
        std::ofstream(dir_ / "data.txt") << "hello\n";
    }
    void TearDown() override { fs::remove_all(dir_); }

    config::RunConfig parse(const std::string& extra = "", const std::string& ppl = "max_length: 64") {
        return config::parse_run_config("output_dir: out\nvariants:\n  - {name: a, model: m}\n  - {name: b, model: m, "
                                        "quantize: 'rtn:bits=4'}\nperplexity: {data: data.txt, protocols: [sliding, "
                                        "gptq], " + ppl + "}\n" + extra,
                                        dir_ / "run.yaml");
    }
    Fingerprints fingerprints() const {
        Fingerprints f;
        f.model = [](const fs::path& p) { return path_fingerprint(p); };
        f.data = [](const fs::path& p) { return path_fingerprint(p); };
        f.task = [](const std::string& name) { return "task:" + name; };
        return f;
    }
    const WorkUnit& find(const std::vector<WorkUnit>& units, const std::string& id) {
        for (const auto& u : units)
            if (u.id() == id) return u;
        ADD_FAILURE() << "no unit " << id;
        return units.front();
    }

    fs::path dir_;
};

TEST_F(PlanTest, UnitsFollowTheRunOrderSectionBySection) {
    const auto c = parse("tasks: {names: [t1, t2]}\nthroughput: {batch_sizes: [1]}\n");
    std::vector<std::string> ids;
    for (const auto& u : plan_run(c, fingerprints())) ids.push_back(u.id());
    EXPECT_EQ(ids, (std::vector<std::string>{"a/model", "a/perplexity/sliding", "a/perplexity/gptq", "a/throughput",
                                             "a/tasks/t1", "a/tasks/t2", "b/model", "b/perplexity/sliding",
                                             "b/perplexity/gptq", "b/throughput", "b/tasks/t1", "b/tasks/t2"}));
    const auto units = plan_run(c, fingerprints());
    EXPECT_TRUE(find(units, "a/perplexity/sliding").kld);  // kld_protocol defaults to the first
    EXPECT_FALSE(find(units, "a/perplexity/gptq").kld);
    EXPECT_TRUE(find(units, "b/perplexity/sliding").inputs.contains("kld_baseline"));
    EXPECT_FALSE(find(units, "a/perplexity/sliding").inputs.contains("kld_baseline"));
}

TEST_F(PlanTest, AKeyChangesExactlyWithTheUnitsInputs) {
    const auto base = plan_run(parse("throughput: {batch_sizes: [1]}\n"), fingerprints());
    const auto longer = plan_run(parse("throughput: {batch_sizes: [1]}\n", "max_length: 128"), fingerprints());
    for (const char* id : {"a/perplexity/sliding", "b/perplexity/gptq"})
        EXPECT_NE(find(base, id).key, find(longer, id).key) << id;
    for (const char* id : {"a/model", "a/throughput", "b/throughput"})
        EXPECT_EQ(find(base, id).key, find(longer, id).key) << id;
    // The model's files are part of every key of its variants.
    std::ofstream(dir_ / "m" / "model.safetensors") << "x";
    const auto touched = plan_run(parse("throughput: {batch_sizes: [1]}\n"), fingerprints());
    EXPECT_NE(find(base, "a/model").key, find(touched, "a/model").key);
    EXPECT_NE(find(base, "b/throughput").key, find(touched, "b/throughput").key);
}

TEST_F(PlanTest, TheStoreKeepsWholeResultsUnderTheirKeyWithTheirArtifacts) {
    const auto units = plan_run(parse(), fingerprints());
    const WorkUnit& u = find(units, "a/perplexity/sliding");
    UnitStore store(dir_ / "out");
    EXPECT_FALSE(store.done(u));
    fs::create_directories(dir_ / "out" / "kld");
    std::ofstream(dir_ / "out" / "kld" / "a.sliding.kldbase") << "x";
    store.save(u, {{"x", 1}}, {"kld/a.sliding.kldbase"});
    EXPECT_EQ(UnitStore(dir_ / "out").load(u), json({{"x", 1}}));  // a fresh store reads the file
    WorkUnit other = u;
    other.key = std::string(64, '0');
    EXPECT_FALSE(UnitStore(dir_ / "out").done(other));
    fs::remove(dir_ / "out" / "kld" / "a.sliding.kldbase");
    EXPECT_FALSE(UnitStore(dir_ / "out").done(u)) << "an artifact is missing";
    store.clear();
    EXPECT_FALSE(fs::exists(store.dir()));
}

TEST_F(PlanTest, AVariantIsOkOnlyWhenEveryUnitHasAResult) {
    const auto c = parse("throughput: {batch_sizes: [1, 4]}\ncost: {on_demand_usd_per_hour: 2.0}\n");
    const auto units = plan_run(c, fingerprints());
    UnitStore store(dir_ / "out");
    auto ppl = [](double p) {
        report::PerplexityResult r;
        r.protocol = "sliding";
        r.ppl = p;
        return json{{"perplexity", r}};
    };
    report::ThroughputResult t;
    t.decode.resize(2);
    t.decode[0].batch_size = 1;
    t.decode[0].tokens_per_s = 100;
    t.decode[1].batch_size = 4;
    t.decode[1].tokens_per_s = 250;
    for (const auto& u : units) {
        if (u.id() == "b/perplexity/gptq") continue;  // as if killed during it
        if (u.section == kModel) store.save(u, report::ModelSummary{});
        if (u.section == kThroughput) store.save(u, t);
        if (u.section == kPerplexity) {
            auto r = ppl(u.variant == "a" ? 10.0 : 12.0);
            r["perplexity"]["protocol"] = u.item;
            store.save(u, r);
        }
    }
    auto vs = assemble(c, units, store, {});
    ASSERT_EQ(vs.size(), 2u);
    EXPECT_EQ(vs[0].status, "ok");
    EXPECT_EQ(vs[1].status, "incomplete");
    EXPECT_NE(vs[1].error.find("b/perplexity/gptq"), std::string::npos) << vs[1].error;
    EXPECT_EQ(vs[1].perplexity.size(), 1u);
    // The cost is derived from the units: the largest batch, ppl 12 / 10 as the quality factor.
    ASSERT_TRUE(vs[1].cost);
    EXPECT_EQ(vs[1].cost->throughput_basis, "decode batch 4 at context 0");
    EXPECT_NEAR(vs[1].cost->quality_factor, 1.2, 1e-12);
    EXPECT_DOUBLE_EQ(vs[0].cost->quality_factor, 1.0);
    EXPECT_NEAR(vs[1].cost->tiers.at(0).quality_adjusted_usd_per_million_tokens,
                2.0 / (250 * 3600.0) * 1e6 * 1.2, 1e-9);

    auto r = ppl(12.0);
    r["perplexity"]["protocol"] = "gptq";
    store.save(find(units, "b/perplexity/gptq"), r);
    vs = assemble(c, units, store, {{"a", Failure{"boom", 2}}});
    EXPECT_EQ(vs[0].status, "failed");
    EXPECT_EQ(vs[0].error_code, 2);
    EXPECT_EQ(vs[1].status, "ok");
}

}  // namespace
}  // namespace qbench::plan
