// Non-finite model outputs are errors where they first appear (docs/ARCHITECTURE.md, "Non-finite
// values"): the scorers check each window's (or request's) logits, and on failure re-run that
// input layer by layer to say where the first inf/NaN came from and what to do about it.
#pragma once

#include <cstdint>
#include <string>

namespace at {
class Tensor;
}

namespace qbench::model {
class Decoder;
}

namespace qbench::eval {

// The first row of `logits` [T, V] holding an inf or NaN, or -1 when every value is finite (one
// reduction over the rows; no [T, V] temporary).
std::int64_t first_nonfinite_row(const at::Tensor& logits);

// Why `model` gives non-finite logits for `ids` [T] (int64): re-runs them with a finiteness check
// after each block and names the first block that fails, the likely cause and the remedy, e.g.
// "float16 overflow in layer 7 (mlp: the hidden state passed 65504, float16's largest value, after
// reaching 3.1e+04); run with --dtype bfloat16 (config: dtype: bfloat16)".
std::string explain_nonfinite(const model::Decoder& model, const at::Tensor& ids);

}  // namespace qbench::eval
