// GGUF reader (mmap). Format and validation rules: reference/quant-formats.md §5.
//   "GGUF" | u32 version | u64 n_tensors | u64 n_kv | kv[n_kv] | tensor_info[n_tensors]
//   | pad to alignment | tensor data
// Every check of ggml's gguf_init_from_file is applied on open: magic, version 2 or 3, counts,
// strings inside the file, non-empty unique keys, known value types (no nested arrays),
// general.alignment a u32 power of two, tensor names < 64 bytes and unique, n_dims <= 4, dims >= 0
// with overflow checks, known ggml types, row length a multiple of the block size, offsets equal
// to the running sum of padded sizes, and every tensor's bytes inside the file. Any violation is
// a one-line kBadInput Error naming the file (and the key or tensor).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "qbench/util/files.hpp"

namespace qbench::io {

// ggml tensor types (ggml.h ids). Removed ids (4, 5, 31-33, 36-38) are not listed.
enum class GgmlType : std::uint32_t {
    kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8, kQ8_1 = 9,
    kQ2_K = 10, kQ3_K = 11, kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kQ8_K = 15, kIQ2_XXS = 16,
    kIQ2_XS = 17, kIQ3_XXS = 18, kIQ1_S = 19, kIQ4_NL = 20, kIQ3_S = 21, kIQ2_S = 22, kIQ4_XS = 23,
    kI8 = 24, kI16 = 25, kI32 = 26, kI64 = 27, kF64 = 28, kIQ1_M = 29, kBF16 = 30, kTQ1_0 = 34,
    kTQ2_0 = 35, kMXFP4 = 39,
};

struct GgmlTypeTraits {
    const char* name;
    std::int64_t block_size;  // elements per block
    std::int64_t type_size;   // bytes per block
};

// Traits of a ggml type id, or nullptr for an unknown or removed id.
const GgmlTypeTraits* ggml_type_traits(std::uint32_t type);
std::string ggml_type_name(GgmlType type);

// GGUF metadata value types.
enum class GgufValueType : std::uint32_t {
    kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7, kString = 8,
    kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};
const char* gguf_value_type_name(GgufValueType type);

// One metadata value. Integers are held widened (unsigned in `u`, signed in `i`), floats as
// double; arrays hold their elements (never nested: ggml rejects nested arrays).
struct GgufValue {
    GgufValueType type = GgufValueType::kU8;
    GgufValueType elem_type = GgufValueType::kU8;  // arrays only
    std::variant<std::uint64_t, std::int64_t, double, bool, std::string> scalar;
    std::vector<GgufValue> array;

    bool is_array() const { return type == GgufValueType::kArray; }
};

struct GgufTensorInfo {
    std::string name;
    std::uint32_t type = 0;              // a ggml type id (valid: ggml_type_traits(type) != null)
    std::vector<std::int64_t> ne;        // ggml order: ne[0] = innermost (row length)
    std::uint64_t offset = 0;            // relative to the data section
    std::uint64_t nbytes = 0;

    GgmlType ggml_type() const { return static_cast<GgmlType>(type); }
    // PyTorch / numpy order (ne reversed): a [out, in] weight has ne = [in, out].
    std::vector<std::int64_t> shape() const { return {ne.rbegin(), ne.rend()}; }
    std::int64_t numel() const;
    std::int64_t row_length() const { return ne.empty() ? 1 : ne[0]; }
};

class GgufFile {
public:
    explicit GgufFile(const std::filesystem::path& path);

    const std::filesystem::path& path() const { return file_.path(); }
    std::uint32_t version() const { return version_; }
    std::uint64_t alignment() const { return alignment_; }
    std::uint64_t data_offset() const { return data_start_; }

    // Metadata in file order, and lookup by key.
    const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
    const GgufValue* find(const std::string& key) const;
    bool has(const std::string& key) const { return find(key) != nullptr; }

    // Typed access; each throws a kBadInput Error naming the file and the key when the key is
    // missing or of another type. Integer getters accept any integer type whose value fits.
    std::uint64_t get_uint(const std::string& key) const;
    std::int64_t get_int(const std::string& key) const;
    double get_float(const std::string& key) const;  // F32/F64 (and integers)
    bool get_bool(const std::string& key) const;
    const std::string& get_string(const std::string& key) const;
    std::vector<std::string> get_string_array(const std::string& key) const;
    std::vector<double> get_float_array(const std::string& key) const;
    std::vector<std::int64_t> get_int_array(const std::string& key) const;
    // Optional forms: the fallback when the key is absent (still throws on a wrong type).
    std::uint64_t get_uint_or(const std::string& key, std::uint64_t fallback) const;
    double get_float_or(const std::string& key, double fallback) const;
    bool get_bool_or(const std::string& key, bool fallback) const;
    std::string get_string_or(const std::string& key, const std::string& fallback) const;

    // Tensors in file order.
    const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
    const GgufTensorInfo* find_tensor(const std::string& name) const;
    // Throws a kBadInput Error naming the file when the tensor is missing.
    const GgufTensorInfo& tensor(const std::string& name) const;
    // The tensor's bytes inside the mapping; valid while this object lives.
    std::span<const std::uint8_t> data(const GgufTensorInfo& info) const;
    std::uint64_t total_tensor_bytes() const;

private:
    MappedFile file_;
    std::uint32_t version_ = 0;
    std::uint64_t alignment_ = 32;
    std::uint64_t data_start_ = 0;
    std::vector<std::pair<std::string, GgufValue>> kv_;
    std::map<std::string, std::size_t> kv_index_;
    std::vector<GgufTensorInfo> tensors_;
    std::map<std::string, std::size_t> tensor_index_;
};

}  // namespace qbench::io
