// `qbench ppl MODEL --data FILE`: perplexity of one model under one named protocol.
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "qbench/cli/commands.hpp"
#include "qbench/config/quantize_spec.hpp"
#include "qbench/eval/api.hpp"
#include "qbench/eval/perplexity.hpp"
#include "qbench/report/report.hpp"
#include "qbench/util/error.hpp"

namespace qbench::cli {
namespace {

struct PplOptions {
    eval::ModelRequest model;
    std::string data;
    std::string quantize;
    eval::PerplexityOptions ppl = eval::ppl_command_defaults();
    eval::KldFiles kld;
    bool json = false;
    eval::ServedPerplexityRequest served;  // --server
};

void print(const eval::PerplexityRun& run, const PplOptions& o) {
    const auto& r = run.perplexity;
    if (o.json) {
        // report.json's perplexity entry, with the variant's model block and its kld block.
        nlohmann::json j = r;
        j["model"] = run.model;
        if (run.kld) j["kld"] = *run.kld;
        fmt::print("{}\n", j.dump(2));
        return;
    }
    fmt::print("protocol      {} (max_length {}{})\n", r.protocol, r.max_length,
               r.stride ? fmt::format(", stride {}", r.stride) : std::string());
    fmt::print("dtype         {} ({})\n", run.model.dtype, run.model.dtype_reason);
    if (r.ppl_stderr) {
        fmt::print("perplexity    {:.4f} +/- {:.5f} (llama-perplexity's stderr)\n", r.ppl, *r.ppl_stderr);
    } else {
        fmt::print("perplexity    {:.4f}\n", r.ppl);
    }
    fmt::print("tokens scored {} of {} ({} {})\n", r.tokens_scored, r.input_tokens, r.blocks.size(),
               r.protocol == "lm-eval-rolling" ? "documents" : "windows");
    fmt::print("nll sum       {:.6f}\n", r.nll_sum);
    if (r.word_perplexity) fmt::print("word ppl      {:.4f}\n", *r.word_perplexity);
    if (r.byte_perplexity) fmt::print("byte ppl      {:.4f}\n", *r.byte_perplexity);
    if (r.bits_per_byte) fmt::print("bits/byte     {:.4f}\n", *r.bits_per_byte);
    fmt::print("time          {:.2f} s\n", r.seconds);
    if (!o.kld.write_base.empty()) fmt::print("kld base      {} written\n", o.kld.write_base.string());
    if (run.kld) {
        const auto& k = *run.kld;
        auto pct = [&k](double q) {
            for (const auto& p : k.kld_percentiles)
                if (p.q == q) return p.value;
            return 0.0;
        };
        fmt::print("KLD           {:.6f}, 95% CI [{:.6f}, {:.6f}] over {} windows (top-{} of {}{})\n", k.kld_mean,
                   k.kld_ci_lower, k.kld_ci_upper, k.blocks.size(), k.top_k, k.vocab_size,
                   k.exact ? ", exact" : " + tail: a lower bound");
        fmt::print("KLD median    {:.6f}, P99 {:.6f}, max {:.6f}\n", pct(0.5), pct(0.99), pct(1.0));
        fmt::print("same top      {:.2f}% [{:.2f}, {:.2f}]\n", 100 * k.same_top, 100 * k.same_top_ci_lower,
                   100 * k.same_top_ci_upper);
        fmt::print("delta p       mean {:+.3f}% [{:+.3f}, {:+.3f}], RMS {:.3f}%\n", 100 * k.delta_p_mean,
                   100 * k.delta_p_ci_lower, 100 * k.delta_p_ci_upper, 100 * k.delta_p_rms);
    }
}

}  // namespace

void add_ppl_command(CLI::App& app, Context& ctx) {
    auto o = std::make_shared<PplOptions>();
    CLI::App* cmd = app.add_subcommand("ppl", "Perplexity of a model on a text or token file");
    cmd->add_option("MODEL", o->model.path, "HF model directory or .gguf file (omit with --server)");
    auto* server = cmd->add_option("--server", o->served.server.url,
                                   "Score through an OpenAI-compatible server instead (base URL, e.g. "
                                   "http://127.0.0.1:8000/v1): prompt log-probs by echo");
    cmd->add_option("--server-model", o->served.server.model, "--server: the served model's name")->needs(server);
    cmd->add_option("--tokenizer", o->served.tokenizer,
                    "--server: the model's tokenizer (HF dir, tokenizer.json or tokenizer.model), for exact ids")
        ->needs(server);
    cmd->add_option("--api-key-env", o->served.server.api_key_env, "--server: environment variable holding the API key")
        ->needs(server);
    cmd->add_option("--data", o->data, ".txt, or .jsonl with \"text\" or \"input_ids\" per line")->required();
    cmd->add_option("--protocol", o->ppl.protocol, "sliding | gptq | llama.cpp | lm-eval-rolling")
        ->capture_default_str();
    cmd->add_option("--max-length", o->ppl.max_length,
                    "Window length in tokens (default: min(2048, max_position_embeddings))");
    cmd->add_option("--stride", o->ppl.stride, "sliding: tokens between window starts (default: max_length/2)");
    cmd->add_option("--batch-size", o->ppl.batch_size, "Windows per forward pass")->capture_default_str();
    cmd->add_option("--limit", o->ppl.limit, "Score at most N windows (documents for lm-eval-rolling)");
    cmd->add_option("--dtype", o->model.dtype,
                    "float32 | float16 | bfloat16 (default: per device and architecture, e.g. bfloat16 on a CPU "
                    "with avx512_bf16)");
    cmd->add_option("--device", o->model.device, "cpu | cuda | cuda:N")->capture_default_str();
    cmd->add_option("--quantize", o->quantize, "Run-time quantization SPEC, e.g. rtn:bits=4,group_size=128");
    cmd->add_flag("--gguf-dequantize", o->model.gguf_dequantize,
                  ".gguf: dequantize every tensor at load (default: Q8_0 / Q4_0 Linears stay low-bit)");
    cmd->add_option("--threads", o->model.threads, "CPU threads (0: LibTorch's default)");
    cmd->add_option("--kld-base", o->kld.write_base,
                    "Write this model's top-k distributions over the scored tokens to FILE (for --kld)");
    cmd->add_option("--kld", o->kld.compare,
                    "KL divergence from the model that wrote FILE with --kld-base (same data and options), or "
                    "from a `llama-perplexity --kl-divergence-base` FILE (exact; --protocol llama.cpp)");
    cmd->add_option("--kld-base-format", o->kld.base_format,
                    "--kld-base: qbench (top-k, this tool's runs) | llama.cpp (llama-perplexity's full-vocabulary "
                    "layout, exact; --protocol llama.cpp)")
        ->capture_default_str();
    cmd->add_option("--kld-top-k", o->kld.top_k,
                    "--kld-base: tokens kept per position (default: the whole vocabulary, exact)");
    cmd->add_flag("--json", o->json, "Print one JSON object");
    cmd->callback([o, &ctx] {
        if (!o->served.server.url.empty()) {
            if (!o->model.path.empty()) throw_bad_input("ppl: give MODEL or --server, not both");
            if (!o->kld.write_base.empty() || !o->kld.compare.empty()) {
                throw_bad_input("ppl --server: KLD needs full distributions, which a server does not return");
            }
            print(eval::run_perplexity(o->served, o->data, o->ppl), *o);
            ctx.exit_code = 0;
            return;
        }
        if (o->model.path.empty()) throw_bad_input("ppl: MODEL is required (or --server URL)");
        if (!o->quantize.empty()) o->model.quantize = config::parse_quantize_spec(o->quantize);
        print(eval::run_perplexity(o->model, o->data, o->ppl, o->kld), *o);
        ctx.exit_code = 0;
    });
}

}  // namespace qbench::cli
