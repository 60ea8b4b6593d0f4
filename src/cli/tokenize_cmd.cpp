// `qbench tokenize TOKENIZER --text-file F [--special] [--json]`: the ids of a text file, from a
// tokenizer.json, a tokenizer.model or a model directory (DESIGN.md, "The command line").
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "qbench/cli/commands.hpp"
#include "qbench/tokenizer/tokenizer.hpp"
#include "qbench/util/files.hpp"
#include "qbench/util/log.hpp"

namespace qbench::cli {

namespace {

struct TokenizeOptions {
    std::string tokenizer;
    std::string text_file;
    bool special = false;
    bool json = false;
};

double ms_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
}

void run_tokenize(const TokenizeOptions& o) {
    const auto load_start = std::chrono::steady_clock::now();
    const auto tok = tokenizer::load_tokenizer(o.tokenizer);
    const double load_ms = ms_since(load_start);
    const std::string text = read_file(o.text_file);
    const auto encode_start = std::chrono::steady_clock::now();
    const auto ids = tok->encode(text, o.special);
    const double encode_ms = ms_since(encode_start);
    log::info("{} tokens from {} bytes: load {:.1f} ms, encode {:.1f} ms", ids.size(), text.size(),
              load_ms, encode_ms);
    if (o.json) {
        const nlohmann::json j = {{"ids", ids},
                                  {"tokens", ids.size()},
                                  {"text_bytes", text.size()},
                                  {"load_ms", load_ms},
                                  {"encode_ms", encode_ms}};
        fmt::print("{}\n", j.dump());
        return;
    }
    fmt::print("{}\n", fmt::join(ids, " "));
}

}  // namespace

void add_tokenize_command(CLI::App& app, Context& ctx) {
    auto o = std::make_shared<TokenizeOptions>();
    CLI::App* cmd = app.add_subcommand("tokenize", "Token ids of a text file");
    cmd->add_option("TOKENIZER", o->tokenizer,
                    "tokenizer.json, tokenizer.model, a .gguf file, or a model directory holding one")
        ->required();
    cmd->add_option("--text-file", o->text_file, "Text to tokenize (read as bytes)")->required();
    cmd->add_flag("--special", o->special,
                  "Add the model's special tokens (BOS etc.) as the post-processor says");
    cmd->add_flag("--json", o->json,
                  "Print one JSON object: ids, tokens, text_bytes, load_ms, encode_ms");
    cmd->callback([o, &ctx] {
        run_tokenize(*o);
        ctx.exit_code = 0;
    });
}

}  // namespace qbench::cli
