#include "qbench/eval/model_env.hpp"

#include "qbench/model/runtime.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/log.hpp"

namespace qbench::eval {

Encoder ModelEnv::encoder() const {
    if (tokenizer) {
        auto tok = tokenizer;
        return [tok](const std::string& text, bool add_special) { return tok->encode(text, add_special); };
    }
    if (!tokenizer_error.empty()) {
        auto err = tokenizer_error;
        return [err](const std::string&, bool) -> TokenIds { throw_bad_input("{}", err); };
    }
    return {};
}

void ModelEnv::apply_special_tokens(PerplexityOptions& options) const {
    // llama-perplexity replaces a chunk's first token with BOS only when the vocabulary adds BOS;
    // lm-eval's prefix token is BOS, else EOS. The tokenizer decides when there is one; without
    // it, config.json's bos_token_id / eos_token_id do.
    const auto& c = decoder->config();
    const auto config_bos = c.bos_token_id ? std::optional<std::int32_t>(static_cast<std::int32_t>(*c.bos_token_id))
                                           : std::nullopt;
    const auto config_eos = c.eos_token_id ? std::optional<std::int32_t>(static_cast<std::int32_t>(*c.eos_token_id))
                                           : std::nullopt;
    if (tokenizer) {
        options.chunk_bos = tokenizer->add_bos() ? tokenizer->bos_id() : std::nullopt;
        options.prefix_token = tokenizer->bos_id() ? tokenizer->bos_id() : tokenizer->eos_id();
    } else {
        options.chunk_bos = config_bos;
    }
    if (!options.prefix_token) options.prefix_token = config_bos ? config_bos : config_eos;
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
    env.decoder = model::guard_torch(request.path.string(),
                                     [&] { return model::Decoder::load(request.path, options); });
    if (fs::exists(request.path / "tokenizer.json") || fs::exists(request.path / "tokenizer.model")) {
        try {
            env.tokenizer = tokenizer::load_tokenizer(request.path);
        } catch (const Error& e) {
            env.tokenizer_error = e.what();
            log::warn("{}", e.what());
        }
    }
    const auto& c = env.decoder->config();
    auto& s = env.summary;
    s.path = request.path.string();
    s.format = "safetensors";
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
