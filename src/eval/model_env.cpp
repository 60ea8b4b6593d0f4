#include "qbench/eval/model_env.hpp"

#include "qbench/model/runtime.hpp"
#include "qbench/quant/scheme.hpp"
#include "qbench/util/error.hpp"

namespace qbench::eval {

Encoder ModelEnv::encoder() const { return {}; }

void ModelEnv::apply_special_tokens(PerplexityOptions& options) const {
    const auto& c = decoder->config();
    // Without a tokenizer the checkpoint's config.json declares the special tokens.
    if (c.bos_token_id) options.chunk_bos = static_cast<std::int32_t>(*c.bos_token_id);
    if (c.bos_token_id) {
        options.prefix_token = static_cast<std::int32_t>(*c.bos_token_id);
    } else if (c.eos_token_id) {
        options.prefix_token = static_cast<std::int32_t>(*c.eos_token_id);
    }
}

ModelEnv load_model_env(const ModelRequest& request) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(request.path, ec)) throw_bad_input("{}: no such model directory", request.path.string());
    if (!fs::is_directory(request.path, ec)) {
        throw_bad_input("{}: expected an HF model directory (config.json + *.safetensors)", request.path.string());
    }
    const auto config = model::load_model_config(request.path);
    std::optional<quant::QuantScheme> scheme = quant::checkpoint_scheme(request.path, config);
    if (scheme && request.quantize) {
        throw_bad_input("{}: the checkpoint is already quantized ({}); quantize '{}' applies to float checkpoints",
                        request.path.string(), scheme->describe(), request.quantize->to_string());
    }
    if (request.quantize) scheme = quant::scheme_from_spec(*request.quantize);
    model::LoadOptions options;
    options.device = model::parse_device(request.device);
    options.dtype = model::parse_dtype(request.dtype);
    if (scheme) options.linear_factory = quant::make_linear_factory(*scheme);
    ModelEnv env;
    env.decoder = model::guard_torch(request.path.string(),
                                     [&] { return model::Decoder::load(request.path, options); });
    const auto& c = env.decoder->config();
    auto& s = env.summary;
    s.path = request.path.string();
    s.format = "safetensors";
    s.architecture = c.architecture;
    s.dtype = model::dtype_name(options.dtype);
    s.device = options.device.str();
    s.num_parameters = c.num_parameters();
    s.weight_bytes = env.decoder->weight_bytes();
    s.quantization = scheme ? scheme->describe() : "none";
    s.kernels = env.decoder->kernels();
    s.quantization_info = scheme ? quant::quantization_info(*scheme) : report::QuantizationInfo{};
    s.quantization_info.fp16_bytes = 2 * s.num_parameters;
    s.quantization_info.compression_ratio =
        s.weight_bytes > 0 ? static_cast<double>(s.quantization_info.fp16_bytes) / static_cast<double>(s.weight_bytes) : 1.0;
    return env;
}

}  // namespace qbench::eval
