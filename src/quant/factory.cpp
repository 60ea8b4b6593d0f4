// make_linear_factory: one LinearFactory per QuantScheme. Checkpoint formats read each layer's
// stored tensors; a layer stored in float (lm_head, layers the producer skipped) stays dense.
// Run-time methods load the float weight on the host and quantize it there.
#include "qbench/model/weights.hpp"
#include "qbench/quant/formats.hpp"
#include "qbench/quant/rtn.hpp"
#include "qbench/quant/scheme.hpp"
#include "qbench/util/error.hpp"

namespace qbench::quant {
namespace {

bool stored_as(const model::WeightSource& src, const std::string& name, torch::ScalarType dtype) {
    return src.contains(name) && src.raw(name, torch::kCPU).scalar_type() == dtype;
}

std::unique_ptr<model::Linear> build(const QuantScheme& q, const LayerScheme& s, const model::LinearSpec& spec,
                                     const model::WeightSource& src, KernelChoice choice) {
    const auto& m = q.method;
    const std::string p = spec.name + ".";
    if (m == "rtn" || m == "w8a8" || (m == "fp8" && q.format.empty())) {
        const auto w = src.load(p + "weight", torch::kFloat32, torch::kCPU, {spec.out_features, spec.in_features});
        const auto bias = read_bias(src, spec);
        if (m == "rtn") {
            return make_int_linear(rtn_quantize(w, {s.bits, s.group_size, s.symmetric}), bias, spec,
                                   ActQuant::kNone, choice);
        }
        if (m == "w8a8") return make_int_linear(int8_channel_quantize(w), bias, spec, ActQuant::kInt8Token, choice);
        return make_fp8_linear(fp8_quantize(w, s.strategy == "channel"), bias, spec, s.act, choice);
    }
    if (m == "gptq" || m == "awq") {
        if (!src.contains(p + "qweight")) return model::make_dense_linear(spec, src);
        auto w = m == "gptq" ? read_gptq(src, spec, s, q.format == "gptq") : read_awq(src, spec, s, q.format == "gemv");
        return make_int_linear(w, read_bias(src, spec), spec, ActQuant::kNone, choice);
    }
    if (m == "compressed-tensors" && s.type == "int") {
        const bool stored = q.format == "pack-quantized" ? src.contains(p + "weight_packed")
                                                         : stored_as(src, p + "weight", torch::kInt8);
        if (!stored) return model::make_dense_linear(spec, src);
        return make_int_linear(read_compressed_int(src, spec, s, q.format), read_bias(src, spec), spec, s.act, choice);
    }
    if (m == "compressed-tensors" || m == "fp8") {
        if (!stored_as(src, p + "weight", torch::kFloat8_e4m3fn)) return model::make_dense_linear(spec, src);
        return make_fp8_linear(read_fp8(src, spec, s), read_bias(src, spec), spec, s.act, choice);
    }
    throw_bad_input("quantization method '{}' has no layer builder", m);
}

}  // namespace

model::LinearFactory make_linear_factory(const QuantScheme& scheme, KernelChoice choice) {
    return [scheme, choice](const model::LinearSpec& spec, const model::WeightSource& src) {
        const auto s = scheme.for_module(spec.name);
        if (!s) return model::make_dense_linear(spec, src);
        return build(scheme, *s, spec, src, choice);
    };
}

}  // namespace qbench::quant
