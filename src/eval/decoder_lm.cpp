#include "qbench/eval/tasks/decoder_lm.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <limits>
#include <map>

#include "qbench/eval/nonfinite.hpp"
#include "qbench/model/decoder.hpp"
#include "qbench/model/generate.hpp"
#include "qbench/model/runtime.hpp"
#include "qbench/tokenizer/tokenizer.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/log.hpp"

namespace qbench::eval::tasks {

std::pair<TokenIds, TokenIds> encode_pair(const tokenizer::Tokenizer& tok, const std::string& context,
                                          const std::string& continuation, std::int32_t prefix_token,
                                          bool add_special_tokens) {
    if (context.empty()) {
        TokenIds cont = tok.encode(continuation, false);
        if (!cont.empty() && cont[0] == prefix_token) return {TokenIds{cont[0]}, TokenIds(cont.begin() + 1, cont.end())};
        return {TokenIds{prefix_token}, std::move(cont)};
    }
    std::string ctx = context, cont = continuation;
    const auto last = ctx.find_last_not_of(" \t\n\r\f\v");
    const std::size_t keep = last == std::string::npos ? 0 : last + 1;
    if (keep < ctx.size()) {
        cont = ctx.substr(keep) + cont;
        ctx.resize(keep);
    }
    const TokenIds whole = tok.encode(ctx + cont, add_special_tokens);
    const TokenIds ctx_enc = tok.encode(ctx, add_special_tokens);
    const std::size_t split = std::min(ctx_enc.size(), whole.size());
    return {ctx_enc, TokenIds(whole.begin() + static_cast<std::ptrdiff_t>(split), whole.end())};
}

DecoderLM::DecoderLM(const model::Decoder& model, const tokenizer::Tokenizer& tok, DecoderLMOptions options)
    : model_(&model), tok_(&tok), options_(options) {
    if (options_.max_length <= 0) options_.max_length = model.config().max_position_embeddings;
    if (options_.batch_size < 1) throw_bad_input("batch_size must be at least 1, got {}", options_.batch_size);
    const auto& c = model.config();
    std::optional<std::int32_t> prefix = tok.bos_id();
    if (!prefix && c.bos_token_id) prefix = static_cast<std::int32_t>(*c.bos_token_id);
    eos_ = tok.eos_id();
    if (!eos_ && c.eos_token_id) eos_ = static_cast<std::int32_t>(*c.eos_token_id);
    if (!prefix) prefix = eos_;
    if (!prefix) throw_bad_input("the model declares neither a BOS nor an EOS token (needed as lm-eval's prefix token)");
    prefix_token_ = *prefix;
}

namespace {

struct Row {
    TokenIds input;  // what the model reads
};

struct Served {
    std::size_t row = 0;
    std::int64_t end = 0;  // logits positions [end - cont_len, end) score the continuation
    TokenIds cont;
};

bool is_prefix(const TokenIds& a, const TokenIds& b) {
    return a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace

std::vector<LoglikelihoodResult> DecoderLM::loglikelihood(const std::vector<LoglikelihoodRequest>& requests) {
    const auto L = static_cast<std::size_t>(options_.max_length);
    const auto vocab = model_->config().vocab_size;
    struct Encoded {
        TokenIds ctx, cont, input;
    };
    std::vector<Encoded> enc(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
        auto [ctx, cont] = encode_pair(*tok_, requests[i].context, requests[i].continuation, prefix_token_,
                                       options_.add_special_tokens);
        if (cont.empty()) throw_bad_input("continuation '{}' encodes to no tokens", requests[i].continuation);
        if (cont.size() > L) throw_bad_input("a continuation of {} tokens exceeds max_length {}", cont.size(), L);
        TokenIds all = ctx;
        all.insert(all.end(), cont.begin(), cont.end());
        if (all.size() > L + 1) all.erase(all.begin(), all.end() - static_cast<std::ptrdiff_t>(L + 1));
        all.pop_back();
        for (auto id : all)
            if (id < 0 || id >= vocab) throw_bad_input("token id {} is outside the model's vocabulary (size {})", id, vocab);
        enc[i] = {std::move(ctx), std::move(cont), std::move(all)};
    }
    // Longest first, ties by the tokens (lm-eval's _collate), so a request meets the rows that
    // can serve it before it would need its own.
    std::vector<std::size_t> order(requests.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const auto la = enc[a].ctx.size() + enc[a].cont.size(), lb = enc[b].ctx.size() + enc[b].cont.size();
        if (la != lb) return la > lb;
        return enc[a].input < enc[b].input;
    });
    std::vector<Row> rows;
    std::vector<Served> served(requests.size());
    std::map<TokenIds, std::vector<std::size_t>> rows_by_context;
    for (std::size_t i : order) {
        auto& candidates = rows_by_context[enc[i].ctx];
        std::optional<std::size_t> row;
        for (std::size_t r : candidates)
            if (is_prefix(enc[i].input, rows[r].input)) row = r;
        if (!row) {
            row = rows.size();
            rows.push_back({enc[i].input});
            candidates.push_back(*row);
        }
        served[i] = {*row, static_cast<std::int64_t>(enc[i].input.size()), enc[i].cont};
    }
    std::vector<std::vector<std::size_t>> by_row(rows.size());
    for (std::size_t i = 0; i < served.size(); ++i) by_row[served[i].row].push_back(i);

    std::vector<LoglikelihoodResult> out(requests.size());
    torch::NoGradGuard no_grad;
    const auto batch = static_cast<std::size_t>(options_.batch_size);
    model::guard_torch("loglikelihood", [&] {
        for (std::size_t start = 0; start < rows.size(); start += batch) {
            const std::size_t end = std::min(rows.size(), start + batch);
            std::int64_t width = 0;
            for (std::size_t r = start; r < end; ++r) width = std::max<std::int64_t>(width, static_cast<std::int64_t>(rows[r].input.size()));
            auto ids = torch::zeros({static_cast<std::int64_t>(end - start), width}, torch::kInt64);
            auto acc = ids.accessor<std::int64_t, 2>();
            for (std::size_t r = start; r < end; ++r)
                for (std::size_t t = 0; t < rows[r].input.size(); ++t)
                    acc[static_cast<std::int64_t>(r - start)][static_cast<std::int64_t>(t)] = rows[r].input[t];
            auto hidden = model_->forward_hidden(ids.to(model_->device()));
            rows_run_ += static_cast<std::int64_t>(end - start);
            for (std::size_t r = start; r < end; ++r) {
                for (std::size_t i : by_row[r]) {
                    const Served& s = served[i];
                    const auto n = static_cast<std::int64_t>(s.cont.size());
                    auto h = hidden[static_cast<std::int64_t>(r - start)].slice(0, s.end - n, s.end);
                    auto logits = model_->logits(h);
                    if (const auto bad = first_nonfinite_row(logits); bad >= 0) {
                        const auto& input = rows[r].input;
                        const auto row_ids = torch::tensor(std::vector<std::int64_t>(input.begin(), input.end()),
                                                           torch::kInt64);
                        out[i].logprob = std::numeric_limits<double>::quiet_NaN();
                        out[i].tokens = n;
                        out[i].nonfinite = fmt::format("non-finite logits at continuation token {} of {}: {}", bad, n,
                                                       explain_nonfinite(*model_, row_ids.narrow(0, 0, s.end)));
                        continue;
                    }
                    auto logp = torch::log_softmax(logits, -1).to(torch::kCPU);
                    auto targets = torch::tensor(std::vector<std::int64_t>(s.cont.begin(), s.cont.end()), torch::kInt64);
                    auto picked = logp.gather(1, targets.unsqueeze(1)).squeeze(1);
                    auto greedy = logp.argmax(-1);
                    out[i].logprob = picked.to(torch::kFloat64).sum().item<double>();
                    out[i].is_greedy = greedy.eq(targets).all().item<bool>();
                    out[i].tokens = n;
                }
            }
        }
    });
    return out;
}

namespace {

// The next token from the last position's logits [vocab] (float32).
std::int64_t pick_token(torch::Tensor logits, const GenerationOptions& o, torch::Generator& gen) {
    if (o.temperature <= 0.0) return logits.argmax(-1).item<std::int64_t>();
    logits = logits / o.temperature;
    if (o.top_k > 0 && o.top_k < logits.size(0)) {
        auto kth = std::get<0>(logits.topk(o.top_k)).index({-1});
        logits = logits.masked_fill(logits < kth, -std::numeric_limits<float>::infinity());
    }
    if (o.top_p < 1.0) {
        auto [sorted, idx] = logits.sort(-1, /*descending=*/false);
        auto cum = sorted.softmax(-1).cumsum(-1);
        auto remove = cum <= (1.0 - o.top_p);
        remove.index_put_({-1}, false);  // keep at least the most likely token
        logits = logits.scatter(0, idx, sorted.masked_fill(remove, -std::numeric_limits<float>::infinity()));
    }
    auto probs = logits.softmax(-1);
    return torch::multinomial(probs, 1, false, gen).item<std::int64_t>();
}

}  // namespace

std::string DecoderLM::generate_one(const TokenIds& prompt, const GenerationOptions& o, std::uint64_t seed) {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(seed);
    auto cache = model_->make_cache(1, static_cast<std::int64_t>(prompt.size()) + o.max_gen_toks);
    auto ids = torch::tensor(std::vector<std::int64_t>(prompt.begin(), prompt.end()), torch::kInt64).unsqueeze(0);
    auto hidden = model_->forward_hidden(ids.to(model_->device()), &cache);
    TokenIds generated;
    for (std::int64_t step = 0; step < o.max_gen_toks; ++step) {
        auto logits = model_->logits(hidden[0][hidden.size(1) - 1]).to(torch::kCPU);
        if (first_nonfinite_row(logits.unsqueeze(0)) >= 0) {
            std::vector<std::int64_t> all(prompt.begin(), prompt.end());
            all.insert(all.end(), generated.begin(), generated.end());
            throw_runtime("generation: non-finite logits at generated token {}: {}", step,
                          explain_nonfinite(*model_, torch::tensor(all, torch::kInt64)));
        }
        const auto next = static_cast<std::int32_t>(pick_token(logits, o, gen));
        if (eos_ && next == *eos_) break;
        generated.push_back(next);
        const std::string text = tok_->decode(generated, true);
        if (std::any_of(o.until.begin(), o.until.end(),
                        [&](const std::string& s) { return !s.empty() && text.find(s) != std::string::npos; }))
            break;
        if (step + 1 == o.max_gen_toks) break;
        auto step_ids = torch::full({1, 1}, static_cast<std::int64_t>(next), torch::kInt64);
        hidden = model_->forward_hidden(step_ids.to(model_->device()), &cache);
    }
    return finish_text(generated, o);
}

TokenIds DecoderLM::generation_prompt(const std::string& prompt, const GenerationOptions& o) const {
    const std::int64_t max_ctx = std::max<std::int64_t>(1, options_.max_length - o.max_gen_toks);
    TokenIds ids = tok_->encode(prompt, options_.add_special_tokens);
    if (static_cast<std::int64_t>(ids.size()) > max_ctx) ids.erase(ids.begin(), ids.end() - max_ctx);
    if (ids.empty()) ids.push_back(prefix_token_);
    return ids;
}

std::string DecoderLM::finish_text(const TokenIds& generated, const GenerationOptions& o) const {
    std::string text = tok_->decode(generated, true);
    for (const auto& s : o.until) {
        if (s.empty()) continue;
        if (auto at = text.find(s); at != std::string::npos) text.resize(at);
    }
    return text;
}

std::vector<std::string> DecoderLM::generate(const std::vector<std::string>& prompts, const GenerationOptions& o) {
    std::vector<std::string> out(prompts.size());
    torch::NoGradGuard no_grad;
    std::vector<TokenIds> ids(prompts.size());
    for (std::size_t i = 0; i < prompts.size(); ++i) ids[i] = generation_prompt(prompts[i], o);
    const auto batch = static_cast<std::size_t>(options_.gen_batch_size > 0 ? options_.gen_batch_size : options_.batch_size);
    if (o.max_gen_toks <= 0) return out;
    if (o.temperature > 0.0 || batch <= 1) {
        // Sampling draws from a generator seeded per item (seed + index), so each prompt runs
        // alone; greedy decoding with a batch size of 1 takes the same path.
        for (std::size_t i = 0; i < prompts.size(); ++i)
            out[i] = model::guard_torch("generate", [&] { return generate_one(ids[i], o, o.seed + i); });
        return out;
    }
    // Greedy: longest prompts first (lm-eval's order), left-padded batches of the generation API.
    // Each row gets the tokens it would get alone (model/generate.hpp).
    std::vector<std::size_t> order(prompts.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return ids[a].size() > ids[b].size(); });
    model::GenerateOptions g;
    g.max_new_tokens = o.max_gen_toks;
    if (eos_) g.stop_token_ids = {*eos_};
    g.pad_token_id = prefix_token_;
    std::vector<std::string> until;
    for (const auto& s : o.until)
        if (!s.empty()) until.push_back(s);
    if (!until.empty()) {
        g.stop = model::stop_on_strings(
            [this](const model::TokenIds& t) { return tok_->decode(TokenIds(t.begin(), t.end()), true); }, until);
    }
    model::guard_torch("generate", [&] {
        for (std::size_t start = 0; start < order.size(); start += batch) {
            const std::size_t end = std::min(order.size(), start + batch);
            std::vector<model::TokenIds> chunk;
            for (std::size_t k = start; k < end; ++k) chunk.emplace_back(ids[order[k]].begin(), ids[order[k]].end());
            const auto result = model::generate(*model_, chunk, g);
            for (std::size_t k = start; k < end; ++k) {
                const auto& row = result.rows[k - start];
                TokenIds generated(row.tokens.begin(), row.tokens.end());
                if (row.finish_reason == "stop_token" && !generated.empty()) generated.pop_back();
                out[order[k]] = finish_text(generated, o);
            }
        }
    });
    return out;
}

}  // namespace qbench::eval::tasks
