#include "qbench/perf/bandwidth.hpp"

#include <algorithm>

#include "qbench/perf/timer.hpp"

namespace qbench::perf {

double measure_copy_bandwidth(const torch::Device& device, std::int64_t bytes, int repetitions) {
    if (bytes <= 0) bytes = device.is_cuda() ? (std::int64_t{1} << 30) : (std::int64_t{1} << 28);
    torch::InferenceMode inference;
    auto opts = torch::TensorOptions().dtype(torch::kUInt8).device(device);
    auto src = torch::ones({bytes}, opts);
    auto dst = torch::empty({bytes}, opts);
    dst.copy_(src);  // warm-up: first touch of the pages / lazy allocation
    LapTimer timer(device);
    timer.mark();
    for (int i = 0; i < repetitions; ++i) {
        dst.copy_(src);
        timer.mark();
    }
    const auto laps = timer.laps_ns();
    const double best_ns = *std::min_element(laps.begin(), laps.end());
    return 2.0 * static_cast<double>(bytes) / (best_ns * 1e-9);
}

double decode_step_bytes(const model::Decoder& decoder, std::int64_t batch, std::int64_t context) {
    const auto& c = decoder.config();
    const double elem = static_cast<double>(c10::elementSize(decoder.dtype()));
    double weights = static_cast<double>(decoder.weight_bytes());
    if (!c.tie_word_embeddings) {
        // The embedding lookup reads `batch` rows, not the table.
        weights -= elem * static_cast<double>(c.vocab_size - batch) * static_cast<double>(c.hidden_size);
    }
    const double kv_row = 2.0 * static_cast<double>(c.num_layers * c.num_kv_heads * c.head_dim) * elem;
    return weights + kv_row * static_cast<double>(batch) * static_cast<double>(context + 2);
}

double prefill_flop_per_token(const model::Decoder& decoder, std::int64_t sequence) {
    const auto& c = decoder.config();
    const double H = static_cast<double>(c.hidden_size), I = static_cast<double>(c.intermediate_size);
    const double q_out = static_cast<double>(c.num_heads * c.head_dim);
    const double kv_out = static_cast<double>(c.num_kv_heads * c.head_dim);
    const double params = static_cast<double>(c.num_layers) * (2.0 * H * q_out + 2.0 * H * kv_out + 3.0 * H * I);
    const double attention = 4.0 * static_cast<double>(c.num_layers * c.num_heads * c.head_dim) *
                             static_cast<double>(sequence + 1) / 2.0;
    return 2.0 * params + attention;
}

}  // namespace qbench::perf
