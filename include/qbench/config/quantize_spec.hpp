// The run-time quantization of a variant: `quantize:` in the YAML, `--quantize SPEC` on the
// command line. Only the syntax is checked here; runtime_quantization.hpp checks the rest.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace qbench::config {

struct QuantizeSpec {
    std::string method;                         // "rtn", "fp8", ...
    std::map<std::string, std::string> params;  // "bits" -> "4", as written

    // Canonical short form: "method" or "method:key=value,..." with keys sorted.
    std::string to_string() const;

    bool operator==(const QuantizeSpec&) const = default;
};

// Parses the short form `method[:key=value[,key=value...]]`, e.g. "rtn:bits=4,group_size=128".
// Whitespace around names and values is ignored. Throws a kBadInput qbench::Error
// "invalid quantize spec 'SPEC': problem" for an empty method, a pair without '=', an empty key
// or value, or a repeated key.
QuantizeSpec parse_quantize_spec(std::string_view spec);

}  // namespace qbench::config
