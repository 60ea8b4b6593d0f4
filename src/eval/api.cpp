#include "qbench/eval/api.hpp"

#include <map>

#include "qbench/eval/kld.hpp"
#include "qbench/eval/llamacpp_kld.hpp"
#include "qbench/eval/local_model.hpp"
#include "qbench/eval/served_model.hpp"
#include "qbench/eval/model_env.hpp"
#include "qbench/io/safetensors.hpp"
#include "qbench/model/config.hpp"
#include "qbench/model/gguf_model.hpp"
#include "qbench/model/runtime.hpp"
#include "qbench/perf/scenarios.hpp"
#include "qbench/quant/scheme.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/hash.hpp"
#include "qbench/config/schema.hpp"

namespace qbench::eval {

PerplexityOptions ppl_command_defaults() {
    PerplexityOptions o;
    o.max_length = 0;
    o.stride = 0;
    return o;
}

perf::ThroughputOptions throughput_options(const config::ThroughputConfig& t, std::int64_t seed) {
    perf::ThroughputOptions o;
    o.batch_sizes = t.batch_sizes;
    o.context = t.context;
    o.decode_steps = t.decode_steps;
    o.prefill_lengths = t.prefill_lengths;
    o.warmup = t.warmup;
    o.repetitions = t.repetitions;
    o.ci_target_percent = t.ci_target_percent;
    o.max_repetitions = t.max_repetitions;
    o.time_budget_s = t.time_budget_s;
    o.cuda_graph = t.cuda_graph;
    o.prompts = t.prompts;
    o.arrival = t.arrival;
    o.rate_per_s = t.rate_per_s;
    o.max_new_tokens = t.max_new_tokens;
    o.requests = t.requests;
    o.seed = static_cast<std::uint64_t>(seed);
    return o;
}

perf::ThroughputOptions throughput_defaults() {
    const config::ParseEnv env{"(defaults)", std::filesystem::current_path(), nullptr};
    const auto section = config::ThroughputConfig::schema().parse(
        config::Value(YAML::Node(YAML::NodeType::Map), "throughput", env));
    return throughput_options(section, static_cast<std::int64_t>(perf::ThroughputOptions{}.seed));
}

void apply_window_defaults(PerplexityOptions& o, std::int64_t max_position_embeddings) {
    if (o.max_length == 0) o.max_length = std::min<std::int64_t>(2048, max_position_embeddings);
    if (o.stride == 0) o.stride = std::max<std::int64_t>(1, o.max_length / 2);
}

report::PerplexityResult run_perplexity(const ModelRequest& request, const std::filesystem::path& data,
                                        PerplexityOptions options) {
    return run_perplexity(request, data, std::move(options), KldFiles{}).perplexity;
}

PerplexityRun run_perplexity(const ModelRequest& request, const std::filesystem::path& data,
                             PerplexityOptions options, const KldFiles& kld) {
    model::set_threads(request.threads);
    ModelEnv env = load_model_env(request);
    const auto& c = env.decoder->config();
    apply_window_defaults(options, c.max_position_embeddings);
    env.apply_special_tokens(options);
    validate(options);
    const PerplexityInput input = load_perplexity_input(data, env.encoder());
    const std::string data_sha = sha256_file_hex(data);
    KldFileInfo info;
    info.baseline = request.path.string();
    info.protocol = options.protocol;
    info.data_sha256 = data_sha;
    info.max_length = options.max_length;
    info.stride = options.protocol == "sliding" ? options.stride : 0;
    info.limit = options.limit;
    info.vocab_size = c.vocab_size;
    info.top_k = kld.top_k > 0 ? std::min(kld.top_k, c.vocab_size) : default_kld_top_k(c.vocab_size);
    if (kld.base_format != "qbench" && kld.base_format != "llama.cpp") {
        throw_bad_input("--kld-base-format '{}' is not known (known: qbench, llama.cpp)", kld.base_format);
    }
    const bool llama_write = !kld.write_base.empty() && kld.base_format == "llama.cpp";
    const bool llama_read = !kld.compare.empty() && is_llamacpp_kld_file(kld.compare);
    if ((llama_write || llama_read) && options.protocol != "llama.cpp") {
        throw_bad_input("{}: a llama.cpp KLD base file needs --protocol llama.cpp, not {}",
                        (llama_read ? kld.compare : kld.write_base).string(), options.protocol);
    }
    std::int64_t n_chunk = static_cast<std::int64_t>(input.joined.size()) / options.max_length;
    if (options.limit > 0) n_chunk = std::min(n_chunk, options.limit);
    std::unique_ptr<KldBaseWriter> writer;
    std::unique_ptr<LlamaKldWriter> llama_writer;
    std::unique_ptr<KldScorer> scorer;
    std::unique_ptr<LlamaKldScorer> llama_scorer;
    if (llama_write) {
        llama_writer = std::make_unique<LlamaKldWriter>(kld.write_base, options.max_length, c.vocab_size, n_chunk,
                                                  input.joined);
    } else if (!kld.write_base.empty()) {
        writer = std::make_unique<KldBaseWriter>(kld.write_base, info);
    }
    if (llama_read) {
        llama_scorer = std::make_unique<LlamaKldScorer>(kld.compare, options.max_length, c.vocab_size, n_chunk,
                                                        input.joined);
    } else if (!kld.compare.empty()) {
        scorer = std::make_unique<KldScorer>(kld.compare, info);
    }
    struct Both : WindowObserver {
        WindowObserver* a = nullptr;
        WindowObserver* b = nullptr;
        void window(std::size_t i, const Window& w, const lm::WindowScores& s) override {
            if (a) a->window(i, w, s);
            if (b) b->window(i, w, s);
        }
    } both;
    both.a = llama_writer ? static_cast<WindowObserver*>(llama_writer.get()) : writer.get();
    both.b = llama_scorer ? static_cast<WindowObserver*>(llama_scorer.get()) : scorer.get();
    PerplexityRun run;
    run.model = env.summary;
    run.perplexity = evaluate_perplexity(*env.decoder, input, options, (both.a || both.b) ? &both : nullptr);
    run.perplexity.data_path = data.string();
    run.perplexity.data_sha256 = data_sha;
    if (writer) writer->finish();
    if (llama_writer) llama_writer->finish();
    if (llama_scorer) run.kld = llama_scorer->finish();
    if (scorer) {
        run.kld = scorer->finish();
        if (!run.kld) throw_bad_input("--kld {}: {}", kld.compare.string(), scorer->error());
    }
    return run;
}

PerplexityRun run_perplexity(const ServedPerplexityRequest& request, const std::filesystem::path& data,
                             PerplexityOptions options) {
    if (request.tokenizer.empty()) {
        throw_bad_input("ppl --server: --tokenizer is required (the served model's tokenizer, for exact token ids)");
    }
    ServedModel model(request.server, tokenizer::load_tokenizer(request.tokenizer));
    const auto d = model.describe();
    apply_window_defaults(options, d.max_context > 0 ? d.max_context : 2048);
    const auto& tok = model.tokenizer();
    options.chunk_bos = tok.add_bos() ? tok.bos_id() : std::nullopt;
    options.prefix_token = tok.bos_id() ? tok.bos_id() : tok.eos_id();
    validate(options);
    if (d.max_context > 0 && options.max_length > d.max_context) {
        throw_bad_input("ppl --server: --max-length {} exceeds the server's max_model_len {} for {}", options.max_length,
                        d.max_context, d.name);
    }
    const PerplexityInput input =
        load_perplexity_input(data, [&tok](const std::string& text, bool add_special) { return tok.encode(text, add_special); });
    PerplexityRun run;
    run.model.path = d.device + " " + d.name;
    run.model.format = "served";
    run.model.device = d.device;
    run.model.dtype_reason = "chosen by the server";
    run.perplexity = evaluate_perplexity(model, input, options, nullptr);
    run.perplexity.data_path = data.string();
    run.perplexity.data_sha256 = sha256_file_hex(data);
    return run;
}

std::vector<std::vector<std::int64_t>> load_prompts(const std::filesystem::path& path, const Encoder& encode) {
    const PerplexityInput input = load_perplexity_input(path, encode);
    std::vector<std::vector<std::int64_t>> out;
    for (const auto& d : input.documents) {
        if (!d.empty()) out.emplace_back(d.begin(), d.end());
    }
    return out;
}

BenchResult run_bench(const ModelRequest& request, const perf::ThroughputOptions& options) {
    perf::validate(options);  // before the (possibly long) load
    model::set_threads(request.threads);
    ModelEnv env = load_model_env(request);
    std::vector<std::vector<std::int64_t>> prompts;
    if (!options.prompts.empty()) prompts = load_prompts(options.prompts, env.encoder());
    LocalModel local(*env.decoder, env.tokenizer.get(), {request.path.string(), {}, options.cuda_graph});
    return {env.summary, perf::run_throughput(*env.decoder, options, prompts, &local)};
}

namespace {

// `inspect` of a quantized checkpoint or a GGUF file: a load on the CPU in bfloat16 (the dtype
// LibTorch's CPU low-bit kernels are vectorized for; low-bit layers stay low-bit) tells which
// kernel each layer gets and the bytes really held.
ModelEnv load_for_inspection(const std::filesystem::path& path) {
    ModelRequest request;
    request.path = path;
    request.dtype = "bfloat16";
    return load_model_env(request);
}

}  // namespace

ModelInfo inspect_model(const std::filesystem::path& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const bool gguf = path.extension() == ".gguf" && fs::is_regular_file(path, ec);
    if (!gguf && !fs::is_directory(path, ec)) {
        throw_bad_input("{}: expected an HF model directory (config.json + *.safetensors) or a .gguf file",
                        path.string());
    }
    ModelInfo info;
    auto& s = info.summary;
    model::ModelConfig c;
    std::map<std::string, std::uint64_t> bytes_by_dtype;
    if (gguf) {
        auto file = std::make_shared<const io::GgufFile>(path);
        c = model::model_config_from_gguf(*file);
        const model::GgufWeightSource weights(file, c);
        for (const auto& t : file->tensors()) bytes_by_dtype[io::ggml_type_name(t.ggml_type())] += t.nbytes;
        s.format = "gguf";
        info.tensors = static_cast<std::int64_t>(file->tensors().size());
        // Which Linears stay low-bit, with which kernel, and the bytes really held.
        const ModelEnv env = load_for_inspection(path);
        s.kernels = env.summary.kernels;
        s.weight_bytes = env.summary.weight_bytes;
        s.quantization = env.summary.quantization;
        nlohmann::json kept = nlohmann::json::array(), dequantized = nlohmann::json::array();
        std::map<std::string, std::string> kernel_of;
        for (const auto& k : s.kernels) kernel_of[k.name + ".weight"] = k.kernel;
        for (const auto& [hf, t] : weights.tensors()) {
            const auto it = kernel_of.find(hf);
            nlohmann::json entry = {{"name", hf}, {"type", io::ggml_type_name(t->ggml_type())}};
            if (it != kernel_of.end() && it->second != "dense") {
                entry["kernel"] = it->second;
                kept.push_back(entry);
            } else {
                dequantized.push_back(entry);
            }
        }
        info.quantization = {{"format", "gguf"},
                             {"file_type", file->get_uint_or("general.file_type", 0)},
                             {"stored_types", weights.type_counts()},
                             {"stored_bytes", file->total_tensor_bytes()},
                             {"kept_low_bit", kept},
                             {"dequantized_at_load", dequantized}};
    } else {
        c = model::load_model_config(path);
        const auto ckpt = io::SafetensorsCheckpoint::open(path);
        for (const auto& name : ckpt.names()) {
            const auto& t = ckpt.info(name);
            bytes_by_dtype[std::string(io::dtype_name(t.dtype))] += t.nbytes();
        }
        s.format = "safetensors";
        s.weight_bytes = static_cast<std::int64_t>(ckpt.total_bytes());
        info.tensors = static_cast<std::int64_t>(ckpt.names().size());
    }
    s.path = path.string();
    s.architecture = c.architecture;
    s.num_parameters = c.num_parameters();
    std::string stored;
    std::uint64_t most = 0;
    for (const auto& [dt, n] : bytes_by_dtype) {
        if (n > most) {
            most = n;
            stored = dt;
        }
    }
    s.dtype = c.torch_dtype.empty() ? stored : c.torch_dtype;
    s.quantization_info.fp16_bytes = 2 * s.num_parameters;
    if (!gguf) {
        info.quantization = c.quantization_config;
        const auto scheme = quant::checkpoint_scheme(path, c);
        s.quantization = scheme ? scheme->describe() : "none";
        if (scheme) {
            const ModelEnv env = load_for_inspection(path);
            s.kernels = env.summary.kernels;
            s.weight_bytes = env.summary.weight_bytes;
            s.quantization_info = env.summary.quantization_info;
            if (info.quantization.is_null()) info.quantization = scheme->describe();
        }
    }
    s.quantization_info.compression_ratio =
        s.weight_bytes > 0 ? static_cast<double>(s.quantization_info.fp16_bytes) / static_cast<double>(s.weight_bytes) : 1.0;
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
    if (c.gemma_norms) {  // Gemma 3's own fields
        info.config["hidden_act"] = c.hidden_act;
        info.config["rope_local_theta"] = c.rope_local_theta;
        info.config["query_pre_attn_scalar"] = c.query_pre_attn_scalar;
        info.config["final_logit_softcapping"] = c.final_logit_softcapping;
    }
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
