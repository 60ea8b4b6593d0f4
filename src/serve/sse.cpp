#include "qbench/serve/sse.hpp"

namespace qbench::serve {

void SseParser::feed(std::string_view bytes) {
    bytes_ += bytes.size();
    for (char c : bytes) {
        if (last_cr_) {
            last_cr_ = false;
            if (c == '\n') continue;  // the LF of a CRLF
        }
        if (c == '\r' || c == '\n') {
            last_cr_ = c == '\r';
            line(pending_);
            pending_.clear();
        } else {
            pending_.push_back(c);
        }
    }
}

void SseParser::finish() {
    if (!pending_.empty()) {
        line(pending_);
        pending_.clear();
    }
    dispatch();
}

void SseParser::line(std::string_view l) {
    if (l.empty()) {
        dispatch();
        return;
    }
    if (l.front() == ':') return;  // a comment (keep-alive)
    const auto colon = l.find(':');
    const std::string_view field = l.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? std::string_view{} : l.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (field == "data") {
        if (has_data_) data_.push_back('\n');
        data_.append(value);
        has_data_ = true;
    } else if (field == "event" || field == "id" || field == "retry") {
        // not used by completion streams
    } else {
        if (malformed_++ == 0) first_malformed_ = std::string(l.substr(0, 80));
    }
}

void SseParser::dispatch() {
    if (!has_data_) return;
    std::string data = std::move(data_);
    data_.clear();
    has_data_ = false;
    on_event_(data);
}

}  // namespace qbench::serve
