#include "qbench/eval/nonfinite.hpp"

#include <torch/torch.h>

#include <fmt/format.h>

#include "qbench/model/decoder.hpp"
#include "qbench/model/runtime.hpp"

namespace qbench::eval {

std::int64_t first_nonfinite_row(const at::Tensor& logits) {
    // A row sum is finite exactly when every value in the row is (barring a float32 overflow of
    // the sum itself, which needs logits near 1e34: no sane model gives them).
    const auto bad = torch::isfinite(logits.sum(-1)).logical_not_();
    if (!bad.any().item<bool>()) return -1;
    return bad.nonzero().index({0, 0}).item<std::int64_t>();
}

std::string explain_nonfinite(const model::Decoder& model, const at::Tensor& ids) {
    const auto site = model.locate_nonfinite(ids.reshape({1, -1}));
    const auto dtype = model::dtype_name(model.dtype());
    if (!site.found) {
        return fmt::format("non-finite logits in {} that a forward of the window alone does not reproduce (an effect "
                           "of batching or padding?); run with --batch-size 1",
                           dtype);
    }
    const std::string where = site.layer < 0 ? "the embedding"
                              : site.layer >= model.config().num_layers
                                  ? "the " + site.stage
                                  : fmt::format("layer {} ({} block)", site.layer, site.stage);
    if (model.dtype() == torch::kFloat16) {
        const char* what = site.stage == "lm_head" ? "the logits" : site.layer < 0 ? "the embeddings" : "the hidden state";
        return fmt::format("float16 overflow in {} ({} passed 65504, float16's largest value; the block before "
                           "reached {:.3g}); run with --dtype bfloat16 (config: dtype: bfloat16) or float32",
                           where, what, site.max_abs_before);
    }
    return fmt::format("the first inf/NaN appears in {} in {}: the checkpoint's weights or the input may hold "
                       "inf/NaN{}",
                       where, dtype,
                       model.dtype() == torch::kBFloat16 ? " (or the values passed 3.4e38); try --dtype float32" : "");
}

}  // namespace qbench::eval
