#include "qbench/model/generate.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include "qbench/model/runtime.hpp"
#include "qbench/util/error.hpp"

#ifdef QBENCH_HAS_CUDA
#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace qbench::model {

PaddedBatch left_pad(const std::vector<TokenIds>& prompts, std::int64_t pad_token_id) {
    if (prompts.empty()) throw_bad_input("generate: no prompts");
    std::size_t width = 0;
    for (const auto& p : prompts) {
        if (p.empty()) throw_bad_input("generate: an empty prompt (it needs at least one token, e.g. BOS)");
        width = std::max(width, p.size());
    }
    const auto B = static_cast<std::int64_t>(prompts.size());
    PaddedBatch out;
    out.ids = torch::full({B, static_cast<std::int64_t>(width)}, pad_token_id, torch::kInt64);
    out.pad = torch::empty({B}, torch::kInt64);
    auto ids = out.ids.accessor<std::int64_t, 2>();
    auto pad = out.pad.accessor<std::int64_t, 1>();
    for (std::int64_t b = 0; b < B; ++b) {
        const auto& p = prompts[static_cast<std::size_t>(b)];
        const auto n = static_cast<std::int64_t>(width - p.size());
        pad[b] = n;
        out.padded = out.padded || n > 0;
        for (std::size_t t = 0; t < p.size(); ++t) ids[b][n + static_cast<std::int64_t>(t)] = p[t];
    }
    return out;
}

torch::Tensor prefill(const Decoder& decoder, const torch::Tensor& ids, KVCache& cache) {
    auto hidden = decoder.forward_hidden(ids, &cache);                  // [B, T, H]
    return decoder.logits_compute_dtype(hidden.select(1, ids.size(1) - 1));  // [B, V]
}

torch::Tensor decode_one_token(const Decoder& decoder, const torch::Tensor& tokens, KVCache& cache) {
    auto hidden = decoder.forward_hidden(tokens, &cache);                  // [B, 1, H]
    return decoder.logits_compute_dtype(hidden.select(1, 0));             // [B, V]
}

torch::Tensor sample(const torch::Tensor& logits, const SamplingOptions& o, at::Generator& generator) {
    if (o.temperature <= 0.0) return logits.argmax(-1);
    const auto V = logits.size(-1);
    const float neg_inf = -std::numeric_limits<float>::infinity();
    auto x = logits.to(torch::kFloat32) / o.temperature;                  // [B, V]
    if (o.top_k > 0 && o.top_k < V) {
        auto kth = std::get<0>(x.topk(o.top_k, -1)).select(-1, o.top_k - 1).unsqueeze(-1);  // [B, 1]
        x = x.masked_fill(x < kth, neg_inf);
    }
    if (o.top_p < 1.0) {
        auto [sorted, order] = x.sort(-1, /*descending=*/true);          // [B, V]
        auto probs = sorted.softmax(-1);
        // Drop a token when the more likely ones already reach top_p (the first always stays).
        auto drop = (probs.cumsum(-1) - probs) >= o.top_p;
        x = x.scatter(-1, order, sorted.masked_fill(drop, neg_inf));
    }
    return torch::multinomial(x.softmax(-1), 1, /*replacement=*/false, generator).squeeze(-1);  // [B]
}

at::Generator make_generator(const torch::Device& device, std::uint64_t seed) {
#ifdef QBENCH_HAS_CUDA
    if (device.is_cuda()) {
        auto g = at::cuda::detail::createCUDAGenerator(device.has_index() ? device.index() : 0);
        g.set_current_seed(seed);
        return g;
    }
#endif
    return at::detail::createCPUGenerator(seed);
}

StopFn stop_on_strings(std::function<std::string(const TokenIds&)> decode, std::vector<std::string> strings) {
    return [decode = std::move(decode), strings = std::move(strings)](std::size_t, const TokenIds& ids) {
        const std::string text = decode(ids);
        return std::any_of(strings.begin(), strings.end(),
                           [&](const std::string& s) { return !s.empty() && text.find(s) != std::string::npos; });
    };
}

// ---------------------------------------------------------------------------------------------
struct DecodeStep::Graph {
#ifdef QBENCH_HAS_CUDA
    at::cuda::CUDAGraph graph;
#endif
    torch::Tensor tokens;  // [B, 1] static input
    torch::Tensor logits;  // [B, V] static output
};

DecodeStep::DecodeStep(const Decoder& decoder, KVCache& cache, bool cuda_graph)
    : decoder_(decoder), cache_(cache) {
    if (!cuda_graph) return;
#ifdef QBENCH_HAS_CUDA
    if (!decoder.device().is_cuda()) return;
    if (!cache.static_shapes) {
        note_ = "CUDA graph not used: the KV cache is not in static mode";
        return;
    }
    try_graph_ = true;
#else
    (void)decoder;
#endif
}

DecodeStep::~DecodeStep() = default;

bool DecodeStep::graphed() const { return graph_ != nullptr; }

torch::Tensor DecodeStep::operator()(const torch::Tensor& tokens) {
    c10::InferenceMode inference;
#ifdef QBENCH_HAS_CUDA
    if (try_graph_ && !graph_) capture(tokens);
    if (graph_) {
        if (cache_.length + 1 > cache_.capacity()) {
            throw_runtime("KV cache overflow: {} + 1 tokens exceed capacity {}", cache_.length, cache_.capacity());
        }
        graph_->tokens.copy_(tokens);
        graph_->graph.replay();
        cache_.length += 1;  // the graph advanced the device-side slot
        return graph_->logits;
    }
#endif
    return decode_one_token(decoder_, tokens, cache_);
}

void DecodeStep::capture(const torch::Tensor& tokens) {
#ifdef QBENCH_HAS_CUDA
    try_graph_ = false;
    const auto length = cache_.length;
    auto restore = [&] {
        cache_.length = length;
        cache_.slot.fill_(length);
    };
    auto g = std::make_unique<Graph>();
    g->tokens = tokens.to(decoder_.device(), torch::kInt64).clone();
    bool capturing = false;
    try {
        synchronize(decoder_.device());
        auto stream = c10::cuda::getStreamFromPool(false, decoder_.device().index());
        {
            c10::cuda::CUDAStreamGuard guard(stream);
            // Warm-up on the side stream (cuBLAS handles, allocator): these steps write the slot
            // the real step will overwrite, and are undone by restore().
            for (int i = 0; i < 3; ++i) {
                decode_one_token(decoder_, g->tokens, cache_);
                restore();
            }
            stream.synchronize();
            g->graph.capture_begin();
            capturing = true;
            g->logits = decode_one_token(decoder_, g->tokens, cache_);
            g->graph.capture_end();
            capturing = false;
        }
        restore();
        synchronize(decoder_.device());
        graph_ = std::move(g);
    } catch (const std::exception& e) {
        if (capturing) {
            try {
                g->graph.capture_end();
            } catch (const std::exception&) {
            }
        }
        (void)cudaGetLastError();
        std::string msg = e.what();
        if (auto nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
        note_ = "CUDA graph capture failed, decoding eagerly: " + msg;
        restore();
    }
#else
    (void)tokens;
#endif
}

// ---------------------------------------------------------------------------------------------
Generator::Generator(const Decoder& decoder, std::int64_t batch, std::int64_t capacity, bool cuda_graph)
    : decoder_(decoder) {
    const bool graph = cuda_graph && decoder.device().is_cuda();
    cache_ = decoder.make_cache(batch, capacity, graph);
    if (graph) cache_.pad = torch::zeros({batch}, torch::TensorOptions().dtype(torch::kInt64).device(decoder.device()));
    step_ = std::make_unique<DecodeStep>(decoder, cache_, cuda_graph);
}

GenerateResult Generator::generate(const std::vector<TokenIds>& prompts, const GenerateOptions& o) {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    const auto B = cache_.batch();
    if (prompts.size() > static_cast<std::size_t>(B)) {
        throw_bad_input("generate: {} prompts for a generator of batch {}", prompts.size(), B);
    }
    // Unused rows repeat the first prompt and are dropped from the result.
    std::vector<TokenIds> rows = prompts;
    rows.resize(static_cast<std::size_t>(B), prompts.empty() ? TokenIds{} : prompts.front());
    const PaddedBatch batch = left_pad(rows, o.pad_token_id);
    if (batch.ids.size(1) + o.max_new_tokens > cache_.capacity()) {
        throw_bad_input("generate: {} prompt + {} new tokens exceed the cache capacity {}", batch.ids.size(1),
                        o.max_new_tokens, cache_.capacity());
    }
    const auto device = decoder_.device();
    if (cache_.static_shapes) {
        cache_.reset(cache_.pad);
        cache_.pad.copy_(batch.pad);
    } else {
        cache_.reset(batch.padded ? batch.pad.to(device) : torch::Tensor());
    }

    torch::InferenceMode inference;
    GenerateResult result;
    result.rows.resize(prompts.size());
    std::vector<bool> done(prompts.size(), false);
    std::size_t open = prompts.size();
    auto generator = make_generator(device, o.sampling.seed);

    auto logits = prefill(decoder_, batch.ids.to(device), cache_);  // [B, V]
    for (std::int64_t step = 0; step < o.max_new_tokens && open > 0; ++step) {
        auto next = sample(logits, o.sampling, generator);             // [B]
        const auto host = next.to(torch::kCPU);
        result.token_seconds.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
        const auto* ids = host.data_ptr<std::int64_t>();
        for (std::size_t b = 0; b < prompts.size(); ++b) {
            if (done[b]) continue;
            auto& row = result.rows[b];
            row.tokens.push_back(ids[b]);
            if (std::find(o.stop_token_ids.begin(), o.stop_token_ids.end(), ids[b]) != o.stop_token_ids.end()) {
                row.finish_reason = "stop_token";
            } else if (o.stop && o.stop(b, row.tokens)) {
                row.finish_reason = "stop";
            } else if (step + 1 == o.max_new_tokens) {
                row.finish_reason = "length";
            }
            if (!row.finish_reason.empty()) {
                done[b] = true;
                --open;
            }
        }
        if (open > 0 && step + 1 < o.max_new_tokens) logits = (*step_)(next.view({B, 1}));
    }
    for (auto& row : result.rows) {
        if (row.finish_reason.empty()) row.finish_reason = "length";  // max_new_tokens == 0
    }
    result.cuda_graph = step_->graphed();
    result.note = step_->note();
    return result;
}

GenerateResult generate(const Decoder& decoder, const std::vector<TokenIds>& prompts, const GenerateOptions& o) {
    std::size_t width = 0;
    for (const auto& p : prompts) width = std::max(width, p.size());
    Generator g(decoder, static_cast<std::int64_t>(prompts.size()), static_cast<std::int64_t>(width) + o.max_new_tokens);
    return g.generate(prompts, o);
}

}  // namespace qbench::model
