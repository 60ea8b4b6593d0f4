// One way to get a ready model, shared by the CLI, the tests and the benchmarks (gemma.cpp's
// GemmaEnv idea): checkpoint -> (quantized) decoder on a device, its tokenizer when the model
// directory has one, and the summary the report shows.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "qbench/eval/api.hpp"
#include "qbench/eval/perplexity.hpp"
#include "qbench/eval/perplexity_input.hpp"
#include "qbench/model/decoder.hpp"
#include "qbench/report/results.hpp"
#include "qbench/tokenizer/tokenizer.hpp"

namespace qbench::eval {

struct ModelEnv {
    std::unique_ptr<model::Decoder> decoder;
    std::shared_ptr<const tokenizer::Tokenizer> tokenizer;  // null when the directory has none
    std::string tokenizer_error;  // why a present tokenizer file could not be loaded
    report::ModelSummary summary;

    // Text -> ids with the model's tokenizer; empty without one. When the directory's
    // tokenizer failed to load, the encoder throws that error on first use.
    Encoder encoder() const;
    // The BOS/EOS policy of the model applied to perplexity options (llama.cpp chunk BOS,
    // lm-eval-rolling prefix token).
    void apply_special_tokens(PerplexityOptions& options) const;
};

ModelEnv load_model_env(const ModelRequest& request);

}  // namespace qbench::eval
