#include "qbench/eval/api.hpp"

#include <map>

#include "qbench/eval/model_env.hpp"
#include "qbench/io/safetensors.hpp"
#include "qbench/model/config.hpp"
#include "qbench/model/runtime.hpp"
#include "qbench/quant/scheme.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/hash.hpp"

namespace qbench::eval {

report::PerplexityResult run_perplexity(const ModelRequest& request, const std::filesystem::path& data,
                                        PerplexityOptions options) {
    model::set_threads(request.threads);
    ModelEnv env = load_model_env(request);
    const auto& c = env.decoder->config();
    if (options.max_length == 0) options.max_length = std::min<std::int64_t>(2048, c.max_position_embeddings);
    if (options.stride == 0) options.stride = std::max<std::int64_t>(1, options.max_length / 2);
    env.apply_special_tokens(options);
    validate(options);
    const PerplexityInput input = load_perplexity_input(data, env.encoder());
    auto r = evaluate_perplexity(*env.decoder, input, options);
    r.data_path = data.string();
    r.data_sha256 = sha256_file_hex(data);
    return r;
}

ModelInfo inspect_model(const std::filesystem::path& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(path, ec)) {
        throw_bad_input("{}: expected an HF model directory (config.json + *.safetensors)", path.string());
    }
    const auto c = model::load_model_config(path);
    const auto ckpt = io::SafetensorsCheckpoint::open(path);
    ModelInfo info;
    auto& s = info.summary;
    s.path = path.string();
    s.format = "safetensors";
    s.architecture = c.architecture;
    s.num_parameters = c.num_parameters();
    s.weight_bytes = static_cast<std::int64_t>(ckpt.total_bytes());
    std::map<std::string, std::uint64_t> bytes_by_dtype;
    for (const auto& name : ckpt.names()) {
        const auto& t = ckpt.info(name);
        bytes_by_dtype[std::string(io::dtype_name(t.dtype))] += t.nbytes();
    }
    std::string stored;
    std::uint64_t most = 0;
    for (const auto& [dt, n] : bytes_by_dtype) {
        if (n > most) {
            most = n;
            stored = dt;
        }
    }
    s.dtype = c.torch_dtype.empty() ? stored : c.torch_dtype;
    info.quantization = c.quantization_config;
    const auto scheme = quant::checkpoint_scheme(path, c);
    s.quantization = scheme ? scheme->describe() : "none";
    s.quantization_info.fp16_bytes = 2 * s.num_parameters;
    if (scheme) {
        // A cheap load on the CPU in bfloat16 (the dtype LibTorch's CPU low-bit kernels are
        // vectorized for; low-bit layers stay low-bit) tells which kernel each layer gets and the
        // bytes really held.
        const ModelEnv env = load_model_env({path, "cpu", "bfloat16", std::nullopt, 0});
        s.kernels = env.summary.kernels;
        s.weight_bytes = env.summary.weight_bytes;
        s.quantization_info = env.summary.quantization_info;
        if (info.quantization.is_null()) info.quantization = scheme->describe();
    }
    s.quantization_info.compression_ratio =
        s.weight_bytes > 0 ? static_cast<double>(s.quantization_info.fp16_bytes) / static_cast<double>(s.weight_bytes) : 1.0;
    info.tensors = static_cast<std::int64_t>(ckpt.names().size());
    std::vector<std::int64_t> windows(c.layer_window.begin(), c.layer_window.end());
    info.config = {{"architecture", c.architecture},
                   {"vocab_size", c.vocab_size},
                   {"hidden_size", c.hidden_size},
                   {"intermediate_size", c.intermediate_size},
                   {"num_layers", c.num_layers},
                   {"num_heads", c.num_heads},
                   {"num_kv_heads", c.num_kv_heads},
                   {"head_dim", c.head_dim},
                   {"max_position_embeddings", c.max_position_embeddings},
                   {"rope_theta", c.rope_theta},
                   {"rope_scaling", c.rope_scaling.type},
                   {"tie_word_embeddings", c.tie_word_embeddings},
                   {"attention_bias", c.attention_bias},
                   {"qk_norm", c.qk_norm},
                   {"sliding_window_per_layer", windows},
                   {"stored_bytes_by_dtype", bytes_by_dtype}};
    return info;
}

void fill_runtime_context(report::RunContext& context, const std::string& device) {
    const auto info = model::runtime_info(model::parse_device(device));
    context.libtorch_version = info.libtorch_version;
    context.cuda_version = info.cuda_version;
    context.gpu_name = info.gpu_name;
    context.threads = info.threads;
    context.device = device;
}

}  // namespace qbench::eval
