#include "qbench/io/jsonl.hpp"

#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"
#include "qbench/util/strings.hpp"

namespace qbench::io {

std::vector<JsonlRecord> read_jsonl(const std::filesystem::path& path) {
    const std::string text = read_file(path);
    std::vector<JsonlRecord> out;
    std::size_t line_no = 0, start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        ++line_no;
        std::string_view line(text.data() + start, end - start);
        if (!trim(line).empty()) {
            try {
                out.push_back({line_no, nlohmann::json::parse(line)});
            } catch (const nlohmann::json::exception& e) {
                std::string what = e.what();
                if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
                throw_bad_input("{}:{}: malformed JSON ({})", path.string(), line_no, what);
            }
        }
        if (end == text.size()) break;
        start = end + 1;
    }
    return out;
}

}  // namespace qbench::io
