// Sharded runs: a run's work units split over N workers (Slurm array tasks, Kubernetes Indexed
// Job pods, or `--shard i/N` by hand), each writing its own output directory with a header
// (shard.json), and `qbench merge` pooling them into the report a single run writes.
// docs/ARCHITECTURE.md, "Sharded runs". Torch-free.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "qbench/plan/plan.hpp"

namespace qbench::plan {

struct ShardSpec {
    int index = 0;
    int count = 1;
    std::string source;  // "--shard", "SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"
};

// The shard this process runs, or nullopt for an unsharded run. In order: `--shard i/N`
// (`shard_flag`, "" when not given); else SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT (the
// array must be dense: SLURM_ARRAY_TASK_MIN 0, SLURM_ARRAY_TASK_MAX COUNT-1, step 1); else
// JOB_COMPLETION_INDEX with `--shards N` (`shards_flag`, 0 when not given). `getenv` reads the
// environment (a parameter for tests). Bad or inconsistent values throw a kBadInput Error.
std::optional<ShardSpec> select_shard(const std::string& shard_flag, int shards_flag,
                                      const std::function<const char*(const char*)>& getenv);

// Which shards run a unit: a model unit runs in every shard (each worker loads the models it
// scores), throughput only in shard 0 (one machine's speed), a perplexity protocol or a task in
// every shard, each on its own items (item_shard).
bool unit_in_shard(const WorkUnit& unit, const ShardSpec& shard);
bool replicated_unit(const WorkUnit& unit);  // a unit every shard runs (the model load)
bool split_unit(const WorkUnit& unit);       // a unit whose items are split (perplexity, tasks)

// The shard of one group of items of a split unit (the windows of one batch, the items of one
// task chunk: scored together, so they stay together): sha256("section/item/key") mod N, `key`
// the group's stable key (its first window's index among the protocol's windows, its first
// task item's id). The variant is
// not hashed, so every variant's copy of an item lands in the same shard (both arms of a paired
// comparison, and the KLD baseline's distributions of a window next to the variants scored
// against them); nothing depends on the order in which workers start.
int item_shard(const WorkUnit& unit, const std::string& key, int count);

// The shard header (`<shard dir>/shard.json`): qbench version, config sha256 and text, the
// fingerprints of models and data, i and N, the planned units (variant, section, item, key) and
// the sha256 of the planned key list, this shard's keys and the sha256 of that list.
nlohmann::json shard_header(const config::RunConfig& config, const std::string& config_text,
                            const std::vector<WorkUnit>& planned, const Fingerprints& fingerprints,
                            const ShardSpec& shard);
inline constexpr const char* kShardHeader = "shard.json";

// The planned units a header lists (variant, section, item, key, kld; no inputs).
std::vector<WorkUnit> planned_units(const nlohmann::json& header);

// sha256 of the keys, one a line, in the given order.
std::string key_list_sha256(const std::vector<std::string>& keys);

}  // namespace qbench::plan
