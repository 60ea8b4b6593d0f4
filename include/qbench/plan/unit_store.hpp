// Unit results on disk: <out>/units/<variant>/<section>[.<item>].<key16>.json, each written
// atomically (temp file + rename) when its unit completes, so a run killed at any point leaves
// only whole results. A result counts only when its file holds the unit's full key and every
// artifact it names (files relative to the output directory, e.g. a KLD base file or a task's
// samples log) still exists.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "qbench/plan/plan.hpp"

namespace qbench::plan {

class UnitStore {
public:
    explicit UnitStore(fs::path out_dir);

    // The stored result of `unit`, or nullopt when there is none under its key (never run,
    // inputs changed, an artifact missing, or an unreadable file, which is logged).
    std::optional<nlohmann::json> load(const WorkUnit& unit) const;
    bool done(const WorkUnit& unit) const { return load(unit).has_value(); }

    // Writes the result atomically; `artifacts` are paths relative to the output directory.
    void save(const WorkUnit& unit, const nlohmann::json& result, const std::vector<std::string>& artifacts = {});

    // Removes every stored result (a run without --resume starts over).
    void clear();

    fs::path path(const WorkUnit& unit) const;
    const fs::path& dir() const { return dir_; }

private:
    fs::path out_dir_;
    fs::path dir_;
    mutable std::map<std::string, nlohmann::json> cache_;  // by file path: what was read or written
};

}  // namespace qbench::plan
