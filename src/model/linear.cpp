#include "qbench/model/linear.hpp"

#include "qbench/model/weights.hpp"

namespace qbench::model {

DenseLinear::DenseLinear(torch::Tensor weight, std::optional<torch::Tensor> bias)
    : weight_(std::move(weight)), bias_(bias ? *bias : torch::Tensor()) {}

torch::Tensor DenseLinear::forward(const torch::Tensor& x) const {
    // at::linear fuses the bias into the matmul (addmm), as transformers does; the C++ frontend's
    // functional::linear adds it after a rounded matmul, which differs in half precision.
    return at::linear(x, weight_, bias_);
}

std::int64_t DenseLinear::weight_bytes() const {
    std::int64_t n = weight_.numel() * static_cast<std::int64_t>(weight_.element_size());
    if (bias_.defined()) n += bias_.numel() * static_cast<std::int64_t>(bias_.element_size());
    return n;
}

std::unique_ptr<Linear> make_dense_linear(const LinearSpec& spec, const WeightSource& loader) {
    auto w = loader.load(spec.name + ".weight", spec.dtype, spec.device,
                         {spec.out_features, spec.in_features});
    std::optional<torch::Tensor> b;
    if (spec.bias) b = loader.load(spec.name + ".bias", spec.dtype, spec.device, {spec.out_features});
    return std::make_unique<DenseLinear>(std::move(w), std::move(b));
}

}  // namespace qbench::model
