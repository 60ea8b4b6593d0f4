#include "qbench/tokenizer/normalizers.hpp"

#include <utf8proc.h>

#include <vector>

#include "qbench/tokenizer/json_spec.hpp"
#include "qbench/tokenizer/regex.hpp"
#include "qbench/tokenizer/unicode.hpp"

namespace qbench::tokenizer {

namespace {

constexpr std::string_view kWhat = "normalizer";

class SequenceNormalizer final : public Normalizer {
public:
    explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps)
        : steps_(std::move(steps)) {}
    void normalize(std::string& text) const override {
        for (const auto& step : steps_) step->normalize(text);
    }

private:
    std::vector<std::unique_ptr<Normalizer>> steps_;
};

class UnicodeNormalizer final : public Normalizer {
public:
    explicit UnicodeNormalizer(NormalForm form) : form_(form) {}
    void normalize(std::string& text) const override { text = normalize_unicode(text, form_); }

private:
    NormalForm form_;
};

class LowercaseNormalizer final : public Normalizer {
public:
    void normalize(std::string& text) const override { text = lowercase(text); }
};

// Prepends `prepend` to non-empty text.
class PrependNormalizer final : public Normalizer {
public:
    explicit PrependNormalizer(std::string prepend) : prepend_(std::move(prepend)) {}
    void normalize(std::string& text) const override {
        if (!text.empty()) text.insert(0, prepend_);
    }

private:
    std::string prepend_;
};

class ReplaceNormalizer final : public Normalizer {
public:
    ReplaceNormalizer(Pattern pattern, std::string content)
        : pattern_(std::move(pattern)), content_(std::move(content)) {}
    void normalize(std::string& text) const override {
        text = pattern_.replace_all(text, content_);
    }

private:
    Pattern pattern_;
    std::string content_;
};

// Removes leading and/or trailing White_Space characters.
class StripNormalizer final : public Normalizer {
public:
    StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
    void normalize(std::string& text) const override {
        std::size_t begin = 0;
        std::size_t end = text.size();
        std::size_t pos = 0;
        bool leading = true;
        while (pos < text.size()) {
            std::size_t len = 0;
            const bool space = is_whitespace(next_code_point(text, pos, len));
            if (!space) {
                leading = false;
                end = pos + len;
            } else if (leading) {
                begin = pos + len;
            }
            pos += len;
        }
        if (leading) {  // all whitespace
            if (left_ || right_) text.clear();
            return;
        }
        if (!left_) begin = 0;
        if (!right_) end = text.size();
        text = begin < end ? text.substr(begin, end - begin) : std::string();
    }

private:
    bool left_;
    bool right_;
};

// Removes non-spacing combining marks (category Mn), as HF's StripAccents.
class StripAccentsNormalizer final : public Normalizer {
public:
    void normalize(std::string& text) const override {
        std::string out;
        out.reserve(text.size());
        for (std::size_t pos = 0; pos < text.size();) {
            std::size_t len = 0;
            const char32_t cp = next_code_point(text, pos, len);
            if (utf8proc_category(static_cast<utf8proc_int32_t>(cp)) != UTF8PROC_CATEGORY_MN) {
                out.append(text, pos, len);
            }
            pos += len;
        }
        text = std::move(out);
    }
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& spec) {
    if (spec.is_null()) return nullptr;
    const std::string type = component_type(spec, kWhat);
    if (type == "Sequence") {
        std::vector<std::unique_ptr<Normalizer>> steps;
        for (const auto& step : json_member(spec, "Sequence normalizer", "normalizers")) {
            if (auto n = make_normalizer(step)) steps.push_back(std::move(n));
        }
        return std::make_unique<SequenceNormalizer>(std::move(steps));
    }
    if (type == "NFC") return std::make_unique<UnicodeNormalizer>(NormalForm::kNfc);
    if (type == "NFD") return std::make_unique<UnicodeNormalizer>(NormalForm::kNfd);
    if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(NormalForm::kNfkc);
    if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(NormalForm::kNfkd);
    if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
    if (type == "StripAccents") return std::make_unique<StripAccentsNormalizer>();
    if (type == "Prepend") {
        return std::make_unique<PrependNormalizer>(
            json_field<std::string>(spec, "Prepend normalizer", "prepend"));
    }
    if (type == "Replace") {
        std::string pattern;
        const bool is_regex = json_pattern(spec, "Replace normalizer", pattern);
        return std::make_unique<ReplaceNormalizer>(
            Pattern(pattern, is_regex),
            json_field<std::string>(spec, "Replace normalizer", "content"));
    }
    if (type == "Strip") {
        return std::make_unique<StripNormalizer>(
            json_field_or<bool>(spec, kWhat, "strip_left", true),
            json_field_or<bool>(spec, kWhat, "strip_right", true));
    }
    throw_unsupported(kWhat, type);
}

}  // namespace qbench::tokenizer
