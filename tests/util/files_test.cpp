#include <gtest/gtest.h>

#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"

namespace qbench {

TEST(Files, AtomicWriteReplacesContentAndLeavesNoTempFile) {
    fs::path dir = fs::temp_directory_path() / "qbench_files_test";
    fs::remove_all(dir);
    write_file_atomic(dir / "a.json", "first");
    write_file_atomic(dir / "a.json", "second");
    EXPECT_EQ(read_file(dir / "a.json"), "second");
    int entries = 0;
    for ([[maybe_unused]] auto& e : fs::directory_iterator(dir)) ++entries;
    EXPECT_EQ(entries, 1);
    MappedFile m(dir / "a.json");
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(m.data()), m.size()), "second");
    fs::remove_all(dir);
}

TEST(Files, MissingFileIsBadInputNamingThePath) {
    try {
        read_file("/nonexistent/qbench.txt");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kBadInput);
        EXPECT_NE(std::string(e.what()).find("/nonexistent/qbench.txt"), std::string::npos);
    }
}

}  // namespace qbench
