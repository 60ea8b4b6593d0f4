#include "qbench/report/task_comparison.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "qbench/util/error.hpp"
#include "qbench/util/strings.hpp"

#include "qbench/stats/means.hpp"
#include "qbench/stats/multiple_testing.hpp"
#include "qbench/stats/paired.hpp"
#include "qbench/stats/power.hpp"

namespace qbench::report {

namespace {

const TaskResult* find_task(const VariantResult& v, const std::string& name) {
    for (const auto& t : v.tasks)
        if (t.name == name) return &t;
    return nullptr;
}

bool is01(double x) { return x == 0.0 || x == 1.0; }

// Items of both results are paired by id; the same id must name the same item (document,
// prompt and target hashes), else the pairing would compare different questions.
void check_same_items(const TaskResult& base, const TaskResult& var, const std::string& baseline_name,
                      const std::string& variant_name) {
    if (base.item_hashes.size() != base.item_ids.size() || var.item_hashes.size() != var.item_ids.size()) return;
    std::map<std::string, const std::string*> hash_of;
    for (std::size_t i = 0; i < var.item_ids.size(); ++i) hash_of[var.item_ids[i]] = &var.item_hashes[i];
    static const char* const kParts[] = {"document", "prompt", "target"};
    for (std::size_t i = 0; i < base.item_ids.size(); ++i) {
        const auto it = hash_of.find(base.item_ids[i]);
        if (it == hash_of.end() || *it->second == base.item_hashes[i]) continue;
        const auto a = split(base.item_hashes[i], ':');
        const auto b = split(*it->second, ':');
        std::vector<std::string> differ;
        for (std::size_t p = 0; p < 3; ++p)
            if (p >= a.size() || p >= b.size() || a[p] != b[p]) differ.push_back(kParts[p]);
        throw_bad_input("task {} item {}: the {} differs between '{}' and '{}' ({} vs {}); a paired comparison needs "
                        "the same items",
                        base.name, base.item_ids[i], join(differ, ", "), baseline_name, variant_name,
                        base.item_hashes[i], *it->second);
    }
}

// Items both results scored on `metric`, paired by item id.
void paired_scores(const TaskResult& base, const TaskResult& var, const std::string& metric, std::vector<double>& a,
                   std::vector<double>& b) {
    const auto bs = base.item_scores.find(metric);
    const auto vs = var.item_scores.find(metric);
    if (bs == base.item_scores.end() || vs == var.item_scores.end()) return;
    std::map<std::string, double> by_id;
    for (std::size_t i = 0; i < var.item_ids.size() && i < vs->second.size(); ++i) by_id[var.item_ids[i]] = vs->second[i];
    for (std::size_t i = 0; i < base.item_ids.size() && i < bs->second.size(); ++i) {
        const auto it = by_id.find(base.item_ids[i]);
        if (it == by_id.end() || std::isnan(bs->second[i]) || std::isnan(it->second)) continue;
        a.push_back(bs->second[i]);
        b.push_back(it->second);
    }
}

MetricComparison compare_metric(const std::string& variant, const std::string& task, const std::string& metric,
                                const std::vector<double>& a, const std::vector<double>& b) {
    MetricComparison c;
    c.variant = variant;
    c.task = task;
    c.metric = metric;
    c.n = static_cast<std::int64_t>(a.size());
    const bool binary = std::all_of(a.begin(), a.end(), is01) && std::all_of(b.begin(), b.end(), is01);
    double sa = 0, sb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        sa += a[i];
        sb += b[i];
    }
    c.baseline_value = sa / static_cast<double>(c.n);
    c.variant_value = sb / static_cast<double>(c.n);
    if (binary) {
        std::vector<int> ia(a.begin(), a.end()), ib(b.begin(), b.end());
        const auto p = stats::paired_binary(ia, ib);
        c.difference = p.difference;
        c.ci_lower = p.ci.lower;
        c.ci_upper = p.ci.upper;
        c.ci_method = p.ci_method;
        c.b = p.b;
        c.c = p.c;
        c.flips = p.flips;
        c.p_value = p.mcnemar.mid_p;
        c.test = "mcnemar-midp";
        c.mde = p.mde;
    } else {
        c.test = "paired-t";
        c.ci_method = "paired-t";
        c.difference = c.variant_value - c.baseline_value;
        for (std::size_t i = 0; i < a.size(); ++i)
            if (a[i] != b[i]) ++(b[i] < a[i] ? c.b : c.c);
        c.flips = static_cast<double>(c.b + c.c) / static_cast<double>(c.n);
        if (c.n >= 2) {
            const auto d = stats::paired_mean_difference(a, b);
            c.ci_lower = d.ci.lower;
            c.ci_upper = d.ci.upper;
            c.p_value = std::isfinite(d.p_value) ? d.p_value : 1.0;
            c.mde = stats::mde_mean(d.sd * d.sd, c.n);
        } else {
            c.ci_lower = c.ci_upper = c.mde = std::numeric_limits<double>::quiet_NaN();
            c.p_value = 1.0;
        }
    }
    return c;
}

}  // namespace

std::vector<MetricComparison> compare_tasks(const std::vector<VariantResult>& variants, double alpha) {
    const VariantResult* baseline = nullptr;
    for (const auto& v : variants)
        if (v.baseline && v.status == "ok") baseline = &v;
    std::vector<MetricComparison> out;
    if (baseline == nullptr) return out;
    for (const auto& v : variants) {
        if (v.baseline || v.status != "ok") continue;
        const std::size_t first = out.size();
        for (const auto& bt : baseline->tasks) {
            const TaskResult* vt = find_task(v, bt.name);
            if (vt == nullptr || vt->data_sha256 != bt.data_sha256) continue;
            check_same_items(bt, *vt, baseline->name, v.name);
            for (const auto& m : bt.metrics) {
                std::vector<double> a, b;
                paired_scores(bt, *vt, m.name, a, b);
                if (a.empty()) continue;
                out.push_back(compare_metric(v.name, bt.name, m.name, a, b));
            }
        }
        std::vector<double> ps;
        for (std::size_t i = first; i < out.size(); ++i) ps.push_back(std::clamp(out[i].p_value, 0.0, 1.0));
        const auto holm = stats::holm(ps, alpha);
        for (std::size_t i = first; i < out.size(); ++i) {
            out[i].p_holm = holm.adjusted[i - first];
            out[i].significant = holm.rejected[i - first];
        }
    }
    return out;
}

}  // namespace qbench::report

namespace qbench::report {

bool load_item_scores(TaskResult& task, const std::filesystem::path& report_dir) {
    if (!task.item_ids.empty()) return true;
    const auto path = report_dir / task.samples_path;
    std::error_code ec;
    if (task.samples_path.empty() || !std::filesystem::exists(path, ec)) return false;
    std::ifstream in(path, std::ios::binary);
    std::string line;
    std::size_t line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.empty()) continue;
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception& e) {
            throw_bad_input("{}:{}: {}", path.string(), line_no, e.what());
        }
        const std::string id = std::to_string(j.value("doc_id", std::int64_t{0}));
        const std::string subtask = j.value("subtask", "");
        const std::size_t row = task.item_ids.size();
        task.item_ids.push_back(subtask.empty() ? id : subtask + "/" + id);
        if (j.contains("doc_hash") && j.contains("prompt_hash") && j.contains("target_hash")) {
            task.item_hashes.push_back(j["doc_hash"].get<std::string>().substr(0, 16) + ":" +
                                       j["prompt_hash"].get<std::string>().substr(0, 16) + ":" +
                                       j["target_hash"].get<std::string>().substr(0, 16));
        }
        for (const auto& m : task.metrics) {
            auto& xs = task.item_scores[m.name];
            xs.resize(row, std::numeric_limits<double>::quiet_NaN());
            const auto& scores = j.value("scores", nlohmann::json::object());
            xs.push_back(scores.contains(m.name) && scores[m.name].is_number() ? scores[m.name].get<double>()
                                                                               : std::numeric_limits<double>::quiet_NaN());
        }
    }
    return !task.item_ids.empty();
}

}  // namespace qbench::report
