#include "qbench/report/derived.hpp"

#include <algorithm>

namespace qbench::report {

bool Derived::gates_passed() const {
    return std::all_of(gates.begin(), gates.end(), [](const GateResult& g) { return g.passed; });
}

Derived derive(const std::vector<VariantResult>& variants, const std::vector<GateSpec>& gates) {
    Derived d;
    d.perplexity = compare_perplexity(variants);
    d.tasks = compare_tasks(variants);
    d.gates = evaluate_gates(variants, gates, d.tasks, d.perplexity);
    return d;
}

}  // namespace qbench::report
