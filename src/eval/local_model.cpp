#include "qbench/eval/local_model.hpp"

#include <torch/torch.h>

#include <algorithm>

#include "qbench/eval/nonfinite.hpp"
#include "qbench/model/compute_dtype.hpp"
#include "qbench/model/decoder.hpp"
#include "qbench/model/generate.hpp"
#include "qbench/model/runtime.hpp"
#include "qbench/util/error.hpp"

namespace qbench::eval {

LocalModel::LocalModel(const model::Decoder& decoder, const tokenizer::Tokenizer* tok, LocalModelOptions options)
    : decoder_(&decoder), tok_(tok), options_(std::move(options)) {}

LocalModel::~LocalModel() = default;

lm::ModelDescription LocalModel::describe() const {
    lm::ModelDescription d;
    d.name = options_.name.empty() ? "local model" : options_.name;
    d.vocab_size = decoder_->config().vocab_size;
    d.max_context = decoder_->config().max_position_embeddings;
    d.dtype = std::string(c10::toString(decoder_->dtype()));
    d.device = decoder_->device().str();
    d.backend = "libtorch";
    return d;
}

lm::Capabilities LocalModel::capabilities() const {
    return {decoder_->config().vocab_size, tok_ != nullptr, true};
}

void LocalModel::score_windows(const std::vector<lm::Window>& windows, const lm::ScoreOptions& so,
                               lm::ScoreObserver& observer) {
    const auto vocab = decoder_->config().vocab_size;
    if (so.top_k < 0 || so.top_k > vocab) {
        throw_bad_input("{}: top_k {} is outside 0..{} (the vocabulary)", so.label, so.top_k, vocab);
    }
    if (so.batch_size < 1) throw_bad_input("{}: batch_size must be at least 1, got {}", so.label, so.batch_size);
    for (const auto& w : windows) {
        if (w.score_from < 1 || w.score_from >= static_cast<std::int64_t>(w.ids.size())) {
            throw_bad_input("{}: a window of {} tokens scores from {}", so.label, w.ids.size(), w.score_from);
        }
        for (auto id : w.ids) {
            if (id < 0 || id >= vocab) throw_bad_input("token id {} is outside the model's vocabulary (size {})", id, vocab);
        }
    }
    model::guard_torch(so.label, [&] {
        const model::Decoder& model = *decoder_;
        c10::InferenceMode inference;  // as transformers' evaluation under torch.inference_mode
        const auto batch = static_cast<std::size_t>(so.batch_size);
        for (std::size_t start = 0; start < windows.size(); start += batch) {
            const std::size_t end = std::min(windows.size(), start + batch);
            std::int64_t width = 0;
            for (std::size_t i = start; i < end; ++i)
                width = std::max<std::int64_t>(width, static_cast<std::int64_t>(windows[i].ids.size()) - 1);
            auto ids = torch::zeros({static_cast<std::int64_t>(end - start), width}, torch::kInt64);
            auto acc = ids.accessor<std::int64_t, 2>();
            for (std::size_t i = start; i < end; ++i) {
                const auto& w = windows[i];
                for (std::size_t t = 0; t + 1 < w.ids.size(); ++t)
                    acc[static_cast<std::int64_t>(i - start)][static_cast<std::int64_t>(t)] = w.ids[t];
            }
            auto hidden = model.forward_hidden(ids);
            for (std::size_t i = start; i < end; ++i) {
                const auto& w = windows[i];
                const auto len = static_cast<std::int64_t>(w.ids.size());
                auto h = hidden[static_cast<std::int64_t>(i - start)].slice(0, w.score_from - 1, len - 1);
                auto logits = model.logits(h);
                if (const auto bad = first_nonfinite_row(logits); bad >= 0) {
                    auto window_ids =
                        torch::from_blob(const_cast<std::int32_t*>(w.ids.data()), {len - 1}, torch::kInt32)
                            .to(torch::kInt64);
                    throw_runtime("{}: window {}: non-finite logits from position {} (predicting token {} of {}): {}",
                                  so.label, i, w.score_from - 1 + bad, w.score_from + bad, len,
                                  explain_nonfinite(model, window_ids));
                }
                auto logp = torch::log_softmax(logits.to(torch::kFloat32), -1);
                const std::int64_t n = len - w.score_from;
                auto targets = torch::from_blob(const_cast<std::int32_t*>(w.ids.data()) + w.score_from, {n},
                                                torch::kInt32)
                                   .to(logp.device(), torch::kInt64);
                auto target_logp = logp.gather(1, targets.unsqueeze(1)).squeeze(1).to(torch::kCPU).contiguous();
                lm::WindowScores s;
                s.positions = n;
                s.vocab_size = vocab;
                s.targets = std::span<const std::int32_t>(w.ids.data() + w.score_from, static_cast<std::size_t>(n));
                s.target_logp = {target_logp.data_ptr<float>(), static_cast<std::size_t>(n)};
                torch::Tensor top_ids, top_logp;
                if (so.top_k >= vocab) {
                    top_logp = logp.to(torch::kCPU).contiguous();
                    s.k = vocab;
                } else if (so.top_k > 0) {
                    auto [values, idx] = torch::topk(logp, so.top_k, 1, true, true);
                    top_logp = values.to(torch::kCPU).contiguous();
                    top_ids = idx.to(torch::kCPU, torch::kInt32).contiguous();
                    s.k = so.top_k;
                    s.top_ids = {top_ids.data_ptr<std::int32_t>(), static_cast<std::size_t>(top_ids.numel())};
                }
                if (s.k > 0) s.logp = {top_logp.data_ptr<float>(), static_cast<std::size_t>(top_logp.numel())};
                observer.window(i, w, s);
            }
        }
    });
}

tasks::DecoderLM& LocalModel::text() {
    if (tok_ == nullptr) {
        throw_bad_input("{}: loglikelihood and generation need the model's tokenizer", describe().name);
    }
    if (!text_) text_ = std::make_unique<tasks::DecoderLM>(*decoder_, *tok_, options_.tasks);
    return *text_;
}

std::vector<lm::LoglikelihoodResult> LocalModel::loglikelihood(const std::vector<lm::LoglikelihoodRequest>& requests) {
    return text().loglikelihood(requests);
}

std::vector<std::string> LocalModel::generate(const std::vector<std::string>& prompts,
                                              const lm::GenerationOptions& options) {
    return text().generate(prompts, options);
}

void LocalModel::prepare_generation(std::int64_t max_total_tokens) {
    if (generator_ && generator_capacity_ >= max_total_tokens) return;
    generator_ = std::make_unique<model::Generator>(*decoder_, 1, max_total_tokens, options_.cuda_graph);
    generator_capacity_ = max_total_tokens;
}

lm::TimedGeneration LocalModel::generate_tokens(const lm::TokenIds& prompt, const lm::TokenGenerationOptions& options) {
    const auto need = static_cast<std::int64_t>(prompt.size()) + options.max_new_tokens;
    if (!generator_ || generator_capacity_ < need) prepare_generation(need);
    model::GenerateOptions g;
    g.max_new_tokens = options.max_new_tokens;
    auto out = generator_->generate({model::TokenIds(prompt.begin(), prompt.end())}, g);
    lm::TimedGeneration r;
    const auto& t = out.rows.at(0).tokens;
    r.tokens.assign(t.begin(), t.end());
    r.token_seconds = std::move(out.token_seconds);
    return r;
}

}  // namespace qbench::eval
