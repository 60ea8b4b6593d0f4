// Files: whole-file reads with clear errors, atomic writes (temp file + rename), read-only mmap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace qbench {

namespace fs = std::filesystem;

// Reads a whole file; throws a kBadInput Error naming the path when it cannot be read.
std::string read_file(const fs::path& path);

// Writes `content` to `path` atomically: a temp file in the same directory, fsync, rename.
// A reader never sees a half-written file, and an interrupted run leaves the old file intact.
void write_file_atomic(const fs::path& path, std::string_view content);

// A read-only memory map of a whole file. Move-only. An empty file maps to size() == 0.
class MappedFile {
public:
    explicit MappedFile(const fs::path& path);
    ~MappedFile();
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const std::uint8_t* data() const { return data_; }
    std::size_t size() const { return size_; }
    const fs::path& path() const { return path_; }

private:
    void release();

    fs::path path_;
    const std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace qbench
