#include "qbench/eval/model_env.hpp"

#include "qbench/model/random_weights.hpp"
#include "qbench/model/runtime.hpp"
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
    if (request.quantize) {
        throw_bad_input("{}: run-time quantization '{}' is not supported by this build", request.path.string(),
                        request.quantize->to_string());
    }
    model::LoadOptions options;
    options.device = model::parse_device(request.device);
    options.dtype = model::parse_dtype(request.dtype);
    ModelEnv env;
    env.decoder = model::guard_torch(request.path.string(), [&] {
        if (!request.random_weights) return model::Decoder::load(request.path, options);
        const auto config = model::load_model_config(request.path);
        return model::Decoder::load(config, model::RandomWeights(config, request.seed), options);
    });
    const auto& c = env.decoder->config();
    auto& s = env.summary;
    s.path = request.path.string();
    s.format = request.random_weights ? "random" : "safetensors";
    s.architecture = c.architecture;
    s.dtype = model::dtype_name(options.dtype);
    s.device = options.device.str();
    s.num_parameters = c.num_parameters();
    s.weight_bytes = env.decoder->weight_bytes();
    s.quantization = "none";
    s.kernels = env.decoder->kernels();
    return env;
}

}  // namespace qbench::eval
