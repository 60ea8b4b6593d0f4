#include "qbench/report/plots.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <tuple>

#include "qbench/util/files.hpp"

namespace qbench::report {
namespace {

namespace fs = std::filesystem;

struct Point {
    double x = 0.0;
    double y = 0.0;
    std::string label;
};

// A string inside a gnuplot double-quoted string (and a .dat column): backslashes and quotes
// escaped. The terminals run `noenhanced`, so "_" and "^" in variant names stay as written.
std::string gp_quote(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c == '\n' ? ' ' : c;
    }
    return out;
}

// The quality axis of the Pareto plots: the first perplexity protocol every plotted variant
// has (lower is better), else the first metric of the first task (higher is better).
struct QualityAxis {
    std::string label;
    bool lower_is_better = true;
    // The variant's value on this axis, or nullopt when it has none.
    std::optional<double> (*value)(const VariantResult&, const std::string& key, const std::string& metric) = nullptr;
    std::string key;     // protocol or task name
    std::string metric;  // task metric
};

std::optional<double> ppl_value(const VariantResult& v, const std::string& protocol, const std::string&) {
    for (const auto& p : v.perplexity) {
        if (p.protocol == protocol && std::isfinite(p.ppl)) return p.ppl;
    }
    return std::nullopt;
}

std::optional<double> task_value(const VariantResult& v, const std::string& task, const std::string& metric) {
    for (const auto& t : v.tasks) {
        if (t.name != task) continue;
        for (const auto& m : t.metrics) {
            if (m.name == metric && std::isfinite(m.value)) return 100.0 * m.value;
        }
    }
    return std::nullopt;
}

std::optional<QualityAxis> quality_axis(const Report& report) {
    for (const auto& v : report.variants) {
        if (v.status != "ok") continue;
        if (!v.perplexity.empty()) {
            return QualityAxis{fmt::format("perplexity ({}; lower is better)", v.perplexity.front().protocol), true,
                               &ppl_value, v.perplexity.front().protocol, ""};
        }
    }
    for (const auto& v : report.variants) {
        if (v.status != "ok" || v.tasks.empty() || v.tasks.front().metrics.empty()) continue;
        const auto& t = v.tasks.front();
        return QualityAxis{fmt::format("{} {} % (higher is better)", t.name, t.metrics.front().name), false,
                           &task_value, t.name, t.metrics.front().name};
    }
    return std::nullopt;
}

// Points no other point beats on both axes: x higher is better when `x_up`; y lower is better
// when `y_down`. Ties on x keep the better y only.
std::vector<Point> pareto_frontier(std::vector<Point> points, bool x_up, bool y_down) {
    std::sort(points.begin(), points.end(), [&](const Point& a, const Point& b) {
        if (a.x != b.x) return x_up ? a.x > b.x : a.x < b.x;
        return y_down ? a.y < b.y : a.y > b.y;
    });
    std::vector<Point> out;
    double best = y_down ? INFINITY : -INFINITY;
    for (const auto& p : points) {
        if (y_down ? p.y < best : p.y > best) {
            out.push_back(p);
            best = p.y;
        }
    }
    return out;
}

std::string points_data(const std::vector<Point>& points) {
    std::string s;
    for (const auto& p : points) s += fmt::format("{:.9g} {:.9g} \"{}\"\n", p.x, p.y, gp_quote(p.label));
    return s;
}


// One figure as SVG, then the same as PNG (the body runs twice: `replot` cannot repeat a multiplot).
std::string figure(const std::string& stem, const std::string& body, std::size_t width = 860,
                   std::size_t height = 540) {
    return fmt::format("set terminal svg size {0},{1} noenhanced background rgb 'white'\nset output \"{2}.svg\"\n{3}"
                       "unset multiplot\nreset\nset terminal pngcairo size {0},{1} noenhanced\n"
                       "set output \"{2}.png\"\n{3}unset multiplot\nreset\n",
                       width, height, stem, body);
}

// A scatter of labelled points with its frontier.
std::string scatter_script(const std::string& stem, const std::string& title, const std::string& xlabel,
                           const std::string& ylabel) {
    return figure(stem, fmt::format("set title \"{}\"\nset xlabel \"{}\"\nset ylabel \"{}\"\nset grid\n"
                                    "set key outside bottom center horizontal\nset offsets graph 0.08, graph 0.08, "
                                    "graph 0.1, graph 0.1\n"
                                    "plot \"{}.dat\" using 1:2 with points pt 7 ps 1.4 lc rgb '#1f77b4' title "
                                    "\"variants\", \\\n"
                                    "     \"{}.dat\" using 1:2:3 with labels offset char 0,1.2 notitle, \\\n"
                                    "     \"{}_frontier.dat\" using 1:2 with linespoints lw 2 dt 2 lc rgb '#d62728' "
                                    "pt 6 ps 2 title \"Pareto frontier\"\n",
                                    gp_quote(title), gp_quote(xlabel), gp_quote(ylabel), stem, stem, stem));
}

// Empirical CDF of `values` (ms) as a gnuplot data block: (x_1, 0), then (x_i, i / n), drawn
// `with steps` so the curve is 0 left of the smallest sample, jumps by 1/n at each sample and
// reaches 1 at the largest.
std::string cdf_block(const std::string& title, std::vector<double> values) {
    std::sort(values.begin(), values.end());
    std::string s = fmt::format("# {}\n{:.9g} 0\n", title, values.front());
    for (std::size_t i = 0; i < values.size(); ++i) {
        s += fmt::format("{:.9g} {:.9g}\n", values[i], static_cast<double>(i + 1) / static_cast<double>(values.size()));
    }
    return s + "\n\n";
}

// Distinct colours for the variants (cycled), dash types for the second dimension.
const char* colour(std::size_t i) {
    static const char* const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    return palette[i % (sizeof(palette) / sizeof(palette[0]))];
}

std::string cdf_script(const std::string& stem, const std::string& title, const std::string& xlabel,
                       const std::string& curves, bool log_x) {
    return figure(stem, fmt::format("set title \"{}\"\nset xlabel \"{}\"\nset ylabel \"fraction\"\nset grid\n"
                                    "set key outside right top\nset yrange [0:1.02]\n{}plot {}\n",
                                    gp_quote(title), gp_quote(xlabel), log_x ? "set logscale x\n" : "", curves));
}

}  // namespace

PlotFiles write_plots(const Report& report, const fs::path& out_dir) {
    PlotFiles out;
    std::string script;
    std::vector<Plot> planned;
    std::vector<std::string> missing;

    // Quality vs decode speed, at the largest batch size measured.
    std::vector<Point> speed, money;
    std::int64_t batch = 0;
    std::string tier;
    const auto axis = quality_axis(report);
    if (axis) {
        for (const auto& v : report.variants) {
            if (v.status != "ok" || !v.throughput || !axis->value(v, axis->key, axis->metric)) continue;
            for (const auto& d : v.throughput->decode) batch = std::max(batch, d.batch_size);
        }
        for (const auto& v : report.variants) {
            if (v.status != "ok") continue;
            const auto q = axis->value(v, axis->key, axis->metric);
            if (!q) continue;
            if (v.throughput) {
                for (const auto& d : v.throughput->decode) {
                    if (d.batch_size == batch && d.tokens_per_s > 0.0) speed.push_back({d.tokens_per_s, *q, v.name});
                }
            }
            if (v.cost && !v.cost->tiers.empty()) {
                if (tier.empty()) tier = v.cost->tiers.front().name;
                for (const auto& t : v.cost->tiers) {
                    if (t.name == tier && std::isfinite(t.total_usd_per_million_tokens)) {
                        money.push_back({t.total_usd_per_million_tokens, *q, v.name});
                    }
                }
            }
        }
    }
    const std::string ylabel = axis ? axis->label : "";
    const bool y_down = axis ? axis->lower_is_better : true;
    if (!speed.empty()) {
        write_file_atomic(out_dir / "pareto_speed.dat", points_data(speed));
        write_file_atomic(out_dir / "pareto_speed_frontier.dat", points_data(pareto_frontier(speed, true, y_down)));
        script += scatter_script("pareto_speed", "Quality vs decode speed",
                                 fmt::format("decode tokens/s (batch {})", batch), ylabel);
        planned.push_back({"Quality vs decode speed (Pareto frontier)", "pareto_speed.svg"});
    } else {
        missing.push_back("quality vs speed (needs perplexity or a task, and throughput)");
    }
    if (!money.empty()) {
        write_file_atomic(out_dir / "pareto_cost.dat", points_data(money));
        write_file_atomic(out_dir / "pareto_cost_frontier.dat", points_data(pareto_frontier(money, false, y_down)));
        script += scatter_script("pareto_cost", "Quality vs cost",
                                 fmt::format("$ per million output tokens ({})", tier), ylabel);
        planned.push_back({"Quality vs cost (Pareto frontier)", "pareto_cost.svg"});
    } else {
        missing.push_back("quality vs cost (needs perplexity or a task, and cost)");
    }

    // Decode step latency CDFs: one panel per batch size, one colour per variant.
    std::vector<std::int64_t> batches;
    for (const auto& v : report.variants) {
        if (v.status != "ok" || !v.throughput) continue;
        for (const auto& d : v.throughput->decode) {
            if (!d.samples_ns.empty() && std::find(batches.begin(), batches.end(), d.batch_size) == batches.end()) {
                batches.push_back(d.batch_size);
            }
        }
    }
    std::sort(batches.begin(), batches.end());
    std::string cdf, panels;
    int index = 0;
    for (const auto b : batches) {
        std::string curves;
        std::size_t vi = 0;
        for (const auto& v : report.variants) {
            if (v.status != "ok" || !v.throughput) continue;
            for (const auto& d : v.throughput->decode) {
                if (d.batch_size != b || d.samples_ns.empty()) continue;
                std::vector<double> ms;
                for (double ns : d.samples_ns) ms.push_back(ns * 1e-6);
                cdf += cdf_block(fmt::format("{} batch {}", v.name, d.batch_size), ms);
                curves += fmt::format("{}\"latency_cdf.dat\" index {} using 1:2 with steps lw 2 lc rgb '{}' title "
                                      "\"{}\"",
                                      curves.empty() ? "" : ", \\\n     ", index++, colour(vi), gp_quote(v.name));
            }
            ++vi;
        }
        panels += fmt::format("set title \"batch {}\"\nplot {}\n", b, curves);
    }
    if (!batches.empty()) {
        write_file_atomic(out_dir / "latency_cdf.dat", cdf);
        const auto cols = std::min<std::size_t>(batches.size(), 3);
        const auto rows = (batches.size() + cols - 1) / cols;
        script += figure("latency_cdf",
                         fmt::format("set multiplot layout {},{} title \"Decode step latency CDF\"\n"
                                     "set xlabel \"ms per step\"\nset ylabel \"fraction of steps\"\nset grid\n"
                                     "set key below\nset yrange [0:1.02]\n{}",
                                     rows, cols, panels),
                         std::max<std::size_t>(860, 560 * cols), 80 + 440 * rows);
        planned.push_back({"Decode step latency CDF per variant and batch size", "latency_cdf.svg"});
    } else {
        missing.push_back("decode latency CDF (needs throughput)");
    }

    // End-to-end request latency CDFs (where the end-to-end scenario ran): TTFT dashed, E2E solid.
    std::string curves;
    cdf.clear();
    index = 0;
    std::size_t vi = 0;
    for (const auto& v : report.variants) {
        if (v.status != "ok" || !v.throughput || !v.throughput->end_to_end) continue;
        const auto& e = *v.throughput->end_to_end;
        if (e.requests.empty()) continue;
        std::vector<double> ttft, e2e;
        for (const auto& r : e.requests) {
            if (std::isfinite(r.ttft_ms)) ttft.push_back(r.ttft_ms);
            if (std::isfinite(r.e2e_ms)) e2e.push_back(r.e2e_ms);
        }
        for (const auto& [what, values, dt] : {std::tuple{"TTFT", &ttft, 2}, std::tuple{"E2E", &e2e, 1}}) {
            if (values->empty()) continue;
            cdf += cdf_block(fmt::format("{} {}", v.name, what), *values);
            curves += fmt::format("{}\"request_latency_cdf.dat\" index {} using 1:2 with steps lw 2 lc rgb '{}' dt {} "
                                  "title \"{} {}\"",
                                  curves.empty() ? "" : ", \\\n     ", index++, colour(vi), dt, gp_quote(v.name), what);
        }
        ++vi;
    }
    if (!curves.empty()) {
        write_file_atomic(out_dir / "request_latency_cdf.dat", cdf);
        script += cdf_script("request_latency_cdf", "End-to-end request latency CDF (TTFT dashed, E2E solid)",
                             "ms from arrival (log scale)", curves, true);
        planned.push_back({"End-to-end request latency CDF per variant", "request_latency_cdf.svg"});
    }

    if (planned.empty()) {
        out.skipped = "no plottable results yet";
        return out;
    }

    write_file_atomic(out_dir / "plots.gp", script);
    const char* env = std::getenv("QBENCH_GNUPLOT");
    const std::string gnuplot = env != nullptr && *env != '\0' ? env : "gnuplot";
    std::string dir = out_dir.string();
    std::string quoted;  // single-quoted for the shell
    for (char c : dir) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    const std::string command = fmt::format("cd '{}' && '{}' plots.gp >plots.log 2>&1", quoted, gnuplot);
    const int rc = std::system(command.c_str());
    if (rc != 0) {
        out.skipped = fmt::format("plots skipped: '{}' is not available or failed (see plots.log; the data and "
                                  "plots.gp are in the report directory)",
                                  gnuplot);
        return out;
    }
    out.plots = std::move(planned);
    if (!missing.empty()) {
        std::string m;
        for (const auto& x : missing) m += (m.empty() ? "" : "; ") + x;
        out.skipped = "not drawn: " + m;
    }
    return out;
}

}  // namespace qbench::report
