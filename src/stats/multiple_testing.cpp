#include "qbench/stats/multiple_testing.hpp"

#include <algorithm>
#include <cstddef>
#include <numeric>

#include "qbench/util/error.hpp"

namespace qbench::stats {

HolmResult holm(const std::vector<double>& p_values, double alpha) {
    if (!(alpha > 0.0 && alpha < 1.0)) {
        throw_bad_input("alpha must be strictly between 0 and 1, got {}", alpha);
    }
    for (std::size_t i = 0; i < p_values.size(); ++i) {
        if (!(p_values[i] >= 0.0 && p_values[i] <= 1.0)) {
            throw_bad_input("p-value {} must lie in [0, 1], got {}", i, p_values[i]);
        }
    }
    const std::size_t m = p_values.size();
    std::vector<std::size_t> order(m);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t x, std::size_t y) { return p_values[x] < p_values[y]; });
    HolmResult r{std::vector<double>(m), std::vector<bool>(m)};
    double running_max = 0.0;
    for (std::size_t rank = 0; rank < m; ++rank) {
        const std::size_t i = order[rank];
        running_max = std::max(running_max, static_cast<double>(m - rank) * p_values[i]);
        r.adjusted[i] = std::min(1.0, running_max);
        r.rejected[i] = r.adjusted[i] <= alpha * (1.0 + 1e-9);
    }
    return r;
}

}  // namespace qbench::stats
