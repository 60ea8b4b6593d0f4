// What a task needs from a model is lm::LanguageModel's loglikelihood and generate (the seam,
// qbench/lm/language_model.hpp); tasks use these names for it. eval::LocalModel implements it on
// the decoder (its text side is DecoderLM, eval/tasks/decoder_lm.hpp); tests implement it with
// scripted answers.
#pragma once

#include "qbench/lm/language_model.hpp"

namespace qbench::eval::tasks {

using lm::GenerationOptions;
using lm::LanguageModel;
using lm::LoglikelihoodRequest;
using lm::LoglikelihoodResult;

}  // namespace qbench::eval::tasks
