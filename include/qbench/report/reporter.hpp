// Report writers behind one interface (google/benchmark style): a reporter is handed the run's
// context, then its variants, then finalized, and writes to an injected stream. A new format is
// a new Reporter; write_report() picks the files.
#pragma once

#include <filesystem>
#include <ostream>
#include <vector>

#include "qbench/report/derived.hpp"
#include "qbench/report/plots.hpp"
#include "qbench/report/gates.hpp"
#include "qbench/report/report.hpp"

namespace qbench::report {

class Reporter {
public:
    explicit Reporter(std::ostream& out) : out_(&out) {}
    virtual ~Reporter() = default;
    Reporter(const Reporter&) = delete;
    Reporter& operator=(const Reporter&) = delete;

    virtual void report_context(const RunContext& context) = 0;
    // Called once with every variant so far, baseline included, and what derive() computed
    // from them (comparisons and gates: reporters never evaluate them).
    virtual void report_variants(const std::vector<VariantResult>& variants, const Derived& derived) = 0;
    // Completes the document on the stream.
    virtual void finalize() = 0;

protected:
    std::ostream& out() { return *out_; }

private:
    std::ostream* out_;
};

// report.json: {"schema_version", "context", "variants"}, written at finalize().
class JsonReporter : public Reporter {
public:
    using Reporter::Reporter;
    void report_context(const RunContext& context) override;
    void report_variants(const std::vector<VariantResult>& variants, const Derived& derived) override;
    void finalize() override;

private:
    Report report_;
    Derived derived_;
};

// report.md: context lines, a table of variants and a table of variants x perplexity protocols
// with PPL, tokens scored and the ratio to the baseline's PPL on the same protocol and data;
// then throughput (decode, prefill, end-to-end, memory, warnings), cost per tier, and the plots
// (embedded images, or why they were skipped).
class MarkdownReporter : public Reporter {
public:
    explicit MarkdownReporter(std::ostream& out, PlotFiles plots = {}) : Reporter(out), plots_(std::move(plots)) {}
    void report_context(const RunContext& context) override;
    void report_variants(const std::vector<VariantResult>& variants, const Derived& derived) override;
    void finalize() override;

private:
    void report_perplexity(const std::vector<VariantResult>& variants, const std::vector<PerplexityComparison>& comparisons);
    void report_throughput(const std::vector<VariantResult>& variants);
    void report_cost(const std::vector<VariantResult>& variants);
    PlotFiles plots_;
    void write_perplexity(const std::vector<VariantResult>& variants, const std::vector<PerplexityComparison>& comparisons);
};

// report.json's comparisons.kld: one summary per non-baseline variant with a KLD result.
nlohmann::json kld_comparisons_json(const std::vector<VariantResult>& variants);

// The gates of a run, from its context's config echo (none when absent).
std::vector<GateSpec> gate_specs(const RunContext& context);

// Hands `report` to `reporter`: context, variants with `derived`, finalize.
void render(const Report& report, const Derived& derived, Reporter& reporter);
// The same with derive(report.variants, gate_specs(report.context)).
void render(const Report& report, Reporter& reporter);

// Writes out_dir/report.json, the plots (plots.hpp), out_dir/report.md and the CSV tables
// (fields.hpp, write_csv: report.csv and items/) (creating out_dir), each file atomically, so a reader never sees a partial file. Idempotent: the run calls it again after each variant.
void write_report(const Report& report, const Derived& derived, const std::filesystem::path& out_dir);
// The same with derive(report.variants, gate_specs(report.context)), computed once for both files.
void write_report(const Report& report, const std::filesystem::path& out_dir);

}  // namespace qbench::report
