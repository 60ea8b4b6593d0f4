#include "qbench/plan/shard.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdint>

#include "qbench/util/build_info.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/hash.hpp"

namespace qbench::plan {

namespace {

using nlohmann::json;

// A non-negative integer, or a bad-input error naming `what`.
int parse_index(std::string_view s, const std::string& what) {
    int v = -1;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < 0) {
        throw_bad_input("{}: '{}' is not a non-negative integer", what, std::string(s));
    }
    return v;
}

ShardSpec checked(ShardSpec s) {
    if (s.count < 1) throw_bad_input("{}: the shard count must be at least 1, not {}", s.source, s.count);
    if (s.index >= s.count) throw_bad_input("{}: shard {} is out of range 0..{}", s.source, s.index, s.count - 1);
    return s;
}

}  // namespace

std::optional<ShardSpec> select_shard(const std::string& shard_flag, int shards_flag,
                                      const std::function<const char*(const char*)>& getenv) {
    auto env = [&](const char* name) -> std::optional<std::string> {
        const char* v = getenv(name);
        if (v == nullptr || *v == '\0') return std::nullopt;
        return std::string(v);
    };
    if (!shard_flag.empty()) {
        const auto slash = shard_flag.find('/');
        if (slash == std::string::npos) throw_bad_input("--shard: '{}' is not i/N", shard_flag);
        ShardSpec s{parse_index(shard_flag.substr(0, slash), "--shard"),
                    parse_index(shard_flag.substr(slash + 1), "--shard"), "--shard"};
        if (shards_flag > 0 && shards_flag != s.count) {
            throw_bad_input("--shard {} and --shards {} disagree on the shard count", shard_flag, shards_flag);
        }
        return checked(s);
    }
    if (const auto id = env("SLURM_ARRAY_TASK_ID")) {
        const auto count = env("SLURM_ARRAY_TASK_COUNT");
        const auto min = env("SLURM_ARRAY_TASK_MIN");
        const auto max = env("SLURM_ARRAY_TASK_MAX");
        if (!count || !min || !max) {
            throw_bad_input("SLURM_ARRAY_TASK_ID is set without SLURM_ARRAY_TASK_COUNT, _MIN and _MAX");
        }
        ShardSpec s{parse_index(*id, "SLURM_ARRAY_TASK_ID"), parse_index(*count, "SLURM_ARRAY_TASK_COUNT"),
                    "SLURM_ARRAY_TASK_ID"};
        const int lo = parse_index(*min, "SLURM_ARRAY_TASK_MIN");
        const int hi = parse_index(*max, "SLURM_ARRAY_TASK_MAX");
        const auto step = env("SLURM_ARRAY_TASK_STEP");
        if (lo != 0 || hi != s.count - 1 || (step && *step != "1")) {
            throw_bad_input("the Slurm array is sparse or stepped ({}-{}{}, {} tasks); shards need --array=0-{}", lo,
                            hi, step ? ":" + *step : "", s.count, s.count - 1);
        }
        if (shards_flag > 0 && shards_flag != s.count) {
            throw_bad_input("--shards {} disagrees with SLURM_ARRAY_TASK_COUNT {}", shards_flag, s.count);
        }
        return checked(s);
    }
    if (shards_flag > 0) {
        const auto index = env("JOB_COMPLETION_INDEX");
        if (!index) {
            throw_bad_input("--shards {} needs the shard index: JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) "
                            "is not set; use --shard i/N by hand",
                            shards_flag);
        }
        return checked({parse_index(*index, "JOB_COMPLETION_INDEX"), shards_flag, "JOB_COMPLETION_INDEX"});
    }
    return std::nullopt;
}

bool replicated_unit(const WorkUnit& unit) {
    return unit.section == kModel;
}

bool split_unit(const WorkUnit& unit) {
    return unit.section == kPerplexity || unit.section == kTasks;
}

bool unit_in_shard(const WorkUnit& unit, const ShardSpec& shard) {
    if (unit.section == kThroughput) return shard.index == 0;
    return true;
}

int item_shard(const WorkUnit& unit, const std::string& key, int count) {
    const std::string h = sha256_hex(unit.section + "/" + unit.item + "/" + key);
    const std::uint64_t v = std::stoull(h.substr(0, 15), nullptr, 16);
    return static_cast<int>(v % static_cast<std::uint64_t>(count));
}

std::string key_list_sha256(const std::vector<std::string>& keys) {
    std::string s;
    for (const auto& k : keys) s += k + "\n";
    return sha256_hex(s);
}

json shard_header(const config::RunConfig& c, const std::string& config_text, const std::vector<WorkUnit>& planned,
                  const Fingerprints& f, const ShardSpec& shard) {
    json plan = json::array();
    std::vector<std::string> all, mine;
    for (const auto& u : planned) {
        plan.push_back({{"variant", u.variant}, {"section", u.section}, {"item", u.item}, {"key", u.key},
                        {"kld", u.kld}});
        all.push_back(u.key);
        if (unit_in_shard(u, shard)) mine.push_back(u.key);
    }
    json models = json::object();
    for (const auto& v : c.variants) models[v.name] = v.served() ? "served, tokenizer " + (v.server_tokenizer ? std::string("the server's") : f.model(v.tokenizer))
                                     : f.model(v.model);
    json fp = {{"models", models}};
    if (c.perplexity) fp["perplexity_data"] = f.data(c.perplexity->data);
    return {{"qbench_version", build_info().version},
            {"config_sha256", c.sha256},
            {"config_path", fs::absolute(c.source_path).string()},
            {"config_text", config_text},
            {"fingerprints", fp},
            {"shard", {{"index", shard.index}, {"count", shard.count}, {"source", shard.source}}},
            {"plan", plan},
            {"plan_sha256", key_list_sha256(all)},
            {"keys", mine},
            {"keys_sha256", key_list_sha256(mine)}};
}

std::vector<WorkUnit> planned_units(const json& header) {
    std::vector<WorkUnit> out;
    for (const auto& p : header.at("plan")) {
        WorkUnit u;
        u.variant = p.at("variant").get<std::string>();
        u.section = p.at("section").get<std::string>();
        u.item = p.at("item").get<std::string>();
        u.key = p.at("key").get<std::string>();
        u.kld = p.at("kld").get<bool>();
        out.push_back(std::move(u));
    }
    return out;
}

}  // namespace qbench::plan
