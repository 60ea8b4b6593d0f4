// Roofline bookkeeping: the device's measured copy bandwidth, the bytes a decode step moves and
// the FLOPs a prefill token costs (gpt-fast's "memory bandwidth" column, with the KV cache).
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "qbench/model/decoder.hpp"

namespace qbench::perf {

// Bytes read + written per second by a large device-to-device copy (`bytes` per buffer; 1 GiB
// on a GPU, 256 MiB on a CPU by default), the best of `repetitions` after one warm-up copy.
double measure_copy_bandwidth(const torch::Device& device, std::int64_t bytes = 0, int repetitions = 5);

// Bytes a decode step of `batch` rows moves at `context` cached tokens: every weight once (the
// embedding table only when it is also the LM head, else just `batch` rows of it), plus the K
// and V cache read over `context + 1` slots and written at one slot.
double decode_step_bytes(const model::Decoder& decoder, std::int64_t batch, std::int64_t context);

// FLOPs per token of a `sequence`-token prefill: 2 x the parameters of every Linear but the LM
// head (run for the last token only), plus QK^T and PV over the causal average of
// (sequence + 1) / 2 keys: 4 x layers x heads x head_dim x (sequence + 1) / 2.
double prefill_flop_per_token(const model::Decoder& decoder, std::int64_t sequence);

}  // namespace qbench::perf
