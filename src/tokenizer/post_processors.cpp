#include "qbench/tokenizer/post_processors.hpp"

#include <nlohmann/json.hpp>

#include "qbench/tokenizer/json_spec.hpp"
#include "qbench/util/error.hpp"

namespace qbench::tokenizer {

namespace {

constexpr std::string_view kWhat = "post_processor";

SpecialTemplate template_processing(const nlohmann::json& spec) {
    constexpr std::string_view what = "TemplateProcessing post_processor";
    const auto& special = json_member_or_null(spec, "special_tokens");
    SpecialTemplate result;
    bool seen_sequence = false;
    for (const auto& item : json_member(spec, what, "single")) {
        if (item.contains("Sequence")) {
            seen_sequence = true;
            continue;
        }
        if (!item.contains("SpecialToken")) {
            throw_bad_input("tokenizer.json: {}: template items are Sequence or SpecialToken",
                            what);
        }
        const auto name = json_field<std::string>(item["SpecialToken"], what, "id");
        if (!special.is_object() || !special.contains(name)) {
            throw_bad_input("tokenizer.json: {}: special token '{}' is not in special_tokens", what,
                            name);
        }
        auto& target = seen_sequence ? result.suffix : result.prefix;
        for (const auto& id : json_member(special[name], what, "ids")) {
            target.push_back(id.get<std::int32_t>());
        }
    }
    return result;
}

// BertProcessing / RobertaProcessing: cls $A sep, with "cls" and "sep" as [token, id].
SpecialTemplate cls_sep(const nlohmann::json& spec, std::string_view what) {
    const auto cls = json_member(spec, what, "cls");
    const auto sep = json_member(spec, what, "sep");
    if (!cls.is_array() || cls.size() != 2 || !sep.is_array() || sep.size() != 2) {
        throw_bad_input("tokenizer.json: {}: cls and sep must be [token, id]", what);
    }
    return {{cls[1].get<std::int32_t>()}, {sep[1].get<std::int32_t>()}};
}

}  // namespace

SpecialTemplate make_post_processor(const nlohmann::json& spec) {
    if (spec.is_null()) return {};
    const std::string type = component_type(spec, kWhat);
    if (type == "ByteLevel") return {};
    if (type == "TemplateProcessing") return template_processing(spec);
    if (type == "BertProcessing") return cls_sep(spec, "BertProcessing post_processor");
    if (type == "RobertaProcessing") return cls_sep(spec, "RobertaProcessing post_processor");
    if (type == "Sequence") {
        SpecialTemplate result;
        for (const auto& step : json_member(spec, "Sequence post_processor", "processors")) {
            const SpecialTemplate t = make_post_processor(step);
            result.prefix.insert(result.prefix.begin(), t.prefix.begin(), t.prefix.end());
            result.suffix.insert(result.suffix.end(), t.suffix.begin(), t.suffix.end());
        }
        return result;
    }
    throw_unsupported(kWhat, type);
}

}  // namespace qbench::tokenizer
