// How report JSON holds doubles (private to src/report): non-finite values are written as null
// (what JSON can hold) and read back as NaN, a failed value for every reader
// (report/comparison.hpp, failed_values); so is a number that is missing.
#pragma once

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

namespace qbench::report::detail {

inline nlohmann::json number(double x) {
    return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr);
}

inline double number_at(const nlohmann::json& j, const char* key) {
    const auto x = j.find(key);
    return x == j.end() || x->is_null() ? std::numeric_limits<double>::quiet_NaN() : x->get<double>();
}

inline nlohmann::json numbers(const std::vector<double>& xs) {
    nlohmann::json j = nlohmann::json::array();
    for (double x : xs) j.push_back(number(x));
    return j;
}

inline std::vector<double> numbers_at(const nlohmann::json& j, const char* key) {
    std::vector<double> out;
    for (const auto& x : j.at(key)) {
        out.push_back(x.is_null() ? std::numeric_limits<double>::quiet_NaN() : x.get<double>());
    }
    return out;
}

}  // namespace qbench::report::detail
