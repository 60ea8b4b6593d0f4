// Markdown helpers shared by the report writers.
#pragma once

#include <string>
#include <string_view>

namespace qbench::report {

// A table cell: '|' would end the cell and a newline the row, so they are escaped / flattened.
inline std::string markdown_cell(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '|') out += "\\|";
        else if (c == '\n') out += ' ';
        else out += c;
    }
    return out;
}

}  // namespace qbench::report
