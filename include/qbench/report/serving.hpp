// Results of a load test against a served model (serve/load.hpp): plain data, serialized by the
// report module (report/serving.cpp) like every other result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qbench/report/results.hpp"

namespace qbench::report {

// ServedRequest, Slo, ServedLoadResult and ServedBenchResult are declared in results.hpp (a
// served variant of a run holds its load result).

void to_json(nlohmann::json& j, const ServedRequest& r);
void from_json(const nlohmann::json& j, ServedRequest& r);
void to_json(nlohmann::json& j, const Slo& s);
void from_json(const nlohmann::json& j, Slo& s);
void to_json(nlohmann::json& j, const ServedLoadResult& r);
void from_json(const nlohmann::json& j, ServedLoadResult& r);
void to_json(nlohmann::json& j, const ServedBenchResult& r);
void from_json(const nlohmann::json& j, ServedBenchResult& r);

}  // namespace qbench::report
