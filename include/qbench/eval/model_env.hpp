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

namespace qbench::eval {

struct ModelEnv {
    std::unique_ptr<model::Decoder> decoder;
    report::ModelSummary summary;

    // Text -> ids (no special tokens) with the model's tokenizer; empty without one.
    Encoder encoder() const;
    // The BOS/EOS policy of the model applied to perplexity options (llama.cpp chunk BOS,
    // lm-eval-rolling prefix token).
    void apply_special_tokens(PerplexityOptions& options) const;
};

ModelEnv load_model_env(const ModelRequest& request);

}  // namespace qbench::eval
