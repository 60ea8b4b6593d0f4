// `qbench bench-kernels`: each quantized Linear kind against the dense matmul, decode (M = 1) and
// prefill (M = 512) shapes, side by side with the ratio.
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "qbench/cli/commands.hpp"
#include "qbench/quant/bench.hpp"

namespace qbench::cli {

void add_bench_kernels_command(CLI::App& app, Context& ctx) {
    auto o = std::make_shared<quant::BenchKernelsOptions>();
    auto json = std::make_shared<bool>(false);
    CLI::App* cmd = app.add_subcommand("bench-kernels", "Time quantized matmul kernels against the dense one");
    cmd->add_option("--device", o->device, "cpu | cuda[:i]")->capture_default_str();
    cmd->add_option("--dtype", o->dtype, "Activation dtype: float32 | float16 | bfloat16")->capture_default_str();
    cmd->add_option("--n", o->out_features, "Output features N")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--k", o->in_features, "Input features K")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--m", o->batch, "Rows M (comma-separated)")->delimiter(',')->capture_default_str();
    cmd->add_option("--repetitions", o->repetitions, "Timed repetitions (median reported)")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    cmd->add_option("--threads", o->threads, "Intra-op threads (0: LibTorch's default)")->capture_default_str();
    cmd->add_flag("--json", *json, "Print one JSON object");
    cmd->callback([o, json, &ctx] {
        const auto rows = quant::bench_kernels(*o);
        if (*json) {
            nlohmann::json j = {{"device", o->device}, {"dtype", o->dtype}, {"threads", o->threads}, {"n", o->out_features},
                                {"k", o->in_features}, {"results", nlohmann::json::array()}};
            for (const auto& r : rows) {
                j["results"].push_back({{"scheme", r.scheme}, {"kernel", r.kernel}, {"m", r.m},
                                        {"dense_us", r.dense_us}, {"quant_us", r.quant_us},
                                        {"speedup", r.speedup}, {"weight_bytes", r.weight_bytes},
                                        {"dense_weight_bytes", r.dense_weight_bytes}});
            }
            fmt::print("{}\n", j.dump(2));
        } else {
            fmt::print("device {}, dtype {}, N {}, K {}, median of {} runs\n", o->device, o->dtype, o->out_features,
                       o->in_features, o->repetitions);
            fmt::print("{:<30} {:<17} {:>5} {:>12} {:>12} {:>8} {:>10}\n", "scheme", "kernel", "M", "dense us",
                       "quant us", "speedup", "bytes x");
            for (const auto& r : rows) {
                fmt::print("{:<30} {:<17} {:>5} {:>12.1f} {:>12.1f} {:>8.2f} {:>10.2f}\n", r.scheme, r.kernel, r.m,
                           r.dense_us, r.quant_us, r.speedup,
                           static_cast<double>(r.dense_weight_bytes) / static_cast<double>(r.weight_bytes));
            }
        }
        ctx.exit_code = 0;
    });
}

}  // namespace qbench::cli
