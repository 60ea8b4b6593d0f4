// IFEval (google/IFEval; lm-eval's tasks/ifeval): the 25 instruction checkers, scored strict
// and loose, prompt-level and instruction-level (reference/lm-eval-harness.md §6.2).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace qbench::eval::tasks {

struct IfevalScore {
    std::vector<bool> strict;  // per instruction
    std::vector<bool> loose;
    bool prompt_strict = false;  // all followed
    bool prompt_loose = false;
};

// The instruction ids this implementation checks.
const std::vector<std::string>& ifeval_instruction_ids();

// One response against a document {"prompt", "instruction_id_list", "kwargs": [ {...} ]}.
// Throws kBadInput for an unknown instruction id.
IfevalScore score_ifeval(const nlohmann::json& doc, const std::string& response);

// One instruction, strictly (the response as given).
bool ifeval_check(const std::string& instruction_id, const nlohmann::json& kwargs, const std::string& prompt,
                  const std::string& response);

}  // namespace qbench::eval::tasks
