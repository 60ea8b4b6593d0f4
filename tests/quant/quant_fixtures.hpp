// Reading the expected.safetensors files of scripts/gen_quant_fixtures.py.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>

#include "qbench/model/decoder.hpp"
#include "qbench/model/weights.hpp"
#include "support/fixtures.hpp"

namespace qbench::testing {

inline std::filesystem::path quant_fixture(const std::string& name) { return fixtures_dir() / "quant" / name; }

struct QuantExpected {
    std::map<std::string, torch::Tensor> weights;  // module -> dequantized float32 [N, K]
    torch::Tensor ids, logits, nll;                // [2, T], [2, T, V] float64, [2] float64
};

inline QuantExpected load_quant_expected(const std::filesystem::path& file) {
    model::WeightLoader src(file);
    QuantExpected e;
    for (const auto& name : src.checkpoint().names()) {
        const auto t = src.raw(name, torch::kCPU);
        if (name == "input_ids") e.ids = t;
        else if (name == "logits") e.logits = t;
        else if (name == "nll") e.nll = t;
        else e.weights[name.substr(0, name.size() - std::string(".weight").size())] = t;
    }
    return e;
}

// -sum log p(ids[r, t+1] | ids[r, ..t]) per row, float64 [rows].
inline torch::Tensor row_nll(const torch::Tensor& logits, const torch::Tensor& ids) {
    const auto T = ids.size(1);
    const auto lp = torch::log_softmax(logits.to(torch::kFloat64).slice(1, 0, T - 1), -1);
    const auto tgt = ids.slice(1, 1, T).unsqueeze(-1);
    return -lp.gather(-1, tgt).squeeze(-1).sum(1);
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

}  // namespace qbench::testing
