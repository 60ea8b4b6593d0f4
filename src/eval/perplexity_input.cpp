#include "qbench/eval/perplexity_input.hpp"

#include <limits>

#include "qbench/io/jsonl.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"

namespace qbench::eval {
namespace {

TokenIds ids_from_json(const nlohmann::json& v, const std::string& where) {
    if (!v.is_array()) throw_bad_input("{}: \"input_ids\" must be an array of integers", where);
    TokenIds out;
    out.reserve(v.size());
    for (const auto& x : v) {
        if (!x.is_number_integer() || x.get<std::int64_t>() < 0 ||
            x.get<std::int64_t>() > std::numeric_limits<std::int32_t>::max()) {
            throw_bad_input("{}: \"input_ids\" holds {}, not a token id", where, x.dump());
        }
        out.push_back(static_cast<std::int32_t>(x.get<std::int64_t>()));
    }
    return out;
}

}  // namespace

PerplexityInput load_perplexity_input(const std::filesystem::path& path, const Encoder& encode) {
    PerplexityInput in;
    const std::string p = path.string();
    const auto ext = path.extension().string();
    if (ext == ".jsonl") {
        bool any_text = false, any_ids = false;
        for (const auto& rec : io::read_jsonl(path)) {
            const std::string where = p + ":" + std::to_string(rec.line);
            if (!rec.value.is_object()) throw_bad_input("{}: expected a JSON object", where);
            if (auto ids = rec.value.find("input_ids"); ids != rec.value.end()) {
                any_ids = true;
                in.documents.push_back(ids_from_json(*ids, where));
            } else if (auto text = rec.value.find("text"); text != rec.value.end()) {
                if (!text->is_string()) throw_bad_input("{}: \"text\" must be a string", where);
                any_text = true;
                in.texts.push_back(text->get<std::string>());
            } else {
                throw_bad_input("{}: expected a \"text\" or \"input_ids\" field", where);
            }
            if (any_text && any_ids) throw_bad_input("{}: mixes \"text\" and \"input_ids\" lines", where);
        }
    } else if (ext == ".txt") {
        in.texts.push_back(read_file(path));
    } else {
        throw_bad_input("{}: unsupported input format '{}' (expected .txt or .jsonl)", p, ext);
    }
    if (in.texts.empty() && in.documents.empty()) throw_bad_input("{}: no documents", p);

    if (!in.texts.empty()) {
        if (!encode) {
            throw_bad_input("{}: text input needs the model's tokenizer, and none was found (give "
                            "pre-tokenized \"input_ids\" in a .jsonl file instead)", p);
        }
        std::string joined_text;
        for (std::size_t i = 0; i < in.texts.size(); ++i) {
            in.documents.push_back(encode(in.texts[i], true));
            in.plain.push_back(encode(in.texts[i], false));
            if (i) joined_text += "\n\n";
            joined_text += in.texts[i];
        }
        in.joined = in.texts.size() == 1 ? in.documents[0] : encode(joined_text, true);
    } else {
        in.plain = in.documents;
        for (const auto& d : in.documents) in.joined.insert(in.joined.end(), d.begin(), d.end());
    }
    return in;
}

}  // namespace qbench::eval
