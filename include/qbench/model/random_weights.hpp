// Random weights for a config.json alone: a decoder of a real shape (e.g. Llama-2-7B) for speed
// measurements without downloading a checkpoint. Good for timing, never for quality.
#pragma once

#include <map>

#include "qbench/model/config.hpp"
#include "qbench/model/weights.hpp"

namespace qbench::model {

// Every tensor a Decoder of `config` asks for, drawn from N(0, 0.02^2) (norm weights = 1),
// generated on the target device; the same seed gives the same weights.
class RandomWeights final : public WeightSource {
public:
    RandomWeights(const ModelConfig& config, std::uint64_t seed);

    bool contains(const std::string& name) const override { return shapes_.count(name) != 0; }
    std::vector<std::int64_t> shape(const std::string& name) const override;
    torch::Tensor raw(const std::string& name, const torch::Device& device) const override;
    torch::Tensor load(const std::string& name, torch::ScalarType dtype, const torch::Device& device,
                       const std::vector<std::int64_t>& shape = {}) const override;
    std::string describe() const override { return "random weights"; }
    std::int64_t stored_bytes() const override;

private:
    std::map<std::string, std::vector<std::int64_t>> shapes_;
    std::uint64_t seed_;
    bool gemma_norms_ = false;  // norms scale by (1 + weight): random norm weights are 0
};

}  // namespace qbench::model
