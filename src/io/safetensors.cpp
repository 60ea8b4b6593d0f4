#include "qbench/io/safetensors.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "qbench/util/error.hpp"

namespace qbench::io {
namespace {

using nlohmann::json;

std::uint64_t read_u64_le(const std::uint8_t* p) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

// Parses the header JSON, rejecting duplicate keys at any depth of the top-level object.
json parse_header(const std::string& path, std::string_view text) {
    std::vector<std::set<std::string>> seen;
    std::string duplicate;
    json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
        switch (event) {
            case json::parse_event_t::object_start:
                seen.emplace_back();
                break;
            case json::parse_event_t::object_end:
                if (!seen.empty()) seen.pop_back();
                break;
            case json::parse_event_t::key:
                if (!seen.empty() && !seen.back().insert(parsed.get<std::string>()).second &&
                    duplicate.empty()) {
                    duplicate = parsed.get<std::string>();
                }
                break;
            default:
                break;
        }
        return true;
    };
    json header;
    try {
        header = json::parse(text, cb);
    } catch (const json::exception& e) {
        throw_bad_input("{}: safetensors header is not valid JSON ({})", path, e.what());
    }
    if (!duplicate.empty()) throw_bad_input("{}: safetensors header has duplicate key '{}'", path, duplicate);
    if (!header.is_object()) throw_bad_input("{}: safetensors header is not a JSON object", path);
    return header;
}

// prod(shape) * size with overflow checks; nullopt on overflow.
std::optional<std::uint64_t> checked_nbytes(const std::vector<std::int64_t>& shape, std::size_t size) {
    std::uint64_t n = size;
    for (std::int64_t d : shape) {
        auto ud = static_cast<std::uint64_t>(d);
        if (ud != 0 && n > std::numeric_limits<std::uint64_t>::max() / ud) return std::nullopt;
        n *= ud;
    }
    return n;
}

}  // namespace

std::int64_t TensorInfo::numel() const {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
}

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path) : file_(path) {
    const std::string p = path.string();
    const std::uint64_t file_size = file_.size();
    if (file_size < 8) throw_bad_input("{}: not a safetensors file (only {} bytes)", p, file_size);
    const std::uint64_t n = read_u64_le(file_.data());
    if (n > kSafetensorsMaxHeader) {
        throw_bad_input("{}: safetensors header size {} exceeds the {} byte limit", p, n,
                        kSafetensorsMaxHeader);
    }
    if (8 + n > file_size) {
        throw_bad_input("{}: truncated: header size {} but the file has {} bytes", p, n, file_size);
    }
    std::string_view text(reinterpret_cast<const char*>(file_.data() + 8), n);
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos || text[first] != '{') {
        throw_bad_input("{}: safetensors header does not start with '{{'", p);
    }
    json header = parse_header(p, text);
    data_start_ = 8 + n;

    for (auto& [name, entry] : header.items()) {
        if (name == "__metadata__") {
            if (!entry.is_object()) throw_bad_input("{}: __metadata__ is not an object", p);
            for (auto& [k, v] : entry.items()) {
                if (!v.is_string()) throw_bad_input("{}: __metadata__ value of '{}' is not a string", p, k);
                metadata_[k] = v.get<std::string>();
            }
            continue;
        }
        if (!entry.is_object()) throw_bad_input("{}: tensor '{}': entry is not an object", p, name);
        TensorInfo info;
        info.name = name;
        auto dt = entry.find("dtype");
        if (dt == entry.end() || !dt->is_string()) throw_bad_input("{}: tensor '{}': missing dtype", p, name);
        auto dtype = dtype_from_safetensors(dt->get<std::string>());
        if (!dtype) {
            throw_bad_input("{}: tensor '{}': unsupported dtype '{}'", p, name, dt->get<std::string>());
        }
        info.dtype = *dtype;
        auto sh = entry.find("shape");
        if (sh == entry.end() || !sh->is_array()) throw_bad_input("{}: tensor '{}': missing shape", p, name);
        for (auto& d : *sh) {
            if (!d.is_number_unsigned()) {
                throw_bad_input("{}: tensor '{}': shape {} has a non-integer or negative dimension", p,
                                name, sh->dump());
            }
            auto v = d.get<std::uint64_t>();
            if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                throw_bad_input("{}: tensor '{}': dimension {} is too large", p, name, v);
            }
            info.shape.push_back(static_cast<std::int64_t>(v));
        }
        auto off = entry.find("data_offsets");
        if (off == entry.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
            !(*off)[1].is_number_unsigned()) {
            throw_bad_input("{}: tensor '{}': data_offsets must be two non-negative integers", p, name);
        }
        info.begin = (*off)[0].get<std::uint64_t>();
        info.end = (*off)[1].get<std::uint64_t>();
        if (info.end < info.begin) {
            throw_bad_input("{}: tensor '{}': data_offsets [{}, {}] end before begin", p, name,
                            info.begin, info.end);
        }
        auto need = checked_nbytes(info.shape, dtype_size(info.dtype));
        if (!need) throw_bad_input("{}: tensor '{}': shape {} overflows", p, name, sh->dump());
        if (*need != info.nbytes()) {
            throw_bad_input("{}: tensor '{}': data_offsets [{}, {}] hold {} bytes but shape {} of {} needs {}",
                            p, name, info.begin, info.end, info.nbytes(), sh->dump(),
                            dtype_name(info.dtype), *need);
        }
        tensors_.push_back(std::move(info));
    }

    std::sort(tensors_.begin(), tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    std::uint64_t expected = 0;
    for (const auto& t : tensors_) {
        if (t.begin != expected) {
            throw_bad_input("{}: tensor '{}': data_offsets [{}, {}] {} (expected begin {})", p, t.name,
                            t.begin, t.end, t.begin < expected ? "overlap the previous tensor" : "leave a gap",
                            expected);
        }
        expected = t.end;
    }
    const std::uint64_t data_size = file_size - data_start_;
    if (expected != data_size) {
        if (expected > data_size) {
            const std::string last = tensors_.empty() ? std::string() : tensors_.back().name;
            throw_bad_input("{}: truncated: tensor '{}' ends at byte {} of a {} byte data buffer", p,
                            last, expected, data_size);
        }
        throw_bad_input("{}: {} trailing bytes after the last tensor", p, data_size - expected);
    }
    for (std::size_t i = 0; i < tensors_.size(); ++i) index_[tensors_[i].name] = i;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const std::uint8_t> SafetensorsFile::data(const TensorInfo& info) const {
    return {file_.data() + data_start_ + info.begin, info.nbytes()};
}

SafetensorsCheckpoint SafetensorsCheckpoint::open(const std::filesystem::path& dir_or_file) {
    namespace fs = std::filesystem;
    SafetensorsCheckpoint ckpt;
    ckpt.root_ = dir_or_file;
    std::vector<fs::path> shard_paths;
    std::map<std::string, std::string> weight_map;
    std::error_code ec;
    if (fs::is_directory(dir_or_file, ec)) {
        const fs::path index = dir_or_file / "model.safetensors.index.json";
        const fs::path single = dir_or_file / "model.safetensors";
        if (fs::exists(index)) {
            json j;
            try {
                j = json::parse(read_file(index));
            } catch (const json::exception& e) {
                throw_bad_input("{}: not valid JSON ({})", index.string(), e.what());
            }
            auto wm = j.find("weight_map");
            if (wm == j.end() || !wm->is_object()) throw_bad_input("{}: missing 'weight_map'", index.string());
            std::set<std::string> files;
            for (auto& [tensor, file] : wm->items()) {
                if (!file.is_string()) throw_bad_input("{}: weight_map['{}'] is not a string", index.string(), tensor);
                const auto f = file.get<std::string>();
                if (f.find("..") != std::string::npos || fs::path(f).is_absolute()) {
                    throw_bad_input("{}: weight_map['{}'] points outside the directory: {}", index.string(), tensor, f);
                }
                weight_map[tensor] = f;
                files.insert(f);
            }
            for (const auto& f : files) shard_paths.push_back(dir_or_file / f);
        } else if (fs::exists(single)) {
            shard_paths.push_back(single);
        } else {
            throw_bad_input("{}: no model.safetensors or model.safetensors.index.json", dir_or_file.string());
        }
    } else if (fs::exists(dir_or_file, ec)) {
        shard_paths.push_back(dir_or_file);
    } else {
        throw_bad_input("{}: no such file or directory", dir_or_file.string());
    }

    for (const auto& sp : shard_paths) {
        if (!fs::exists(sp)) throw_bad_input("{}: shard listed in the index is missing", sp.string());
        ckpt.files_.push_back(std::make_unique<SafetensorsFile>(sp));
        const std::size_t fi = ckpt.files_.size() - 1;
        for (const auto& t : ckpt.files_.back()->tensors()) {
            if (ckpt.where_.count(t.name)) {
                throw_bad_input("{}: tensor '{}' appears in more than one shard", sp.string(), t.name);
            }
            ckpt.where_[t.name] = {fi, &t};
        }
    }
    for (const auto& [tensor, file] : weight_map) {
        auto it = ckpt.where_.find(tensor);
        if (it == ckpt.where_.end()) {
            throw_bad_input("{}: tensor '{}' listed in the index is not in {}", dir_or_file.string(), tensor, file);
        }
        if (ckpt.files_[it->second.first]->path().filename() != std::filesystem::path(file).filename()) {
            throw_bad_input("{}: tensor '{}' is in {}, not in {} as the index says", dir_or_file.string(),
                            tensor, ckpt.files_[it->second.first]->path().filename().string(), file);
        }
    }
    return ckpt;
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
    std::vector<std::string> out;
    out.reserve(where_.size());
    for (const auto& [name, _] : where_) out.push_back(name);
    return out;
}

const TensorInfo& SafetensorsCheckpoint::info(const std::string& name) const {
    auto it = where_.find(name);
    if (it == where_.end()) throw_bad_input("{}: missing tensor '{}'", root_.string(), name);
    return *it->second.second;
}

std::span<const std::uint8_t> SafetensorsCheckpoint::data(const std::string& name) const {
    const auto& i = info(name);
    return file_of(name).data(i);
}

const SafetensorsFile& SafetensorsCheckpoint::file_of(const std::string& name) const {
    auto it = where_.find(name);
    if (it == where_.end()) throw_bad_input("{}: missing tensor '{}'", root_.string(), name);
    return *files_[it->second.first];
}

std::uint64_t SafetensorsCheckpoint::total_bytes() const {
    std::uint64_t n = 0;
    for (const auto& [_, loc] : where_) n += loc.second->nbytes();
    return n;
}

std::string serialize_safetensors(const std::vector<TensorData>& tensors,
                                  const std::map<std::string, std::string>& metadata) {
    std::vector<const TensorData*> order;
    for (const auto& t : tensors) order.push_back(&t);
    std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->name < b->name; });
    json header = json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::uint64_t offset = 0;
    for (const auto* t : order) {
        header[t->name] = {{"dtype", std::string(dtype_name(t->dtype))},
                           {"shape", t->shape},
                           {"data_offsets", {offset, offset + t->bytes.size()}}};
        offset += t->bytes.size();
    }
    std::string h = header.dump();
    while ((8 + h.size()) % 8 != 0) h.push_back(' ');
    std::string out;
    out.reserve(8 + h.size() + offset);
    std::uint64_t n = h.size();
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    out += h;
    for (const auto* t : order) out += t->bytes;
    return out;
}

void write_safetensors(const std::filesystem::path& path, const std::vector<TensorData>& tensors,
                       const std::map<std::string, std::string>& metadata) {
    write_file_atomic(path, serialize_safetensors(tensors, metadata));
}

}  // namespace qbench::io
