// The methods of run-time quantization (`quantize:` in the YAML, `--quantize SPEC`) and their
// parameters — names, defaults, allowed values — declared once: the YAML checks a variant's spec
// with them (file:line, before any model loads) and the quant module builds its scheme from the
// resolved values.
#pragma once

#include <string>

#include "qbench/config/quantize_spec.hpp"

namespace qbench::config {

// A spec with every parameter resolved: defaults filled, values checked.
struct RuntimeQuantization {
    std::string method;         // rtn | fp8 | w8a8 (lowercase)
    int bits = 8;               // rtn: 2, 3, 4 or 8 (default 4); fp8 and w8a8: 8
    int group_size = -1;        // rtn: -1 (per channel) or > 0 (default 128)
    bool symmetric = true;      // rtn: `sym` (default true)
    std::string granularity;    // fp8: tensor (default) | channel
    std::string activations;    // fp8: none (default) | dynamic
    bool lm_head = false;       // quantize lm_head too (default false)

    bool operator==(const RuntimeQuantization&) const = default;
};

// Throws a kBadInput qbench::Error "quantize: METHOD: problem" for an unknown method, an
// unknown parameter (naming the known ones) or a value out of its range.
RuntimeQuantization resolve_quantize_spec(const QuantizeSpec& spec);

}  // namespace qbench::config
