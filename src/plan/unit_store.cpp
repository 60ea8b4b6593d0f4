#include "qbench/plan/unit_store.hpp"

#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"
#include "qbench/util/log.hpp"

namespace qbench::plan {

using nlohmann::json;

UnitStore::UnitStore(fs::path out_dir) : out_dir_(std::move(out_dir)), dir_(out_dir_ / "units") {}

fs::path UnitStore::path(const WorkUnit& unit) const {
    std::string name = unit.section;
    if (!unit.item.empty()) name += "." + unit.item;
    return dir_ / unit.variant / (name + "." + unit.key.substr(0, 16) + ".json");
}

std::optional<json> UnitStore::load(const WorkUnit& unit) const {
    const fs::path p = path(unit);
    auto it = cache_.find(p.string());
    if (it == cache_.end()) {
        std::error_code ec;
        if (!fs::exists(p, ec)) return std::nullopt;
        json j;
        try {
            j = json::parse(read_file(p));
        } catch (const std::exception& e) {
            log::warn("{}: unreadable unit result, redoing {} ({})", p.string(), unit.id(), e.what());
            return std::nullopt;
        }
        it = cache_.emplace(p.string(), std::move(j)).first;
    }
    const json& j = it->second;
    if (!j.is_object() || j.value("key", "") != unit.key || !j.contains("result")) return std::nullopt;
    for (const auto& a : j.value("artifacts", json::array())) {
        std::error_code ec;
        if (!fs::exists(out_dir_ / a.get<std::string>(), ec)) return std::nullopt;
    }
    return j.at("result");
}

void UnitStore::save(const WorkUnit& unit, const json& result, const std::vector<std::string>& artifacts) {
    json j = {{"unit", unit.id()}, {"key", unit.key}, {"inputs", unit.inputs}, {"artifacts", artifacts},
              {"result", result}};
    const fs::path p = path(unit);
    fs::create_directories(p.parent_path());
    write_file_atomic(p, j.dump(-1, ' ', false, json::error_handler_t::replace));
    cache_[p.string()] = std::move(j);
}

void UnitStore::clear() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    if (ec) throw_runtime("{}: cannot remove ({})", dir_.string(), ec.message());
    cache_.clear();
}

}  // namespace qbench::plan
