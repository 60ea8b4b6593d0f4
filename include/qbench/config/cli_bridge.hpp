// Command-line flags from the option declarations: each declared option with a flag
// (`.cli("--limit")`) becomes a CLI11 option whose raw value is collected into CliOverrides and
// then decoded and validated by the declaration itself when the config is loaded. Header-only so
// that qbench_core does not link CLI11.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "qbench/config/option.hpp"

namespace qbench::config {

// Adds one flag per distinct cli_flag among `options` to `app`. `overrides` must outlive the
// parse; it receives flag -> raw value for the flags that were given.
inline void add_cli_flags(CLI::App& app, const std::vector<OptionInfo>& options,
                          CliOverrides& overrides) {
    for (const OptionInfo& o : options) {
        if (o.cli_flag.empty() || app.get_option_no_throw(o.cli_flag) != nullptr) continue;
        const std::string flag = o.cli_flag;
        if (o.type == "boolean") {
            app.add_flag_callback(flag, [&overrides, flag] { overrides[flag] = "true"; },
                                  o.help + " (overrides " + o.key + " in the config)");
            continue;
        }
        app.add_option_function<std::string>(
               flag, [&overrides, flag](const std::string& v) { overrides[flag] = v; },
               o.help + " (overrides " + o.key + " in the config)")
            ->type_name(o.type == "integer" ? "INT" : o.type == "path" ? "PATH" : "TEXT");
    }
}

}  // namespace qbench::config
