// The report's pictures, drawn by gnuplot (a real plotting tool, not hand-written SVG): the
// quality-vs-speed Pareto frontier (perplexity, or the first task score without perplexity,
// against decode tokens/s and against $ per million tokens), decode step latency CDFs per batch
// size and variant, and request TTFT/E2E CDFs, each as SVG and PNG next to report.md.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "qbench/report/report.hpp"

namespace qbench::report {

struct Plot {
    std::string title;
    std::string file;  // SVG file name, relative to the report directory (a .png beside it)
};

struct PlotFiles {
    std::vector<Plot> plots;
    std::string skipped;  // why no (or fewer) plots were drawn; empty when all were
};

// Writes the plots' data (.dat), the gnuplot script (plots.gp) and the images into `out_dir`.
// The gnuplot binary is $QBENCH_GNUPLOT, else `gnuplot` on the PATH; without it (or when it
// fails) the plots are skipped and `skipped` says so. Plots whose data is missing (no
// throughput, no perplexity, no cost) are left out.
PlotFiles write_plots(const Report& report, const std::filesystem::path& out_dir);

}  // namespace qbench::report
