#include "qbench/report/reporter.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "qbench/util/files.hpp"

namespace qbench::report {

namespace {

// A table cell: '|' would end the cell, a newline the row.
std::string cell(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '|') out += "\\|";
        else if (c == '\n') out += ' ';
        else out += c;
    }
    return out;
}

std::string fixed4(double x) {
    return std::isfinite(x) ? fmt::format("{:.4f}", x) : fmt::format("{}", x);
}

// The baseline's result for the same protocol on the same data and window settings.
const PerplexityResult* baseline_match(const VariantResult* baseline, const PerplexityResult& r) {
    if (baseline == nullptr) return nullptr;
    for (const auto& b : baseline->perplexity) {
        if (b.protocol == r.protocol && b.data_sha256 == r.data_sha256 &&
            b.max_length == r.max_length && b.stride == r.stride)
            return &b;
    }
    return nullptr;
}

}  // namespace

void JsonReporter::report_context(const RunContext& context) {
    report_.context = context;
}

void JsonReporter::report_variants(const std::vector<VariantResult>& variants) {
    report_.variants = variants;
}

void JsonReporter::finalize() {
    out() << nlohmann::json(report_).dump(2) << '\n';
}

void MarkdownReporter::report_context(const RunContext& c) {
    const std::string name =
        c.config.is_object() && c.config.contains("name") && c.config["name"].is_string()
            ? c.config["name"].get<std::string>()
            : std::string("run");
    out() << fmt::format("# qbench report: {}\n\n", name);
    out() << fmt::format("- qbench {} ({}, {}, {})\n", c.qbench_version, c.git_commit,
                         c.build_type, c.compiler);
    out() << fmt::format("- LibTorch {}, CUDA {}\n", c.libtorch_version,
                         c.cuda_version.empty() ? "none" : c.cuda_version);
    out() << fmt::format("- device {}{}; CPU {}, {} threads; seed {}\n", c.device,
                         c.gpu_name.empty() ? "" : " (" + c.gpu_name + ")", c.cpu_model,
                         c.threads, c.seed);
    out() << fmt::format("- config sha256 {}\n", c.config_sha256);
    out() << fmt::format("- started {}, last written {}\n\n", c.start_time, c.end_time);
}

void MarkdownReporter::report_variants(const std::vector<VariantResult>& variants) {
    const VariantResult* baseline = nullptr;
    for (const auto& v : variants)
        if (v.baseline) baseline = &v;

    out() << "## Variants\n\n";
    out() << "| variant | quantization | dtype | weight MiB | status |\n";
    out() << "|---|---|---|--:|---|\n";
    for (const auto& v : variants) {
        const double weight_mib = static_cast<double>(v.model.weight_bytes) / 1048576.0;
        out() << fmt::format("| {}{} | {} | {} | {:.1f} | {} |\n", cell(v.name),
                             v.baseline ? " (baseline)" : "", cell(v.model.quantization),
                             cell(v.model.dtype), weight_mib,
                             v.status == "ok" ? "ok" : cell(v.status + ": " + v.error));
    }

    out() << "\n## Perplexity\n\n";
    const bool any = std::any_of(variants.begin(), variants.end(),
                                 [](const VariantResult& v) { return !v.perplexity.empty(); });
    if (!any) {
        out() << "No perplexity results.\n";
        return;
    }
    out() << "PPL / baseline: the ratio to the baseline's PPL on the same protocol and data.\n\n";
    out() << "| variant | protocol | PPL | tokens scored | PPL / baseline |\n";
    out() << "|---|---|--:|--:|--:|\n";
    for (const auto& v : variants) {
        for (const auto& r : v.perplexity) {
            const PerplexityResult* b = baseline_match(baseline, r);
            const std::string ratio = b != nullptr && b->ppl > 0.0 ? fixed4(r.ppl / b->ppl) : "-";
            out() << fmt::format("| {} | {} | {} | {} | {} |\n", cell(v.name), cell(r.protocol),
                                 fixed4(r.ppl), r.tokens_scored, ratio);
        }
    }
}

void MarkdownReporter::finalize() {
    out().flush();
}

void render(const Report& report, Reporter& reporter) {
    reporter.report_context(report.context);
    reporter.report_variants(report.variants);
    reporter.finalize();
}

void write_report(const Report& report, const std::filesystem::path& out_dir) {
    std::ostringstream json_text;
    JsonReporter json(json_text);
    render(report, json);
    write_file_atomic(out_dir / "report.json", json_text.str());

    std::ostringstream md_text;
    MarkdownReporter md(md_text);
    render(report, md);
    write_file_atomic(out_dir / "report.md", md_text.str());
}

}  // namespace qbench::report
