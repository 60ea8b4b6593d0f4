#include "fuzz/targets.hpp"

#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "qbench/config/run_config.hpp"
#include "qbench/eval/tasks/task.hpp"
#include "qbench/io/gguf.hpp"
#include "qbench/io/gguf_dequant.hpp"
#include "qbench/io/jsonl.hpp"
#include "qbench/io/safetensors.hpp"
#include "qbench/model/config.hpp"
#include "qbench/serve/client.hpp"
#include "qbench/serve/load.hpp"
#include "qbench/serve/sse.hpp"
#include "qbench/tokenizer/gguf_tokenizer.hpp"
#include "qbench/tokenizer/tokenizer.hpp"
#include "qbench/util/error.hpp"

namespace qbench::fuzz {
namespace {

namespace fs = std::filesystem;
using Bytes = std::span<const std::uint8_t>;

// A private folder for this process (tmpfs when there is one), removed at exit.
class Scratch {
public:
    Scratch() {
        std::error_code ec;
        const fs::path base = fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
        dir_ = base / ("qbench-fuzz-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    ~Scratch() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    // A fresh sub-folder `name` (emptied), for targets that read several files.
    fs::path folder(const std::string& name) const {
        const fs::path d = dir_ / name;
        std::error_code ec;
        fs::remove_all(d, ec);
        fs::create_directories(d);
        return d;
    }
    const fs::path& dir() const { return dir_; }

private:
    fs::path dir_;
};

const Scratch& scratch() {
    static const Scratch s;
    return s;
}

fs::path write(const fs::path& path, Bytes data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    return path;
}

fs::path write(const fs::path& path, std::string_view text) {
    return write(path, Bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

// Runs `f`, letting only qbench::Error (a clean rejection) through.
template <typename F>
void accept_or_reject(F&& f) {
    try {
        f();
    } catch (const Error&) {
    }
}

// Reads every byte of `data`, so a span pointing outside its mapping faults here.
std::uint64_t touch(Bytes data) {
    std::uint64_t sum = 0;
    for (const auto b : data) sum += b;
    return sum;
}

// Texts every tokenizer target encodes: whitespace runs, digits, Unicode, special-token lookalikes.
constexpr std::array<std::string_view, 6> kTexts = {
    "Hello world! 123 4567\n\n  0. it's   done\t\r\n",
    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xc3\xbc" "n\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9 "
    "\xf0\x9f\xa7\x91\xe2\x80\x8d\xf0\x9f\x92\xbb",
    "<s></s><unk><|endoftext|><bos><eos> [CLS] <|im_start|>user",
    "def f(x):\n    return x ** 2  # comment\n",
    "",
    "\xff\xfe invalid \xc3 utf8 \xed\xa0\x80",
};

void exercise(const tokenizer::Tokenizer& tok, std::string_view extra) {
    auto one = [&](std::string_view text) {
        for (const bool special : {false, true}) {
            const auto ids = tok.encode(text, special);
            accept_or_reject([&] { (void)tok.decode(ids, special); });
            for (const auto id : ids) accept_or_reject([&] { (void)tok.token_bytes(id); });
        }
    };
    for (const auto text : kTexts) one(text);
    if (!extra.empty()) one(extra);
    // Ids outside the vocabulary are rejected, never read out of bounds.
    accept_or_reject([&] { (void)tok.decode({-1, static_cast<std::int32_t>(tok.vocab_size())}, false); });
    accept_or_reject([&] { (void)tok.token_bytes(static_cast<std::int32_t>(tok.vocab_size())); });
}

void safetensors_file(Bytes data) {
    const fs::path file = write(scratch().dir() / "model.safetensors", data);
    accept_or_reject([&] {
        const auto ckpt = io::SafetensorsCheckpoint::open(file);
        for (const auto& name : ckpt.names()) {
            (void)ckpt.info(name).numel();
            touch(ckpt.data(name));
        }
    });
}

// The fuzzed bytes are model.safetensors.index.json beside a valid two-tensor shard.
void safetensors_index(Bytes data) {
    const fs::path dir = scratch().folder("index");
    static const std::string shard = io::serialize_safetensors(
        {{"a.weight", io::DType::kF32, {2, 2}, std::string(16, '\0')},
         {"b.bias", io::DType::kF16, {3}, std::string(6, '\1')}});
    write(dir / "model-00001-of-00001.safetensors", shard);
    write(dir / "model.safetensors.index.json", data);
    accept_or_reject([&] {
        const auto ckpt = io::SafetensorsCheckpoint::open(dir);
        for (const auto& name : ckpt.names()) touch(ckpt.data(name));
    });
}

void gguf_file(Bytes data) {
    const fs::path file = write(scratch().dir() / "model.gguf", data);
    accept_or_reject([&] {
        const io::GgufFile f(file);
        for (const auto& entry : f.metadata()) {
            const std::string& key = entry.first;
            accept_or_reject([&] { (void)f.get_string(key); });
            accept_or_reject([&] { (void)f.get_uint(key); });
            accept_or_reject([&] { (void)f.get_int(key); });
            accept_or_reject([&] { (void)f.get_float(key); });
            accept_or_reject([&] { (void)f.get_string_array(key); });
            accept_or_reject([&] { (void)f.get_float_array(key); });
            accept_or_reject([&] { (void)f.get_int_array(key); });
        }
        (void)f.total_tensor_bytes();
        for (const auto& t : f.tensors()) {
            const auto bytes = f.data(t);
            touch(bytes);
            const auto n = t.numel();
            if (!io::can_dequantize(t.ggml_type()) || n <= 0 || n > (1 << 16)) continue;
            std::vector<float> out(static_cast<std::size_t>(n));
            accept_or_reject([&] { io::dequantize(t.ggml_type(), bytes, out); });
        }
    });
}

// First byte: the ggml type (mod the number of types); the rest: blocks of that type.
void gguf_dequant(Bytes data) {
    static constexpr std::array kTypes = {
        io::GgmlType::kF32,  io::GgmlType::kF16,  io::GgmlType::kBF16, io::GgmlType::kQ4_0,
        io::GgmlType::kQ4_1, io::GgmlType::kQ5_0, io::GgmlType::kQ5_1, io::GgmlType::kQ8_0,
        io::GgmlType::kQ2_K, io::GgmlType::kQ3_K, io::GgmlType::kQ4_K, io::GgmlType::kQ5_K,
        io::GgmlType::kQ6_K, io::GgmlType::kIQ4_NL, io::GgmlType::kMXFP4};
    if (data.empty()) return;
    const auto type = kTypes[data[0] % kTypes.size()];
    const Bytes blocks = data.subspan(1);
    const auto* traits = io::ggml_type_traits(static_cast<std::uint32_t>(type));
    const auto whole = blocks.size() / static_cast<std::size_t>(traits->type_size);
    std::vector<float> out(whole * static_cast<std::size_t>(traits->block_size));
    accept_or_reject([&] {
        io::dequantize(type, blocks.first(whole * static_cast<std::size_t>(traits->type_size)), out);
    });
    // A size that does not match is rejected.
    if (!out.empty()) {
        accept_or_reject([&] { io::dequantize(type, blocks, std::span<float>(out).first(out.size() - 1)); });
    }
}

void gguf_tokenizer(Bytes data) {
    const fs::path file = write(scratch().dir() / "vocab.gguf", data);
    accept_or_reject([&] {
        const auto tok = tokenizer::make_gguf_tokenizer(io::GgufFile(file));
        exercise(*tok, {});
    });
}

// tokenizer.json, then optionally a NUL byte and a text to encode.
void tokenizer_json(Bytes data) {
    const std::string_view all(reinterpret_cast<const char*>(data.data()), data.size());
    const auto nul = all.find('\0');
    const std::string_view spec = all.substr(0, nul);
    const std::string_view text = nul == std::string_view::npos ? std::string_view() : all.substr(nul + 1);
    const fs::path dir = scratch().folder("tokenizer_json");
    write(dir / "tokenizer.json", spec);
    accept_or_reject([&] { exercise(*tokenizer::load_tokenizer(dir / "tokenizer.json"), text); });
}

void sentencepiece(Bytes data) {
    const fs::path dir = scratch().folder("sentencepiece");
    write(dir / "tokenizer.model", data);
    accept_or_reject([&] { exercise(*tokenizer::load_tokenizer(dir / "tokenizer.model"), {}); });
}

void run_config(Bytes data) {
    const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
    accept_or_reject([&] {
        const auto c = config::parse_run_config(text, scratch().dir() / "config.yaml");
        (void)c.effective.dump();
    });
}

void task_yaml(Bytes data) {
    const fs::path dir = scratch().folder("task");
    write(dir / "data.jsonl", std::string_view("{\"q\": \"1+1?\", \"a\": \"2\", \"choices\": [\"1\", \"2\"], \"gold\": 1}\n"));
    const fs::path yaml = write(dir / "task.yaml", data);
    accept_or_reject([&] { (void)eval::tasks::parse_task_definition(yaml); });
}

void jsonl(Bytes data) {
    const fs::path file = write(scratch().dir() / "data.jsonl", data);
    accept_or_reject([&] { (void)io::read_jsonl(file); });
}

void model_config(Bytes data) {
    const fs::path dir = scratch().folder("model_config");
    write(dir / "config.json", data);
    accept_or_reject([&] { (void)model::load_model_config(dir); });
}

// A streamed completion as a server sends it: SSE framing, then each event's JSON.
void sse_stream(Bytes data) {
    accept_or_reject([&] {
        serve::SseParser parser([](std::string_view event) { (void)serve::parse_completion_event(event); });
        const std::string_view all(reinterpret_cast<const char*>(data.data()), data.size());
        // in two pieces split at a point the input chooses, as TCP may split it
        const std::size_t cut = all.empty() ? 0 : static_cast<std::uint8_t>(all.front()) % (all.size() + 1);
        parser.feed(all.substr(0, cut));
        parser.feed(all.substr(cut));
        parser.finish();
    });
}

// A server's answer to a prompt-scoring request (echo + logprobs) for a prompt of 1-8 tokens.
void served_logprobs(Bytes data) {
    accept_or_reject([&] {
        const std::string_view all(reinterpret_cast<const char*>(data.data()), data.size());
        const std::size_t n = all.empty() ? 1 : 1 + static_cast<std::uint8_t>(all.front()) % 8;
        const auto j = nlohmann::json::parse(all.empty() ? all : all.substr(1), nullptr, false);
        if (j.is_discarded()) return;
        (void)serve::parse_prompt_logprobs(j, n, "http://fuzz/v1/completions");
    });
}

constexpr std::array<Target, 13> kTargets = {{
    {"safetensors", "io::SafetensorsCheckpoint::open on one .safetensors file", safetensors_file},
    {"safetensors_index", "model.safetensors.index.json beside a valid shard", safetensors_index},
    {"gguf", "io::GgufFile: header, metadata, tensor table, tensor data and dequantization", gguf_file},
    {"gguf_dequant", "io::dequantize of each ggml block type on fuzzed blocks", gguf_dequant},
    {"gguf_tokenizer", "tokenizer::make_gguf_tokenizer: a GGUF vocabulary, then encode/decode", gguf_tokenizer},
    {"tokenizer_json", "tokenizer::load_tokenizer on tokenizer.json, then encode/decode", tokenizer_json},
    {"sentencepiece", "tokenizer::load_tokenizer on tokenizer.model, then encode/decode", sentencepiece},
    {"run_config", "config::parse_run_config (the run YAML) and its effective-config echo", run_config},
    {"task_yaml", "eval::tasks::parse_task_definition (a task YAML)", task_yaml},
    {"jsonl", "io::read_jsonl (data and prompt files)", jsonl},
    {"model_config", "model::load_model_config (config.json)", model_config},
    {"sse_stream", "serve::SseParser and serve::parse_completion_event (a streamed completion)", sse_stream},
    {"served_logprobs", "serve::parse_prompt_logprobs (a server's echo + logprobs answer)", served_logprobs},
}};

}  // namespace

std::span<const Target> targets() { return kTargets; }

const Target* find_target(std::string_view name) {
    for (const auto& t : kTargets) {
        if (t.name == name) return &t;
    }
    return nullptr;
}

}  // namespace qbench::fuzz
