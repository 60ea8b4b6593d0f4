// The Linear layers of a decoder. Dense layers hold a weight in the compute dtype; quantized
// kinds (the quant module) hold low-bit weights and say which kernel runs them.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace qbench::model {

class WeightSource;

class Linear {
public:
    virtual ~Linear() = default;
    // x [..., in_features] -> [..., out_features], in the compute dtype of x.
    virtual torch::Tensor forward(const torch::Tensor& x) const = 0;
    // Bytes held by the weights (and scales / zeros / bias) of this layer, as stored.
    virtual std::int64_t weight_bytes() const = 0;
    // The kernel this layer runs through, e.g. "dense", "int4pack_mm", "dequant_matmul".
    virtual std::string kernel() const = 0;
    // The layer's effective weight [out, in] in float32 (for tests, KLD diagnostics, export).
    virtual torch::Tensor dequantized_weight() const = 0;
};

class DenseLinear final : public Linear {
public:
    DenseLinear(torch::Tensor weight, std::optional<torch::Tensor> bias);
    torch::Tensor forward(const torch::Tensor& x) const override;
    std::int64_t weight_bytes() const override;
    std::string kernel() const override { return "dense"; }
    torch::Tensor dequantized_weight() const override { return weight_.to(torch::kFloat32); }
    const torch::Tensor& weight() const { return weight_; }

private:
    torch::Tensor weight_;
    torch::Tensor bias_;  // undefined when absent
};

// What a decoder asks for when it builds each Linear.
struct LinearSpec {
    std::string name;          // checkpoint prefix, e.g. "model.layers.0.self_attn.q_proj"
    std::int64_t in_features = 0;
    std::int64_t out_features = 0;
    bool bias = false;
    torch::ScalarType dtype = torch::kFloat32;  // compute dtype
    torch::Device device = torch::kCPU;
};

// Builds one Linear from the checkpoint. The default makes DenseLinear from `<name>.weight`
// (and `<name>.bias`); the quant module supplies factories for quantized checkpoints and
// run-time quantization.
using LinearFactory = std::function<std::unique_ptr<Linear>(const LinearSpec&, const WeightSource&)>;

std::unique_ptr<Linear> make_dense_linear(const LinearSpec& spec, const WeightSource& loader);

}  // namespace qbench::model
