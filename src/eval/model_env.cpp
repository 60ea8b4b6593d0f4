#include "qbench/eval/model_env.hpp"

#include <chrono>

#include "qbench/model/compute_dtype.hpp"
#include "qbench/model/gguf_model.hpp"
#include "qbench/model/random_weights.hpp"
#include "qbench/model/runtime.hpp"
#include "qbench/quant/gguf.hpp"
#include "qbench/quant/scheme.hpp"
#include "qbench/tokenizer/gguf_tokenizer.hpp"
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
    if (!fs::exists(request.path, ec)) throw_bad_input("{}: no such model directory or file", request.path.string());
    const bool gguf = request.path.extension() == ".gguf" && fs::is_regular_file(request.path, ec);
    if (!gguf && !fs::is_directory(request.path, ec)) {
        throw_bad_input("{}: expected an HF model directory (config.json + *.safetensors) or a .gguf file",
                        request.path.string());
    }
    // A GGUF file's Q8_0 / Q4_0 Linear weights stay low-bit (quant/gguf.hpp) unless the request
    // says gguf_dequantize or quantizes at run time; its other tensors are dequantized by its
    // weight source (docs/ARCHITECTURE.md, "GGUF"). An HF directory may declare a scheme.
    std::shared_ptr<const io::GgufFile> file;
    if (gguf) file = std::make_shared<const io::GgufFile>(request.path);
    const model::ModelConfig config = gguf ? model::model_config_from_gguf(*file) : model::load_model_config(request.path);
    std::optional<quant::QuantScheme> scheme;
    if (!gguf) scheme = quant::checkpoint_scheme(request.path, config);
    if (scheme && request.quantize) {
        throw_bad_input("{}: the checkpoint is already quantized ({}); quantize '{}' applies to float checkpoints",
                        request.path.string(), scheme->describe(), request.quantize->to_string());
    }
    if (request.quantize) scheme = quant::scheme_from_spec(*request.quantize);
    model::LoadOptions options;
    options.device = model::parse_device(request.device);
    const model::DtypeChoice dtype = model::choose_compute_dtype(request.dtype, model::probe_device(request.device),
                                                                 config.architecture, config.model_type);
    options.dtype = model::parse_dtype(dtype.dtype);
    if (scheme) {
        options.linear_factory = quant::make_linear_factory(*scheme);
    } else if (gguf && !request.gguf_dequantize) {
        options.linear_factory = quant::make_gguf_linear_factory();
    }
    ModelEnv env;
    auto& s = env.summary;
    const auto load_start = std::chrono::steady_clock::now();
    if (gguf) {
        const model::GgufWeightSource weights(file, config);
        env.decoder = model::guard_torch(request.path.string(),
                                         [&] { return model::Decoder::load(config, weights, options); });
        if (file->has("tokenizer.ggml.model")) {
            try {
                env.tokenizer = tokenizer::make_gguf_tokenizer(*file);
            } catch (const Error& e) {
                env.tokenizer_error = e.what();
                log::warn("{}", e.what());
            }
        }
        s.format = "gguf";
        s.quantization = model::describe_gguf_storage(*file, weights, model::dtype_name(options.dtype),
                                                      env.decoder->kernels());
        if (request.gguf_dequantize) s.quantization += " (gguf_dequantize)";
    } else {
        env.decoder = model::guard_torch(request.path.string(), [&] {
            if (!request.random_weights) return model::Decoder::load(config, model::WeightLoader(request.path), options);
            return model::Decoder::load(config, model::RandomWeights(config, request.seed), options);
        });
        if (fs::exists(request.path / "tokenizer.json") || fs::exists(request.path / "tokenizer.model")) {
            try {
                env.tokenizer = tokenizer::load_tokenizer(request.path);
            } catch (const Error& e) {
                env.tokenizer_error = e.what();
                log::warn("{}", e.what());
            }
        }
        s.format = request.random_weights ? "random" : "safetensors";
        s.quantization = "none";
    }
    model::synchronize(options.device);  // copies to the device (and quantization) are done
    s.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
    const auto& c = env.decoder->config();
    s.path = request.path.string();
    s.architecture = c.architecture;
    s.dtype = model::dtype_name(options.dtype);
    s.dtype_reason = dtype.reason;
    s.device = options.device.str();
    s.num_parameters = c.num_parameters();
    s.weight_bytes = env.decoder->weight_bytes();
    if (scheme) s.quantization = gguf ? s.quantization + "; then " + scheme->describe() : scheme->describe();
    s.kernels = env.decoder->kernels();
    s.quantization_info = scheme ? quant::quantization_info(*scheme) : report::QuantizationInfo{};
    s.quantization_info.fp16_bytes = 2 * s.num_parameters;
    s.quantization_info.compression_ratio =
        s.weight_bytes > 0 ? static_cast<double>(s.quantization_info.fp16_bytes) / static_cast<double>(s.weight_bytes) : 1.0;
    return env;
}

}  // namespace qbench::eval
