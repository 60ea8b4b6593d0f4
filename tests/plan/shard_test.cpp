// Shard selection (flag, Slurm array, Kubernetes Indexed Job) and the assignment of units.
#include <gtest/gtest.h>

#include <map>
#include <set>

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

WorkUnit unit(const std::string& variant, const std::string& section, const std::string& item) {
    WorkUnit u;
    u.variant = variant;
    u.section = section;
    u.item = item;
    return u;
}

TEST(ShardAssignment, ModelEverywhereThroughputOnShardZeroItemsSplit) {
    for (int n : {1, 2, 3, 5}) {
        for (int i = 0; i < n; ++i) {
            const ShardSpec s{i, n, "test"};
            EXPECT_TRUE(unit_in_shard(unit("base", kModel, ""), s));
            EXPECT_EQ(unit_in_shard(unit("base", kThroughput, ""), s), i == 0);
            // A split unit runs in every shard, each on its own items.
            EXPECT_TRUE(unit_in_shard(unit("int4", kPerplexity, "sliding"), s));
            EXPECT_TRUE(unit_in_shard(unit("int4", kTasks, "mmlu"), s));
        }
    }
    EXPECT_TRUE(replicated_unit(unit("base", kModel, "")));
    EXPECT_FALSE(split_unit(unit("base", kModel, "")));
    EXPECT_FALSE(split_unit(unit("base", kThroughput, "")));
    EXPECT_TRUE(split_unit(unit("base", kPerplexity, "gptq")));
    EXPECT_TRUE(split_unit(unit("base", kTasks, "gsm")));
}

TEST(ShardAssignment, ItemsByKeyVariantsTogetherRoughlyBalanced) {
    const std::vector<WorkUnit> units = {unit("base", kPerplexity, "sliding"), unit("base", kTasks, "mmlu")};
    const int items = 3000;
    for (int n : {2, 3, 5}) {
        for (const auto& u : units) {
            std::vector<int> shard_of(items), per_shard(n, 0);
            for (int k = 0; k < items; ++k) {
                shard_of[k] = item_shard(u, std::to_string(k), n);
                ASSERT_GE(shard_of[k], 0);
                ASSERT_LT(shard_of[k], n);
                ++per_shard[shard_of[k]];
                // Every variant's copy of the item lands in the same shard.
                for (const char* v : {"int8", "int4", "w8a8"}) {
                    EXPECT_EQ(item_shard(unit(v, u.section, u.item), std::to_string(k), n), shard_of[k]);
                }
            }
            // Asked in reverse (another worker's order), or after other items: the same shard.
            for (int k = items - 1; k >= 0; k -= 7) EXPECT_EQ(item_shard(u, std::to_string(k), n), shard_of[k]);
            // Balanced within 15% of the mean (a binomial share deviates ~2% at this size).
            for (int i = 0; i < n; ++i) {
                EXPECT_NEAR(per_shard[i], items / n, 0.15 * items / n) << u.id() << " shard " << i << "/" << n;
            }
        }
    }
    // The key is hashed with its protocol or task: window 0 of every protocol is not in one shard.
    std::set<int> shards;
    for (const char* p : {"sliding", "gptq", "llama.cpp", "lm-eval-rolling", "a", "b", "c", "d"}) {
        shards.insert(item_shard(unit("base", kPerplexity, p), "0", 3));
    }
    EXPECT_GT(shards.size(), 1u);
}

}  // namespace
}  // namespace qbench::plan
