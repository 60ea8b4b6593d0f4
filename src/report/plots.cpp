#include "qbench/report/plots.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "qbench/util/files.hpp"

namespace qbench::report {
namespace {

namespace fs = std::filesystem;

struct Point {
    double x = 0.0;
    double y = 0.0;
    std::string label;
};

// The variants' first perplexity (the quality axis: lower is better), by variant.
const PerplexityResult* quality(const VariantResult& v) {
    return v.perplexity.empty() ? nullptr : &v.perplexity.front();
}

// Points no other point beats on both axes: x higher is better when `x_up`, y lower is better.
std::vector<Point> pareto_frontier(std::vector<Point> points, bool x_up) {
    std::sort(points.begin(), points.end(), [&](const Point& a, const Point& b) { return x_up ? a.x > b.x : a.x < b.x; });
    std::vector<Point> out;
    double best_y = INFINITY;
    for (const auto& p : points) {
        if (p.y < best_y) {
            out.push_back(p);
            best_y = p.y;
        }
    }
    return out;
}

std::string points_data(const std::vector<Point>& points) {
    std::string s;
    for (const auto& p : points) s += fmt::format("{:.9g} {:.9g} \"{}\"\n", p.x, p.y, p.label);
    return s;
}

// The gnuplot commands for one scatter of labelled points with its frontier, as SVG then PNG.
std::string scatter_script(const std::string& stem, const std::string& title, const std::string& xlabel,
                           const std::string& ylabel) {
    const std::string body = fmt::format(
        "set title \"{}\"\nset xlabel \"{}\"\nset ylabel \"{}\"\nset grid\nset key bottom right\n"
        "plot \"{}.dat\" using 1:2 with points pt 7 ps 1.4 title \"variants\", \\\n"
        "     \"{}.dat\" using 1:2:3 with labels offset char 1,1 notitle, \\\n"
        "     \"{}_frontier.dat\" using 1:2 with linespoints lw 2 title \"Pareto frontier\"\n",
        title, xlabel, ylabel, stem, stem, stem);
    return fmt::format("set terminal svg size 800,500 background rgb 'white'\nset output \"{0}.svg\"\n{1}"
                       "set terminal pngcairo size 800,500\nset output \"{0}.png\"\nreplot\nreset\n",
                       stem, body);
}

}  // namespace

PlotFiles write_plots(const Report& report, const fs::path& out_dir) {
    PlotFiles out;
    std::string script;
    std::vector<Plot> planned;
    std::vector<std::string> missing;

    // Quality vs decode speed, at the largest batch size every measured variant shares.
    std::vector<Point> speed, money;
    std::int64_t batch = 0;
    std::string protocol;
    for (const auto& v : report.variants) {
        if (v.status != "ok" || !v.throughput || v.throughput->decode.empty() || quality(v) == nullptr) continue;
        batch = std::max(batch, v.throughput->decode.back().batch_size);
    }
    std::string tier;
    for (const auto& v : report.variants) {
        if (v.status != "ok" || !v.throughput || quality(v) == nullptr) continue;
        protocol = quality(v)->protocol;
        for (const auto& d : v.throughput->decode) {
            if (d.batch_size == batch) speed.push_back({d.tokens_per_s, quality(v)->ppl, v.name});
        }
        if (v.cost && !v.cost->tiers.empty()) {
            tier = v.cost->tiers.front().name;
            money.push_back({v.cost->tiers.front().total_usd_per_million_tokens, quality(v)->ppl, v.name});
        }
    }
    const std::string ylabel = fmt::format("perplexity ({}; lower is better)", protocol);
    if (!speed.empty()) {
        write_file_atomic(out_dir / "pareto_speed.dat", points_data(speed));
        write_file_atomic(out_dir / "pareto_speed_frontier.dat", points_data(pareto_frontier(speed, true)));
        script += scatter_script("pareto_speed", "Quality vs decode speed",
                                 fmt::format("decode tokens/s (batch {})", batch), ylabel);
        planned.push_back({"Quality vs decode speed (Pareto frontier)", "pareto_speed.svg"});
    } else {
        missing.push_back("quality vs speed (needs perplexity and throughput)");
    }
    if (!money.empty()) {
        write_file_atomic(out_dir / "pareto_cost.dat", points_data(money));
        write_file_atomic(out_dir / "pareto_cost_frontier.dat", points_data(pareto_frontier(money, false)));
        script += scatter_script("pareto_cost", "Quality vs cost",
                                 fmt::format("$ per million output tokens ({})", tier), ylabel);
        planned.push_back({"Quality vs cost (Pareto frontier)", "pareto_cost.svg"});
    } else {
        missing.push_back("quality vs cost (needs perplexity and cost)");
    }

    // Decode step latency CDFs: one curve per variant and batch size (empirical CDF: the i-th
    // smallest of n samples at (i - 0.5) / n).
    std::string curves;
    std::string cdf;
    int index = 0;
    for (const auto& v : report.variants) {
        if (v.status != "ok" || !v.throughput) continue;
        for (const auto& d : v.throughput->decode) {
            auto ms = d.samples_ns;
            if (ms.empty()) continue;
            std::sort(ms.begin(), ms.end());
            cdf += fmt::format("# {} batch {}\n", v.name, d.batch_size);
            for (std::size_t i = 0; i < ms.size(); ++i) {
                cdf += fmt::format("{:.9g} {:.9g}\n", ms[i] * 1e-6,
                                   (static_cast<double>(i) + 0.5) / static_cast<double>(ms.size()));
            }
            cdf += "\n\n";
            curves += fmt::format("{}\"latency_cdf.dat\" index {} using 1:2 with steps lw 2 title \"{} b{}\"",
                                  curves.empty() ? "" : ", \\\n     ", index++, v.name, d.batch_size);
        }
    }
    if (!curves.empty()) {
        write_file_atomic(out_dir / "latency_cdf.dat", cdf);
        script += fmt::format(
            "set terminal svg size 800,500 background rgb 'white'\nset output \"latency_cdf.svg\"\n"
            "set title \"Decode step latency CDF\"\nset xlabel \"ms per step\"\nset ylabel \"fraction of steps\"\n"
            "set grid\nset key bottom right\nset yrange [0:1]\nplot {}\n"
            "set terminal pngcairo size 800,500\nset output \"latency_cdf.png\"\nreplot\nreset\n",
            curves);
        planned.push_back({"Decode step latency CDF per variant", "latency_cdf.svg"});
    } else {
        missing.push_back("latency CDF (needs throughput)");
    }
    if (planned.empty()) {
        out.skipped = "no plottable results yet";
        return out;
    }

    write_file_atomic(out_dir / "plots.gp", script);
    const char* env = std::getenv("QBENCH_GNUPLOT");
    const std::string gnuplot = env != nullptr && *env != '\0' ? env : "gnuplot";
    const std::string command = fmt::format("cd '{}' && '{}' plots.gp >plots.log 2>&1", out_dir.string(), gnuplot);
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
