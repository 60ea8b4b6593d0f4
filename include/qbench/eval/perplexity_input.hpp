// Reads perplexity input files: .txt (one document: the whole file) or .jsonl with, per line,
// "text" (a document) or "input_ids" (a pre-tokenized document, used as given: no BOS added).
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "qbench/eval/perplexity.hpp"

namespace qbench::eval {

// Turns text into ids, with or without the tokenizer's special tokens; empty when no tokenizer
// is available.
using Encoder = std::function<TokenIds(const std::string& text, bool add_special)>;

// Text documents need `encode`; without it, text input is a kBadInput Error. Errors name
// file:line. A file mixing "text" and "input_ids" lines is rejected.
PerplexityInput load_perplexity_input(const std::filesystem::path& path, const Encoder& encode);

}  // namespace qbench::eval
