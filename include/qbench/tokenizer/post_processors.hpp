// Post-processors of tokenizer.json (TemplateProcessing, ByteLevel, BertProcessing,
// RobertaProcessing, Sequence): the special tokens that encode(text, add_special = true) adds
// around a single sequence.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <vector>

namespace qbench::tokenizer {

// Ids placed before and after the ids of a single sequence.
struct SpecialTemplate {
    std::vector<std::int32_t> prefix;
    std::vector<std::int32_t> suffix;
};

// The template of `spec` (tokenizer.json's "post_processor"); empty for null and for
// processors that add no tokens. Throws a kBadInput Error naming an unsupported component.
SpecialTemplate make_post_processor(const nlohmann::json& spec);

}  // namespace qbench::tokenizer
