// `qbench inspect MODEL`: architecture, size and quantization of a checkpoint, without loading
// its weights.
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "qbench/cli/commands.hpp"
#include "qbench/eval/api.hpp"
#include "qbench/report/report.hpp"

namespace qbench::cli {
namespace {

struct InspectOptions {
    std::string path;
    bool json = false;
};

void print(const eval::ModelInfo& info, bool json) {
    const auto& s = info.summary;
    if (json) {
        // report.json's model block, with what only the checkpoint shows.
        nlohmann::json j = s;
        j["tensors"] = info.tensors;
        j["config"] = info.config;
        j["quantization_config"] = info.quantization;
        fmt::print("{}\n", j.dump(2));
        return;
    }
    fmt::print("path           {}\n", s.path);
    fmt::print("architecture   {}\n", s.architecture);
    fmt::print("parameters     {} ({:.2f} M)\n", s.num_parameters, s.num_parameters / 1e6);
    fmt::print("weight bytes   {} ({:.2f} MiB)\n", s.weight_bytes, s.weight_bytes / 1048576.0);
    fmt::print("dtype          {}\n", s.dtype);
    fmt::print("quantization   {}\n", s.quantization);
    const auto& q = s.quantization_info;
    if (q.method != "none") {
        const std::string group = q.group_size > 0 ? std::to_string(q.group_size)
                                  : q.group_size == -1 ? "per-channel" : q.strategy;
        fmt::print("  method       {}{}\n", q.method, q.format.empty() ? "" : " (" + q.format + ")");
        fmt::print("  weights      {} {} bits, group {}, {}\n", q.weight_type, q.bits, group,
                   q.symmetric ? "symmetric" : "asymmetric");
        fmt::print("  activations  {}\n", q.activation);
    }
    fmt::print("compression    {:.2f}x vs float16 ({} bytes)\n", q.compression_ratio, q.fp16_bytes);
    for (const auto& k : s.kernels) fmt::print("  kernel       {:<40} {}\n", k.name, k.kernel);
    const auto& c = info.config;
    fmt::print("layers         {} (hidden {}, intermediate {})\n", c["num_layers"].get<int>(),
               c["hidden_size"].get<int>(), c["intermediate_size"].get<int>());
    fmt::print("attention      {} heads, {} kv heads, head_dim {}\n", c["num_heads"].get<int>(),
               c["num_kv_heads"].get<int>(), c["head_dim"].get<int>());
    fmt::print("rope           theta {}, scaling {}\n", c["rope_theta"].get<double>(),
               c["rope_scaling"].get<std::string>());
    fmt::print("vocab          {}{}\n", c["vocab_size"].get<int>(),
               c["tie_word_embeddings"].get<bool>() ? " (tied embeddings)" : "");
}

}  // namespace

void add_inspect_command(CLI::App& app, Context& ctx) {
    auto o = std::make_shared<InspectOptions>();
    CLI::App* cmd = app.add_subcommand("inspect", "Architecture, size and quantization of a checkpoint");
    cmd->add_option("MODEL", o->path, "HF model directory or .gguf file")->required();
    cmd->add_flag("--json", o->json, "Print one JSON object");
    cmd->callback([o, &ctx] {
        print(eval::inspect_model(o->path), o->json);
        ctx.exit_code = 0;
    });
}

}  // namespace qbench::cli
