// What a declared option looks like from outside the parser: the record that drives CLI flags,
// help text and documentation. The declarations themselves live in config/schema.hpp.
#pragma once

#include <map>
#include <string>

namespace qbench::config {

// Raw values of command-line flags that override config options, keyed by flag ("--limit").
// They are decoded and validated by the same declarations as the YAML values.
using CliOverrides = std::map<std::string, std::string>;

struct OptionInfo {
    std::string key;           // dotted path: "perplexity.limit", "variants[].dtype"
    std::string type;          // "integer", "string", "path", "list of strings", ...
    std::string help;
    std::string default_text;  // "" when the option is required
    std::string cli_flag;      // "--limit", or "" when the option has no flag
    bool required = false;
};

template <typename S>
class Schema;

}  // namespace qbench::config
