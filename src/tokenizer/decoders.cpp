#include "qbench/tokenizer/decoders.hpp"

#include <nlohmann/json.hpp>

#include "qbench/tokenizer/json_spec.hpp"
#include "qbench/tokenizer/regex.hpp"
#include "qbench/tokenizer/unicode.hpp"

namespace qbench::tokenizer {

namespace {

constexpr std::string_view kWhat = "decoder";

class SequenceDecoder final : public Decoder {
public:
    explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps)
        : steps_(std::move(steps)) {}
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (const auto& step : steps_) step->decode_chain(tokens);
    }
    void token_bytes(std::string& token) const override {
        for (const auto& step : steps_) step->token_bytes(token);
    }

private:
    std::vector<std::unique_ptr<Decoder>> steps_;
};

// Byte-level characters back to bytes; a token with any other character keeps its own bytes.
bool append_byte_level(std::string_view token, std::string& out) {
    const std::size_t mark = out.size();
    for (std::size_t pos = 0; pos < token.size();) {
        std::size_t len = 0;
        const int b = byte_level_byte(next_code_point(token, pos, len));
        if (b < 0) {
            out.resize(mark);
            out.append(token);
            return false;
        }
        out += static_cast<char>(b);
        pos += len;
    }
    return true;
}

class ByteLevelDecoder final : public Decoder {
public:
    void decode_chain(std::vector<std::string>& tokens) const override {
        std::string bytes;
        for (const auto& t : tokens) append_byte_level(t, bytes);
        tokens.assign(1, utf8_lossy(bytes));
    }
    void token_bytes(std::string& token) const override {
        std::string bytes;
        append_byte_level(token, bytes);
        token = std::move(bytes);
    }
};

class MetaspaceDecoder final : public Decoder {
public:
    MetaspaceDecoder(char32_t replacement, bool strip_first) : strip_first_(strip_first) {
        append_utf8(replacement_, replacement);
    }
    // Every replacement character becomes a space, except in the first token when a prefix
    // space was prepended at encode time: there it is dropped.
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            replace(tokens[i], i == 0 && strip_first_ ? "" : " ");
        }
    }
    void token_bytes(std::string& token) const override { replace(token, " "); }

private:
    void replace(std::string& token, std::string_view with) const {
        std::string out;
        std::size_t prev = 0;
        for (std::size_t pos = token.find(replacement_); pos != std::string::npos;
             pos = token.find(replacement_, prev)) {
            out.append(token, prev, pos - prev);
            out.append(with);
            prev = pos + replacement_.size();
        }
        out.append(token, prev);
        token = std::move(out);
    }

    std::string replacement_;
    bool strip_first_;
};

// <0xNN> tokens become bytes; a run of them that is not valid UTF-8 becomes one U+FFFD per byte.
class ByteFallbackDecoder final : public Decoder {
public:
    void decode_chain(std::vector<std::string>& tokens) const override {
        std::vector<std::string> out;
        out.reserve(tokens.size());
        std::string pending;
        std::size_t pending_count = 0;
        const auto flush = [&] {
            if (pending_count == 0) return;
            if (is_valid_utf8(pending)) {
                out.push_back(pending);
            } else {
                for (std::size_t i = 0; i < pending_count; ++i) out.emplace_back("\xEF\xBF\xBD");
            }
            pending.clear();
            pending_count = 0;
        };
        for (auto& t : tokens) {
            int b = 0;
            if (parse(t, b)) {
                pending += static_cast<char>(b);
                ++pending_count;
            } else {
                flush();
                out.push_back(std::move(t));
            }
        }
        flush();
        tokens = std::move(out);
    }
    void token_bytes(std::string& token) const override {
        int b = 0;
        if (parse(token, b)) token.assign(1, static_cast<char>(b));
    }

private:
    static bool parse(std::string_view t, int& b) {
        if (t.size() != 6 || t.substr(0, 3) != "<0x" || t.back() != '>') return false;
        b = 0;
        for (const char c : t.substr(3, 2)) {
            int v = 0;
            if (c >= '0' && c <= '9') {
                v = c - '0';
            } else if (c >= 'A' && c <= 'F') {
                v = c - 'A' + 10;
            } else if (c >= 'a' && c <= 'f') {
                v = c - 'a' + 10;
            } else {
                return false;
            }
            b = b * 16 + v;
        }
        return true;
    }
};

class FuseDecoder final : public Decoder {
public:
    void decode_chain(std::vector<std::string>& tokens) const override {
        std::string joined;
        for (const auto& t : tokens) joined += t;
        tokens.assign(1, std::move(joined));
    }
    void token_bytes(std::string&) const override {}
};

// Removes up to `start` leading and `stop` trailing `content` characters from each token.
class StripDecoder final : public Decoder {
public:
    StripDecoder(char32_t content, std::size_t start, std::size_t stop)
        : start_(start), stop_(stop) {
        append_utf8(content_, content);
    }
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (auto& t : tokens) {
            std::size_t begin = 0;
            for (std::size_t i = 0; i < start_ && t.compare(begin, content_.size(), content_) == 0;
                 ++i) {
                begin += content_.size();
            }
            std::size_t end = t.size();
            for (std::size_t i = 0;
                 i < stop_ && end >= begin + content_.size() &&
                 t.compare(end - content_.size(), content_.size(), content_) == 0;
                 ++i) {
                end -= content_.size();
            }
            t = t.substr(begin, end - begin);
        }
    }
    void token_bytes(std::string&) const override {}

private:
    std::string content_;
    std::size_t start_;
    std::size_t stop_;
};

class ReplaceDecoder final : public Decoder {
public:
    ReplaceDecoder(Pattern pattern, std::string content)
        : pattern_(std::move(pattern)), content_(std::move(content)) {}
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (auto& t : tokens) token_bytes(t);
    }
    void token_bytes(std::string& token) const override {
        token = pattern_.replace_all(token, content_);
    }

private:
    Pattern pattern_;
    std::string content_;
};

}  // namespace

std::unique_ptr<Decoder> make_decoder(const nlohmann::json& spec) {
    if (spec.is_null()) return nullptr;
    const std::string type = component_type(spec, kWhat);
    if (type == "Sequence") {
        std::vector<std::unique_ptr<Decoder>> steps;
        for (const auto& step : json_member(spec, "Sequence decoder", "decoders")) {
            if (auto d = make_decoder(step)) steps.push_back(std::move(d));
        }
        return std::make_unique<SequenceDecoder>(std::move(steps));
    }
    if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
    if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
    if (type == "Fuse") return std::make_unique<FuseDecoder>();
    if (type == "Metaspace") {
        constexpr std::string_view what = "Metaspace decoder";
        bool strip_first = json_field_or<bool>(spec, what, "add_prefix_space", true);
        if (spec.contains("prepend_scheme") && !spec["prepend_scheme"].is_null()) {
            strip_first = json_field<std::string>(spec, what, "prepend_scheme") != "never";
        }
        return std::make_unique<MetaspaceDecoder>(json_char(spec, what, "replacement"),
                                                  strip_first);
    }
    if (type == "Strip") {
        constexpr std::string_view what = "Strip decoder";
        return std::make_unique<StripDecoder>(
            json_char(spec, what, "content"),
            static_cast<std::size_t>(json_field<std::int64_t>(spec, what, "start")),
            static_cast<std::size_t>(json_field<std::int64_t>(spec, what, "stop")));
    }
    if (type == "Replace") {
        constexpr std::string_view what = "Replace decoder";
        std::string pattern;
        const bool is_regex = json_pattern(spec, what, pattern);
        return std::make_unique<ReplaceDecoder>(Pattern(pattern, is_regex),
                                                json_field<std::string>(spec, what, "content"));
    }
    throw_unsupported(kWhat, type);
}

}  // namespace qbench::tokenizer
