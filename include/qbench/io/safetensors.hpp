// safetensors reader (mmap) and writer. Format and validation rules: reference/quant-formats.md §6.
//   file = u64 LE header size N | N bytes of JSON | data buffer
// Every rule of the reference crate is enforced on open: N <= 100 MB, 8 + N <= file size, UTF-8
// JSON object (optionally space-padded), no duplicate names, known dtypes, tensors contiguous
// from offset 0 with no gaps or overlaps, bytes == prod(shape) x dtype size (overflow-checked),
// and no trailing bytes. Any violation is a kBadInput Error naming the file and the tensor.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "qbench/io/dtype.hpp"
#include "qbench/util/files.hpp"

namespace qbench::io {

struct TensorInfo {
    std::string name;
    DType dtype = DType::kF32;
    std::vector<std::int64_t> shape;
    std::uint64_t begin = 0;  // offsets relative to the data buffer; end exclusive
    std::uint64_t end = 0;

    std::int64_t numel() const;
    std::uint64_t nbytes() const { return end - begin; }
};

inline constexpr std::uint64_t kSafetensorsMaxHeader = 100'000'000;

class SafetensorsFile {
public:
    explicit SafetensorsFile(const std::filesystem::path& path);

    const std::filesystem::path& path() const { return file_.path(); }
    // Tensors in file order (sorted by offset).
    const std::vector<TensorInfo>& tensors() const { return tensors_; }
    const TensorInfo* find(const std::string& name) const;
    // The tensor's bytes inside the mapping; valid while this object lives.
    std::span<const std::uint8_t> data(const TensorInfo& info) const;
    const std::map<std::string, std::string>& metadata() const { return metadata_; }

private:
    MappedFile file_;
    std::uint64_t data_start_ = 0;
    std::vector<TensorInfo> tensors_;
    std::map<std::string, std::size_t> index_;
    std::map<std::string, std::string> metadata_;
};

// A checkpoint: one model.safetensors, or shards listed by model.safetensors.index.json.
// open() takes a model directory or a single .safetensors file.
class SafetensorsCheckpoint {
public:
    static SafetensorsCheckpoint open(const std::filesystem::path& dir_or_file);

    std::vector<std::string> names() const;  // sorted
    bool contains(const std::string& name) const { return where_.count(name) != 0; }
    // Throws kBadInput naming the checkpoint when the tensor is missing.
    const TensorInfo& info(const std::string& name) const;
    std::span<const std::uint8_t> data(const std::string& name) const;
    const SafetensorsFile& file_of(const std::string& name) const;
    const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }
    std::uint64_t total_bytes() const;
    const std::filesystem::path& root() const { return root_; }

private:
    std::filesystem::path root_;
    std::vector<std::unique_ptr<SafetensorsFile>> files_;
    std::map<std::string, std::pair<std::size_t, const TensorInfo*>> where_;
};

// One tensor to write: raw little-endian bytes in C order.
struct TensorData {
    std::string name;
    DType dtype;
    std::vector<std::int64_t> shape;
    std::string bytes;
};

// Serializes tensors (sorted by name, header space-padded to a multiple of 8) and writes the
// file atomically. Used by tests and by qbench when it saves a quantized checkpoint.
std::string serialize_safetensors(const std::vector<TensorData>& tensors,
                                  const std::map<std::string, std::string>& metadata = {});
void write_safetensors(const std::filesystem::path& path, const std::vector<TensorData>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace qbench::io
