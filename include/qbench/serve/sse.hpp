// Incremental parser of a server-sent-events stream (the WHATWG event-stream format that
// OpenAI-compatible servers stream completions in): bytes in, one event per blank line out.
// Only `data:` fields matter here; `event:`, `id:`, `retry:` and comment lines are accepted and
// ignored. Lines may end in LF, CRLF or CR, and a chunk boundary may fall anywhere.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace qbench::serve {

class SseParser {
public:
    // Called with the data of each complete event (multi-line data joined with '\n').
    using OnEvent = std::function<void(std::string_view data)>;

    explicit SseParser(OnEvent on_event) : on_event_(std::move(on_event)) {}

    // Feeds the next bytes of the stream.
    void feed(std::string_view bytes);
    // The stream ended: dispatches a last event not followed by a blank line (what many servers
    // send before closing) and reports whether any bytes were left that are not an event.
    void finish();

    // Lines that were neither empty, a comment, nor `field[:value]` of a known field.
    std::size_t malformed_lines() const { return malformed_; }
    std::string first_malformed() const { return first_malformed_; }
    std::size_t bytes_seen() const { return bytes_; }

private:
    void line(std::string_view l);
    void dispatch();

    OnEvent on_event_;
    std::string pending_;   // bytes of an unfinished line
    std::string data_;      // data of the event being read
    bool has_data_ = false;
    bool last_cr_ = false;  // the previous chunk ended in CR (a CRLF may straddle chunks)
    std::size_t malformed_ = 0;
    std::string first_malformed_;
    std::size_t bytes_ = 0;
};

}  // namespace qbench::serve
