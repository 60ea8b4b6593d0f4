// Shard selection (flag, Slurm array, Kubernetes Indexed Job) and the assignment of units.
#include <gtest/gtest.h>

#include <map>

#include "qbench/plan/shard.hpp"
#include "qbench/util/error.hpp"

namespace qbench::plan {
namespace {

using Env = std::map<std::string, std::string>;

std::optional<ShardSpec> select(const std::string& flag, int shards, const Env& env) {
    return select_shard(flag, shards, [&env](const char* n) -> const char* {
        auto it = env.find(n);
        return it == env.end() ? nullptr : it->second.c_str();
    });
}

std::string error_of(const std::string& flag, int shards, const Env& env) {
    try {
        select(flag, shards, env);
    } catch (const Error& e) {
        EXPECT_EQ(e.exit_code(), 2) << e.what();
        return e.what();
    }
    return "";
}

TEST(SelectShard, FlagSlurmAndIndexedJob) {
    EXPECT_FALSE(select("", 0, {}).has_value());
    auto s = select("1/3", 0, {});
    ASSERT_TRUE(s);
    EXPECT_EQ(s->index, 1);
    EXPECT_EQ(s->count, 3);
    const Env slurm = {{"SLURM_ARRAY_TASK_ID", "2"}, {"SLURM_ARRAY_TASK_COUNT", "3"},
                       {"SLURM_ARRAY_TASK_MIN", "0"}, {"SLURM_ARRAY_TASK_MAX", "2"}};
    s = select("", 0, slurm);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->index, 2);
    EXPECT_EQ(s->count, 3);
    EXPECT_EQ(s->source, "SLURM_ARRAY_TASK_ID");
    // The flag wins over the environment.
    EXPECT_EQ(select("0/2", 0, slurm)->count, 2);
    s = select("", 4, {{"JOB_COMPLETION_INDEX", "3"}});
    ASSERT_TRUE(s);
    EXPECT_EQ(s->index, 3);
    EXPECT_EQ(s->count, 4);
    // An Indexed Job's index alone (no --shards) is not a sharded run.
    EXPECT_FALSE(select("", 0, {{"JOB_COMPLETION_INDEX", "3"}}).has_value());
}

TEST(SelectShard, RefusesSparseSteppedAndBadValues) {
    // --array=1-3: three tasks, but not 0..2
    EXPECT_NE(error_of("", 0, {{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_COUNT", "3"},
                               {"SLURM_ARRAY_TASK_MIN", "1"}, {"SLURM_ARRAY_TASK_MAX", "3"}})
                  .find("sparse or stepped"),
              std::string::npos);
    // --array=0,2,4: three tasks up to 4
    EXPECT_NE(error_of("", 0, {{"SLURM_ARRAY_TASK_ID", "2"}, {"SLURM_ARRAY_TASK_COUNT", "3"},
                               {"SLURM_ARRAY_TASK_MIN", "0"}, {"SLURM_ARRAY_TASK_MAX", "4"}})
                  .find("sparse or stepped"),
              std::string::npos);
    // --array=0-4:2 reports a step
    EXPECT_NE(error_of("", 0, {{"SLURM_ARRAY_TASK_ID", "2"}, {"SLURM_ARRAY_TASK_COUNT", "3"},
                               {"SLURM_ARRAY_TASK_MIN", "0"}, {"SLURM_ARRAY_TASK_MAX", "2"},
                               {"SLURM_ARRAY_TASK_STEP", "2"}})
                  .find("sparse or stepped"),
              std::string::npos);
    EXPECT_NE(error_of("", 0, {{"SLURM_ARRAY_TASK_ID", "0"}}).find("SLURM_ARRAY_TASK_COUNT"), std::string::npos);
    EXPECT_NE(error_of("", 3, {}).find("JOB_COMPLETION_INDEX"), std::string::npos);
    EXPECT_NE(error_of("", 3, {{"JOB_COMPLETION_INDEX", "3"}}).find("out of range"), std::string::npos);
    EXPECT_NE(error_of("3/3", 0, {}).find("out of range"), std::string::npos);
    EXPECT_NE(error_of("1-3", 0, {}).find("not i/N"), std::string::npos);
    EXPECT_NE(error_of("a/3", 0, {}).find("not a non-negative integer"), std::string::npos);
    EXPECT_NE(error_of("1/3", 4, {}).find("disagree"), std::string::npos);
}

TEST(ShardAssignment, EveryUnitInOneShardAndVariantsTogether) {
    std::vector<WorkUnit> units;
    for (const char* v : {"base", "int8", "int4"}) {
        for (const auto& [section, item] : std::vector<std::pair<std::string, std::string>>{
                 {kModel, ""}, {kPerplexity, "sliding"}, {kPerplexity, "gptq"}, {kPerplexity, "llama.cpp"},
                 {kThroughput, ""}, {kTasks, "mc"}, {kTasks, "gsm"}, {kTasks, "arc"}, {kTasks, "hellaswag"}}) {
            WorkUnit u;
            u.variant = v;
            u.section = section;
            u.item = item;
            units.push_back(u);
        }
    }
    for (int n : {1, 2, 3, 5}) {
        std::map<std::string, int> shard_of;  // section/item -> shard
        std::vector<int> per_shard(n, 0);
        for (const auto& u : units) {
            int in = 0, which = -1;
            for (int i = 0; i < n; ++i) {
                if (unit_in_shard(u, {i, n, "test"})) {
                    ++in;
                    which = i;
                }
            }
            if (u.section == kModel) {
                EXPECT_EQ(in, n);  // every shard loads the models
                continue;
            }
            ASSERT_EQ(in, 1) << u.id() << " in " << n << " shards";
            if (u.section == kThroughput) EXPECT_EQ(which, 0);
            auto [it, fresh] = shard_of.emplace(u.section + "/" + u.item, which);
            EXPECT_EQ(it->second, which) << u.id() << ": variants of one unit in different shards";
            ++per_shard[which];
        }
        if (n <= 3) {
            for (int i = 0; i < n; ++i) EXPECT_GT(per_shard[i], 0) << "shard " << i << "/" << n << " has no work";
        }
    }
}

}  // namespace
}  // namespace qbench::plan
