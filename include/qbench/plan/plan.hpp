// The run planner: a run configuration becomes a list of work units, one per piece of work
// whose result can be kept on its own: {variant, section, item}. Each unit names what its result
// depends on (`inputs`: the config subset it reads, the run-level settings, fingerprints of the
// model and data files) and is keyed by the sha256 of those inputs, so a result found on disk
// under the same key is the result this run would compute (docs/ARCHITECTURE.md, "Runs").
// Torch-free: the runner (eval) executes the units, the planner only lists them.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "qbench/config/run_config.hpp"

namespace qbench::plan {

namespace fs = std::filesystem;

// The sections of a variant, in the order a variant runs them.
inline constexpr const char* kModel = "model";            // load: the ModelSummary
inline constexpr const char* kPerplexity = "perplexity";  // one unit per protocol (+ KLD)
inline constexpr const char* kThroughput = "throughput";  // every throughput scenario
inline constexpr const char* kTasks = "tasks";            // one unit per task

struct WorkUnit {
    std::string variant;
    std::string section;     // kModel | kPerplexity | kThroughput | kTasks
    std::string item;        // the protocol (perplexity), the task name (tasks), else ""
    bool kld = false;        // perplexity on the KLD protocol: also writes / scores KLD
    nlohmann::json inputs;   // everything the result depends on
    std::string key;         // sha256 of inputs.dump()

    // "variant/section[/item]", for messages.
    std::string id() const;
};

// Fingerprints of what the config names but does not contain. Each returns a string that
// changes when the thing changes; the runner supplies them (it knows how tasks resolve).
struct Fingerprints {
    std::function<std::string(const fs::path&)> model;     // a variant's model path
    std::function<std::string(const fs::path&)> data;      // the perplexity data file
    std::function<std::string(const std::string&)> task;   // a task name or YAML path
};

// Size and modification time of a file, or of every regular file directly inside a directory
// (names sorted), hashed: cheap for multi-GB checkpoints and changed by any rewrite.
std::string path_fingerprint(const fs::path& path);

// Every unit of the run: variants in run order (the baseline first), and within a variant
// model, perplexity protocols, throughput, tasks, as configured. The baseline's KLD-protocol
// unit writes the distributions the other variants' KLD units read, so those units' inputs
// include the baseline's.
std::vector<WorkUnit> plan_run(const config::RunConfig& config, const Fingerprints& fingerprints);

// Variants in run order: the baseline first, then the others as written.
std::vector<const config::VariantConfig*> run_order(const config::RunConfig& config);

// Where the baseline's KLD distributions for `protocol` live, relative to the output directory.
fs::path kld_base_relpath(const std::string& baseline, const std::string& protocol);

}  // namespace qbench::plan
