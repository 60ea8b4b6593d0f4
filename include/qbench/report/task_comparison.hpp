// Task metrics of each variant against the baseline, paired item by item, derived from the
// variants' results alone (TaskResult keeps per-item scores), so `qbench compare` rebuilds them
// from report files. 0/1 metrics: stats::paired_binary (Tango CI of the difference, McNemar
// mid-p, flips both ways, MDE at this n with 80 % power). Other per-item scores (pass@k with
// k > 1, IFEval instruction fractions): stats::paired_mean_difference (paired t) and mde_mean.
// Holm's step-down adjusts the p-values over all task metrics of one variant (the family);
// significant = Holm-adjusted p <= 0.05.
#pragma once

#include <filesystem>
#include <vector>

#include "qbench/report/results.hpp"

namespace qbench::report {

std::vector<MetricComparison> compare_tasks(const std::vector<VariantResult>& variants, double alpha = 0.05);

}  // namespace qbench::report

namespace qbench::report {

// Fills a task's per-item scores from its samples log (samples_path, relative to report_dir)
// when the report does not carry them. Returns false when neither has them.
bool load_item_scores(TaskResult& task, const std::filesystem::path& report_dir);

}  // namespace qbench::report
