#include "qbench/io/gguf.hpp"

#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <optional>

#include "qbench/util/error.hpp"

namespace qbench::io {

namespace {

constexpr std::uint32_t kMaxDims = 4;        // GGML_MAX_DIMS
constexpr std::size_t kMaxName = 64;         // GGML_MAX_NAME (names must be shorter)
constexpr std::uint64_t kDefaultAlignment = 32;

struct TypeEntry {
    std::uint32_t id;
    GgmlTypeTraits traits;
};

// ggml-common.h block sizes (QK_K = 256).
constexpr std::array kTypes{
    TypeEntry{0, {"F32", 1, 4}},        TypeEntry{1, {"F16", 1, 2}},
    TypeEntry{2, {"Q4_0", 32, 18}},     TypeEntry{3, {"Q4_1", 32, 20}},
    TypeEntry{6, {"Q5_0", 32, 22}},     TypeEntry{7, {"Q5_1", 32, 24}},
    TypeEntry{8, {"Q8_0", 32, 34}},     TypeEntry{9, {"Q8_1", 32, 36}},
    TypeEntry{10, {"Q2_K", 256, 84}},   TypeEntry{11, {"Q3_K", 256, 110}},
    TypeEntry{12, {"Q4_K", 256, 144}},  TypeEntry{13, {"Q5_K", 256, 176}},
    TypeEntry{14, {"Q6_K", 256, 210}},  TypeEntry{15, {"Q8_K", 256, 292}},
    TypeEntry{16, {"IQ2_XXS", 256, 66}}, TypeEntry{17, {"IQ2_XS", 256, 74}},
    TypeEntry{18, {"IQ3_XXS", 256, 98}}, TypeEntry{19, {"IQ1_S", 256, 50}},
    TypeEntry{20, {"IQ4_NL", 32, 18}},  TypeEntry{21, {"IQ3_S", 256, 110}},
    TypeEntry{22, {"IQ2_S", 256, 82}},  TypeEntry{23, {"IQ4_XS", 256, 136}},
    TypeEntry{24, {"I8", 1, 1}},        TypeEntry{25, {"I16", 1, 2}},
    TypeEntry{26, {"I32", 1, 4}},       TypeEntry{27, {"I64", 1, 8}},
    TypeEntry{28, {"F64", 1, 8}},       TypeEntry{29, {"IQ1_M", 256, 56}},
    TypeEntry{30, {"BF16", 1, 2}},      TypeEntry{34, {"TQ1_0", 256, 54}},
    TypeEntry{35, {"TQ2_0", 256, 66}},  TypeEntry{39, {"MXFP4", 32, 17}},
};

std::uint64_t pad(std::uint64_t x, std::uint64_t align) { return (x + align - 1) / align * align; }

// Bounds-checked little-endian cursor over the mapping.
class Cursor {
public:
    Cursor(const std::uint8_t* data, std::size_t size, const std::string& path)
        : data_(data), size_(size), path_(path) {}

    std::uint64_t pos() const { return pos_; }
    std::uint64_t remaining() const { return size_ - pos_; }

    template <typename T>
    T read(const char* what) {
        if (remaining() < sizeof(T)) {
            throw_bad_input("{}: truncated GGUF file: {} at byte {} runs past the end ({} bytes)", path_,
                            what, pos_, size_);
        }
        T v;
        std::memcpy(&v, data_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }

    std::string read_string(const std::string& what) {
        const auto len = read<std::uint64_t>(what.c_str());
        if (len > remaining()) {
            throw_bad_input("{}: {}: string length {} exceeds the {} bytes left in the file", path_, what,
                            len, remaining());
        }
        std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<std::size_t>(len));
        pos_ += len;
        return s;
    }

private:
    const std::uint8_t* data_;
    std::uint64_t size_;
    std::uint64_t pos_ = 0;
    const std::string& path_;
};

std::size_t value_size(GgufValueType t) {
    switch (t) {
        case GgufValueType::kU8:
        case GgufValueType::kI8:
        case GgufValueType::kBool: return 1;
        case GgufValueType::kU16:
        case GgufValueType::kI16: return 2;
        case GgufValueType::kU32:
        case GgufValueType::kI32:
        case GgufValueType::kF32: return 4;
        case GgufValueType::kU64:
        case GgufValueType::kI64:
        case GgufValueType::kF64:
        case GgufValueType::kString: return 8;  // at least the length prefix
        case GgufValueType::kArray: return 0;
    }
    return 0;
}

bool valid_scalar_type(std::uint32_t t) { return t <= 12 && t != 9; }

GgufValue read_scalar(Cursor& c, GgufValueType t, const std::string& key, const std::string& path) {
    GgufValue v;
    v.type = t;
    switch (t) {
        case GgufValueType::kU8: v.scalar = std::uint64_t{c.read<std::uint8_t>(key.c_str())}; break;
        case GgufValueType::kI8: v.scalar = std::int64_t{c.read<std::int8_t>(key.c_str())}; break;
        case GgufValueType::kU16: v.scalar = std::uint64_t{c.read<std::uint16_t>(key.c_str())}; break;
        case GgufValueType::kI16: v.scalar = std::int64_t{c.read<std::int16_t>(key.c_str())}; break;
        case GgufValueType::kU32: v.scalar = std::uint64_t{c.read<std::uint32_t>(key.c_str())}; break;
        case GgufValueType::kI32: v.scalar = std::int64_t{c.read<std::int32_t>(key.c_str())}; break;
        case GgufValueType::kU64: v.scalar = c.read<std::uint64_t>(key.c_str()); break;
        case GgufValueType::kI64: v.scalar = c.read<std::int64_t>(key.c_str()); break;
        case GgufValueType::kF32: v.scalar = double{c.read<float>(key.c_str())}; break;
        case GgufValueType::kF64: v.scalar = c.read<double>(key.c_str()); break;
        case GgufValueType::kBool: {
            // ggml reads an int8 and takes != 0; the spec says 0 or 1.
            v.scalar = c.read<std::int8_t>(key.c_str()) != 0;
            break;
        }
        case GgufValueType::kString: v.scalar = c.read_string("key '" + key + "'"); break;
        case GgufValueType::kArray:
            throw_bad_input("{}: key '{}' has a nested array (not allowed by ggml)", path, key);
    }
    return v;
}

std::string describe(const GgufValue& v) {
    if (v.is_array()) return fmt::format("array of {}", gguf_value_type_name(v.elem_type));
    return gguf_value_type_name(v.type);
}

}  // namespace

const GgmlTypeTraits* ggml_type_traits(std::uint32_t type) {
    for (const auto& e : kTypes) {
        if (e.id == type) return &e.traits;
    }
    return nullptr;
}

std::string ggml_type_name(GgmlType type) {
    const auto* t = ggml_type_traits(static_cast<std::uint32_t>(type));
    return t ? t->name : fmt::format("type {}", static_cast<std::uint32_t>(type));
}

const char* gguf_value_type_name(GgufValueType type) {
    static constexpr std::array<const char*, 13> kNames{"u8",  "i8",     "u16",   "i16", "u32",
                                                        "i32", "f32",    "bool",  "string",
                                                        "array", "u64",  "i64",   "f64"};
    const auto i = static_cast<std::uint32_t>(type);
    return i < kNames.size() ? kNames[i] : "unknown";
}

std::int64_t GgufTensorInfo::numel() const {
    // The reader checked that a non-empty tensor's product fits; an empty one may have huge
    // other dimensions.
    if (std::find(ne.begin(), ne.end(), 0) != ne.end()) return 0;
    std::int64_t n = 1;
    for (auto d : ne) n *= d;
    return n;
}

GgufFile::GgufFile(const std::filesystem::path& path) : file_(path) {
    const std::string p = path.string();
    Cursor c(file_.data(), file_.size(), p);

    if (file_.size() < 4 || std::memcmp(file_.data(), "GGUF", 4) != 0) {
        throw_bad_input("{}: not a GGUF file (the magic is not 'GGUF')", p);
    }
    c.read<std::uint32_t>("magic");
    version_ = c.read<std::uint32_t>("version");
    if (version_ == 0 || (version_ & 0xFFFF) == 0) {
        throw_bad_input("{}: bad GGUF version {} (a big-endian file?)", p, version_);
    }
    if (version_ == 1) throw_bad_input("{}: GGUF version 1 is no longer supported", p);
    if (version_ > 3) throw_bad_input("{}: GGUF version {} is newer than the supported version 3", p, version_);

    const auto n_tensors = c.read<std::int64_t>("tensor count");
    const auto n_kv = c.read<std::int64_t>("metadata count");
    // Each tensor info takes at least 8 + 4 + 4 + 8 bytes, each key-value at least 8 + 4 + 1.
    if (n_tensors < 0 || static_cast<std::uint64_t>(n_tensors) > c.remaining() / 24) {
        throw_bad_input("{}: tensor count {} does not fit in the file", p, n_tensors);
    }
    if (n_kv < 0 || static_cast<std::uint64_t>(n_kv) > c.remaining() / 13) {
        throw_bad_input("{}: metadata count {} does not fit in the file", p, n_kv);
    }

    for (std::int64_t i = 0; i < n_kv; ++i) {
        auto key = c.read_string(fmt::format("metadata key {}", i));
        if (key.empty()) throw_bad_input("{}: metadata key {} is empty", p, i);
        if (kv_index_.count(key)) throw_bad_input("{}: duplicate metadata key '{}'", p, key);
        const auto type = c.read<std::uint32_t>(key.c_str());
        GgufValue value;
        if (type == static_cast<std::uint32_t>(GgufValueType::kArray)) {
            const auto elem = c.read<std::uint32_t>(key.c_str());
            const auto n = c.read<std::uint64_t>(key.c_str());
            if (!valid_scalar_type(elem)) {
                throw_bad_input("{}: key '{}' is an array of invalid value type {}", p, key, elem);
            }
            const auto et = static_cast<GgufValueType>(elem);
            if (n > c.remaining() / value_size(et)) {
                throw_bad_input("{}: key '{}': array of {} elements runs past the end of the file", p, key, n);
            }
            value.type = GgufValueType::kArray;
            value.elem_type = et;
            value.array.reserve(static_cast<std::size_t>(n));
            for (std::uint64_t j = 0; j < n; ++j) value.array.push_back(read_scalar(c, et, key, p));
        } else {
            if (!valid_scalar_type(type)) throw_bad_input("{}: key '{}' has invalid value type {}", p, key, type);
            value = read_scalar(c, static_cast<GgufValueType>(type), key, p);
        }
        kv_index_[key] = kv_.size();
        kv_.emplace_back(std::move(key), std::move(value));
    }

    if (const auto* a = find("general.alignment")) {
        if (a->type != GgufValueType::kU32) {
            throw_bad_input("{}: key 'general.alignment' must be u32, not {}", p, describe(*a));
        }
        alignment_ = std::get<std::uint64_t>(a->scalar);
        if (alignment_ == 0 || (alignment_ & (alignment_ - 1)) != 0) {
            throw_bad_input("{}: key 'general.alignment' = {} is not a power of 2", p, alignment_);
        }
    } else {
        alignment_ = kDefaultAlignment;
    }

    constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
    for (std::int64_t i = 0; i < n_tensors; ++i) {
        GgufTensorInfo t;
        t.name = c.read_string(fmt::format("tensor name {}", i));
        if (t.name.size() >= kMaxName) {
            throw_bad_input("{}: tensor name '{}' is too long ({} >= {} bytes)", p, t.name, t.name.size(), kMaxName);
        }
        if (tensor_index_.count(t.name)) throw_bad_input("{}: duplicate tensor name '{}'", p, t.name);
        const auto n_dims = c.read<std::uint32_t>(t.name.c_str());
        if (n_dims > kMaxDims) {
            throw_bad_input("{}: tensor '{}' has {} dimensions (at most {})", p, t.name, n_dims, kMaxDims);
        }
        std::array<std::int64_t, kMaxDims> ne{1, 1, 1, 1};
        for (std::uint32_t j = 0; j < n_dims; ++j) {
            ne[j] = c.read<std::int64_t>(t.name.c_str());
            if (ne[j] < 0) throw_bad_input("{}: tensor '{}' dimension {} is negative ({})", p, t.name, j, ne[j]);
            t.ne.push_back(ne[j]);
        }
        const bool empty = ne[0] == 0 || ne[1] == 0 || ne[2] == 0 || ne[3] == 0;
        if (!empty && (kMax / ne[1] <= ne[0] || kMax / ne[2] <= ne[0] * ne[1] ||
                       kMax / ne[3] <= ne[0] * ne[1] * ne[2])) {
            throw_bad_input("{}: tensor '{}' has too many elements ([{}])", p, t.name, fmt::join(t.ne, ", "));
        }
        t.type = c.read<std::uint32_t>(t.name.c_str());
        const auto* traits = ggml_type_traits(t.type);
        if (!traits) throw_bad_input("{}: tensor '{}' has invalid ggml type {}", p, t.name, t.type);
        if (ne[0] % traits->block_size != 0) {
            throw_bad_input("{}: tensor '{}' of type {} has rows of {} elements, not a multiple of the block size {}",
                            p, t.name, traits->name, ne[0], traits->block_size);
        }
        // An empty tensor skips the overflow checks above, so its other dimensions may be huge:
        // never multiply them.
        const auto n_blocks =
            empty ? std::uint64_t{0} : static_cast<std::uint64_t>(ne[0] * ne[1] * ne[2] * ne[3] / traits->block_size);
        if (n_blocks > std::numeric_limits<std::uint64_t>::max() / static_cast<std::uint64_t>(traits->type_size)) {
            throw_bad_input("{}: tensor '{}' is too large", p, t.name);
        }
        t.nbytes = n_blocks * static_cast<std::uint64_t>(traits->type_size);
        t.offset = c.read<std::uint64_t>(t.name.c_str());
        tensor_index_[t.name] = tensors_.size();
        tensors_.push_back(std::move(t));
    }

    data_start_ = n_tensors > 0 ? pad(c.pos(), alignment_) : c.pos();
    if (data_start_ > file_.size()) {
        throw_bad_input("{}: the data section (at byte {}) starts past the end of the file", p, data_start_);
    }
    std::uint64_t expected = 0;
    for (const auto& t : tensors_) {
        if (t.offset != expected) {
            throw_bad_input("{}: tensor '{}' has offset {}, expected {} (tensors must be contiguous and aligned)",
                            p, t.name, t.offset, expected);
        }
        const std::uint64_t room = file_.size() - data_start_;  // data_start_ <= size, checked above
        if (t.offset > room || t.nbytes > room - t.offset) {
            throw_bad_input("{}: tensor '{}' ({} bytes at offset {}) runs past the end of the file", p, t.name,
                            t.nbytes, t.offset);
        }
        expected += pad(t.nbytes, alignment_);
    }
}

const GgufValue* GgufFile::find(const std::string& key) const {
    auto it = kv_index_.find(key);
    return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

namespace {

[[noreturn]] void wrong_type(const std::string& path, const std::string& key, const char* expected,
                             const GgufValue& v) {
    throw_bad_input("{}: metadata key '{}' is {}, expected {}", path, key, describe(v), expected);
}

bool is_integer(GgufValueType t) {
    return t <= GgufValueType::kI32 || t == GgufValueType::kU64 || t == GgufValueType::kI64;
}

// An integer scalar as int64 (nullopt when it does not fit).
std::optional<std::int64_t> as_int(const GgufValue& v) {
    if (std::holds_alternative<std::int64_t>(v.scalar)) return std::get<std::int64_t>(v.scalar);
    const auto u = std::get<std::uint64_t>(v.scalar);
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return static_cast<std::int64_t>(u);
}

double as_double(const GgufValue& v) {
    if (std::holds_alternative<double>(v.scalar)) return std::get<double>(v.scalar);
    if (std::holds_alternative<std::int64_t>(v.scalar)) return static_cast<double>(std::get<std::int64_t>(v.scalar));
    return static_cast<double>(std::get<std::uint64_t>(v.scalar));
}

bool is_number(GgufValueType t) {
    return is_integer(t) || t == GgufValueType::kF32 || t == GgufValueType::kF64;
}

}  // namespace

std::uint64_t GgufFile::get_uint(const std::string& key) const {
    const auto* v = find(key);
    if (!v) throw_bad_input("{}: missing metadata key '{}'", path().string(), key);
    if (v->is_array() || !is_integer(v->type)) wrong_type(path().string(), key, "an unsigned integer", *v);
    if (std::holds_alternative<std::uint64_t>(v->scalar)) return std::get<std::uint64_t>(v->scalar);
    const auto i = std::get<std::int64_t>(v->scalar);
    if (i < 0) throw_bad_input("{}: metadata key '{}' is negative ({})", path().string(), key, i);
    return static_cast<std::uint64_t>(i);
}

std::int64_t GgufFile::get_int(const std::string& key) const {
    const auto* v = find(key);
    if (!v) throw_bad_input("{}: missing metadata key '{}'", path().string(), key);
    if (v->is_array() || !is_integer(v->type)) wrong_type(path().string(), key, "an integer", *v);
    auto i = as_int(*v);
    if (!i) throw_bad_input("{}: metadata key '{}' is too large", path().string(), key);
    return *i;
}

double GgufFile::get_float(const std::string& key) const {
    const auto* v = find(key);
    if (!v) throw_bad_input("{}: missing metadata key '{}'", path().string(), key);
    if (v->is_array() || !is_number(v->type)) wrong_type(path().string(), key, "a number", *v);
    return as_double(*v);
}

bool GgufFile::get_bool(const std::string& key) const {
    const auto* v = find(key);
    if (!v) throw_bad_input("{}: missing metadata key '{}'", path().string(), key);
    if (v->type != GgufValueType::kBool) wrong_type(path().string(), key, "bool", *v);
    return std::get<bool>(v->scalar);
}

const std::string& GgufFile::get_string(const std::string& key) const {
    const auto* v = find(key);
    if (!v) throw_bad_input("{}: missing metadata key '{}'", path().string(), key);
    if (v->type != GgufValueType::kString) wrong_type(path().string(), key, "string", *v);
    return std::get<std::string>(v->scalar);
}

std::vector<std::string> GgufFile::get_string_array(const std::string& key) const {
    const auto* v = find(key);
    if (!v) throw_bad_input("{}: missing metadata key '{}'", path().string(), key);
    if (!v->is_array() || v->elem_type != GgufValueType::kString) {
        wrong_type(path().string(), key, "array of string", *v);
    }
    std::vector<std::string> out;
    out.reserve(v->array.size());
    for (const auto& e : v->array) out.push_back(std::get<std::string>(e.scalar));
    return out;
}

std::vector<double> GgufFile::get_float_array(const std::string& key) const {
    const auto* v = find(key);
    if (!v) throw_bad_input("{}: missing metadata key '{}'", path().string(), key);
    if (!v->is_array() || !is_number(v->elem_type)) wrong_type(path().string(), key, "array of numbers", *v);
    std::vector<double> out;
    out.reserve(v->array.size());
    for (const auto& e : v->array) out.push_back(as_double(e));
    return out;
}

std::vector<std::int64_t> GgufFile::get_int_array(const std::string& key) const {
    const auto* v = find(key);
    if (!v) throw_bad_input("{}: missing metadata key '{}'", path().string(), key);
    if (!v->is_array() || !is_integer(v->elem_type)) wrong_type(path().string(), key, "array of integers", *v);
    std::vector<std::int64_t> out;
    out.reserve(v->array.size());
    for (const auto& e : v->array) {
        auto i = as_int(e);
        if (!i) throw_bad_input("{}: metadata key '{}' holds a value that is too large", path().string(), key);
        out.push_back(*i);
    }
    return out;
}

std::uint64_t GgufFile::get_uint_or(const std::string& key, std::uint64_t fallback) const {
    return has(key) ? get_uint(key) : fallback;
}
double GgufFile::get_float_or(const std::string& key, double fallback) const {
    return has(key) ? get_float(key) : fallback;
}
bool GgufFile::get_bool_or(const std::string& key, bool fallback) const {
    return has(key) ? get_bool(key) : fallback;
}
std::string GgufFile::get_string_or(const std::string& key, const std::string& fallback) const {
    return has(key) ? get_string(key) : fallback;
}

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensorInfo& GgufFile::tensor(const std::string& name) const {
    const auto* t = find_tensor(name);
    if (!t) throw_bad_input("{}: no tensor '{}'", path().string(), name);
    return *t;
}

std::span<const std::uint8_t> GgufFile::data(const GgufTensorInfo& info) const {
    return {file_.data() + data_start_ + info.offset, static_cast<std::size_t>(info.nbytes)};
}

std::uint64_t GgufFile::total_tensor_bytes() const {
    std::uint64_t n = 0;
    for (const auto& t : tensors_) n += t.nbytes;
    return n;
}

}  // namespace qbench::io
