// Corrections for a family of tests (e.g. one paired test per task).
#pragma once

#include <vector>

namespace qbench::stats {

struct HolmResult {
    std::vector<double> adjusted;  // Holm-adjusted p-values, in the input order
    std::vector<bool> rejected;    // adjusted <= alpha (with the tolerance below), input order
};

// Holm (1979) step-down, controlling the family-wise error rate under any dependence. Sort the m
// p-values ascending, p_(1) <= ... <= p_(m); adjusted p_(i) = min(1, max_{j <= i} (m − j + 1) ·
// p_(j)) (R's p.adjust(method = "holm")). Ties get equal adjusted values whatever their order.
// Tie convention: a test is rejected when adjusted <= alpha · (1 + 1e-9), i.e. "<=" with a
// relative tolerance for rounding, so an adjusted value of exactly alpha is rejected (R's
// convention; HDLSSkST's strict "<" would not reject it).
// Example: (0.50, 0.01, 0.001, 0.69, 0.02, 0.05, 0.0025) -> (1, 0.05, 0.007, 1, 0.08, 0.15,
// 0.015), rejecting 0.01 (the tie at exactly 0.05), 0.001 and 0.0025 at alpha = 0.05.
// An empty family gives empty results. Throws kBadInput for a p-value outside [0, 1] or an alpha
// outside (0, 1).
HolmResult holm(const std::vector<double>& p_values, double alpha = 0.05);

}  // namespace qbench::stats
