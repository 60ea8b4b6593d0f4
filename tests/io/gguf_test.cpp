#include "qbench/io/gguf.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "qbench/io/gguf_dequant.hpp"
#include "qbench/io/safetensors.hpp"
#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"
#include "support/fixtures.hpp"

namespace qbench::io {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

fs::path gguf_fixture(const std::string& name) { return qbench::testing::fixtures_dir() / "gguf" / name; }

// Builds GGUF bytes by hand, to test each validation of the reader on its own.
class Builder {
public:
    Builder& u32(std::uint32_t v) { return put(v); }
    Builder& u64(std::uint64_t v) { return put(v); }
    Builder& i64(std::int64_t v) { return put(v); }
    Builder& str(const std::string& s) {
        u64(s.size());
        bytes_ += s;
        return *this;
    }
    Builder& raw(const std::string& s) {
        bytes_ += s;
        return *this;
    }
    Builder& header(std::uint32_t version, std::uint64_t n_tensors, std::uint64_t n_kv) {
        return raw("GGUF").u32(version).u64(n_tensors).u64(n_kv);
    }
    Builder& kv_u32(const std::string& key, std::uint32_t v) { return str(key).u32(4).u32(v); }
    // A tensor info: dims innermost first.
    Builder& tensor(const std::string& name, std::vector<std::int64_t> ne, std::uint32_t type, std::uint64_t offset) {
        str(name).u32(static_cast<std::uint32_t>(ne.size()));
        for (auto d : ne) i64(d);
        return u32(type).u64(offset);
    }
    Builder& pad_to(std::size_t align) {
        while (bytes_.size() % align) bytes_ += '\0';
        return *this;
    }
    Builder& zeros(std::size_t n) {
        bytes_.append(n, '\0');
        return *this;
    }
    const std::string& bytes() const { return bytes_; }

private:
    template <typename T>
    Builder& put(T v) {
        char b[sizeof(T)];
        std::memcpy(b, &v, sizeof(T));
        bytes_.append(b, sizeof(T));
        return *this;
    }
    std::string bytes_;
};

class GgufTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("qbench_gguf_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path write(const std::string& bytes) {
        auto p = dir_ / "x.gguf";
        write_file_atomic(p, bytes);
        return p;
    }
    // The message of the kBadInput error that opening `bytes` throws.
    std::string error_of(const std::string& bytes) {
        const auto p = write(bytes);
        try {
            GgufFile f(p);
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::kBadInput);
            const std::string msg = e.what();
            EXPECT_THAT(msg, HasSubstr(p.string()));
            EXPECT_EQ(msg.find('\n'), std::string::npos);
            return msg;
        }
        ADD_FAILURE() << "no error";
        return {};
    }
    // A valid file with one F32 [2, 4] tensor (ne = {4, 2}) at the default alignment.
    static std::string valid() {
        Builder b;
        b.header(3, 1, 1).kv_u32("general.x", 7).tensor("w", {4, 2}, 0, 0).pad_to(32).zeros(32);
        return b.bytes();
    }

    fs::path dir_;
};

TEST_F(GgufTest, ReadsHandBuiltFile) {
    GgufFile f(write(valid()));
    EXPECT_EQ(f.version(), 3u);
    EXPECT_EQ(f.alignment(), 32u);
    EXPECT_EQ(f.get_uint("general.x"), 7u);
    ASSERT_EQ(f.tensors().size(), 1u);
    EXPECT_EQ(f.tensor("w").shape(), (std::vector<std::int64_t>{2, 4}));
    EXPECT_EQ(f.tensor("w").nbytes, 32u);
    EXPECT_EQ(f.data(f.tensor("w")).size(), 32u);
}

TEST_F(GgufTest, RejectsBadMagicAndVersions) {
    auto bad_magic = valid();
    bad_magic[0] = 'X';
    EXPECT_THAT(error_of(bad_magic), HasSubstr("not a GGUF file"));
    EXPECT_THAT(error_of(Builder().header(1, 0, 0).bytes()), HasSubstr("version 1"));
    EXPECT_THAT(error_of(Builder().header(4, 0, 0).bytes()), HasSubstr("version 4"));
    EXPECT_THAT(error_of(Builder().header(0, 0, 0).bytes()), HasSubstr("bad GGUF version"));
    EXPECT_THAT(error_of(Builder().header(0x03000000, 0, 0).bytes()), HasSubstr("big-endian"));
}

TEST_F(GgufTest, RejectsTruncationAnywhere) {
    const auto full = valid();
    // Every prefix that cuts the header, the metadata or the tensor infos, and one that cuts the data.
    for (std::size_t n : {std::size_t{3}, std::size_t{10}, std::size_t{30}, std::size_t{50}, full.size() - 1}) {
        SCOPED_TRACE(n);
        error_of(full.substr(0, n));
    }
}

TEST_F(GgufTest, RejectsImpossibleCounts) {
    EXPECT_THAT(error_of(Builder().header(3, 1u << 30, 0).bytes()), HasSubstr("tensor count"));
    EXPECT_THAT(error_of(Builder().header(3, 0, ~0ull).bytes()), HasSubstr("metadata count"));
}

TEST_F(GgufTest, RejectsBadMetadata) {
    EXPECT_THAT(error_of(Builder().header(3, 0, 2).kv_u32("a", 1).kv_u32("a", 2).bytes()),
                HasSubstr("duplicate metadata key 'a'"));
    EXPECT_THAT(error_of(Builder().header(3, 0, 1).kv_u32("", 1).bytes()), HasSubstr("is empty"));
    EXPECT_THAT(error_of(Builder().header(3, 0, 1).str("k").u32(13).u32(0).bytes()), HasSubstr("invalid value type 13"));
    // An array of arrays.
    EXPECT_THAT(error_of(Builder().header(3, 0, 1).str("k").u32(9).u32(9).u64(1).bytes()),
                HasSubstr("array of invalid value type 9"));
    // An array longer than the file.
    EXPECT_THAT(error_of(Builder().header(3, 0, 1).str("k").u32(9).u32(4).u64(1000).bytes()),
                HasSubstr("runs past the end"));
    // A string longer than the file.
    EXPECT_THAT(error_of(Builder().header(3, 0, 1).str("k").u32(8).u64(1000).bytes()),
                HasSubstr("string length 1000"));
}

TEST_F(GgufTest, ValidatesAlignment) {
    EXPECT_THAT(error_of(Builder().header(3, 0, 1).str("general.alignment").u32(10).u64(64).bytes()),
                HasSubstr("must be u32"));
    EXPECT_THAT(error_of(Builder().header(3, 0, 1).kv_u32("general.alignment", 48).bytes()),
                HasSubstr("not a power of 2"));
    EXPECT_THAT(error_of(Builder().header(3, 0, 1).kv_u32("general.alignment", 0).bytes()),
                HasSubstr("not a power of 2"));
    Builder b;
    b.header(3, 2, 1).kv_u32("general.alignment", 64).tensor("a", {4}, 0, 0).tensor("b", {4}, 0, 64).pad_to(64).zeros(80);
    GgufFile f(write(b.bytes()));
    EXPECT_EQ(f.alignment(), 64u);
    EXPECT_EQ(f.data_offset() % 64, 0u);
}

TEST_F(GgufTest, RejectsBadTensorInfos) {
    auto one = [](const std::string& name, std::vector<std::int64_t> ne, std::uint32_t type, std::uint64_t offset) {
        Builder b;
        b.header(3, 1, 0).tensor(name, std::move(ne), type, offset).pad_to(32).zeros(64);
        return b.bytes();
    };
    EXPECT_THAT(error_of(one(std::string(64, 'n'), {4}, 0, 0)), HasSubstr("too long"));
    EXPECT_THAT(error_of(one("w", {1, 1, 1, 1, 1}, 0, 0)), HasSubstr("5 dimensions"));
    EXPECT_THAT(error_of(one("w", {-4}, 0, 0)), HasSubstr("tensor 'w' dimension 0 is negative"));
    EXPECT_THAT(error_of(one("w", {1ll << 40, 1ll << 40}, 0, 0)), HasSubstr("too many elements"));
    EXPECT_THAT(error_of(one("w", {4}, 4, 0)), HasSubstr("tensor 'w' has invalid ggml type 4"));
    EXPECT_THAT(error_of(one("w", {4}, 99, 0)), HasSubstr("invalid ggml type 99"));
    EXPECT_THAT(error_of(one("w", {48}, 2, 0)), HasSubstr("not a multiple of the block size 32"));
    EXPECT_THAT(error_of(one("w", {4}, 0, 32)), HasSubstr("tensor 'w' has offset 32, expected 0"));
    EXPECT_THAT(error_of(one("w", {64}, 0, 0)), HasSubstr("runs past the end of the file"));
    Builder dup;
    dup.header(3, 2, 0).tensor("w", {4}, 0, 0).tensor("w", {4}, 0, 32).pad_to(32).zeros(64);
    EXPECT_THAT(error_of(dup.bytes()), HasSubstr("duplicate tensor name 'w'"));
    // Offsets must follow each other with padding: a gap is an error.
    Builder gap;
    gap.header(3, 2, 0).tensor("a", {4}, 0, 0).tensor("b", {4}, 0, 64).pad_to(32).zeros(128);
    EXPECT_THAT(error_of(gap.bytes()), HasSubstr("tensor 'b' has offset 64, expected 32"));
    // A tensor starting past the end of a short data section (found by the gguf fuzz target: the
    // unsigned room computation wrapped around and let a 550 MB span through).
    Builder past;
    past.header(3, 2, 0).tensor("a", {4}, 0, 0).tensor("b", {4}, 0, 32).pad_to(32).zeros(16);
    EXPECT_THAT(error_of(past.bytes()), HasSubstr("tensor 'b' (16 bytes at offset 32) runs past the end"));
}

TEST_F(GgufTest, AnEmptyTensorMayHaveHugeOtherDimensions) {
    // ggml skips the overflow checks for a tensor with a zero dimension; its element count is 0
    // and nothing multiplies the other dimensions (found by the gguf fuzz target: int64 overflow).
    Builder b;
    b.header(3, 1, 0).tensor("e", {0, 1ll << 62, 1ll << 62}, 0, 0).pad_to(32);
    const GgufFile f(write(b.bytes()));
    ASSERT_EQ(f.tensors().size(), 1u);
    EXPECT_EQ(f.tensors()[0].numel(), 0);
    EXPECT_EQ(f.data(f.tensors()[0]).size(), 0u);
}

TEST_F(GgufTest, TypedGettersNameTheKey) {
    GgufFile f(write(valid()));
    try {
        f.get_string("general.x");
        FAIL();
    } catch (const Error& e) {
        EXPECT_THAT(e.what(), HasSubstr("'general.x' is u32, expected string"));
    }
    EXPECT_THROW(f.get_uint("missing"), Error);
    EXPECT_EQ(f.get_uint_or("missing", 5), 5u);
    EXPECT_THROW(f.tensor("nope"), Error);
}

TEST_F(GgufTest, ReadsEveryValueTypeWrittenByGgufPy) {
    GgufFile f(gguf_fixture("quant_types.gguf"));
    EXPECT_EQ(f.alignment(), 64u);
    EXPECT_EQ(f.get_string("general.architecture"), "llama");
    EXPECT_EQ(f.get_uint("test.u8"), 200u);
    EXPECT_EQ(f.get_int("test.i8"), -100);
    EXPECT_EQ(f.get_uint("test.u16"), 60000u);
    EXPECT_EQ(f.get_int("test.i16"), -30000);
    EXPECT_EQ(f.get_uint("test.u32"), 4000000000u);
    EXPECT_EQ(f.get_int("test.i32"), -2000000000);
    EXPECT_EQ(f.get_float("test.f32"), 0.25);
    EXPECT_TRUE(f.get_bool("test.bool"));
    EXPECT_EQ(f.get_string("test.string"), "h\xc3\xa9llo");
    EXPECT_EQ(f.get_uint("test.u64"), (1ull << 63) + 5);
    EXPECT_EQ(f.get_int("test.i64"), -(1ll << 40));
    EXPECT_EQ(f.get_float("test.f64"), 1e-300);
    EXPECT_EQ(f.get_string_array("test.array_str"), (std::vector<std::string>{"a", "", "\xe2\x96\x81" "b"}));
    EXPECT_EQ(f.get_int_array("test.array_i32"), (std::vector<std::int64_t>{1, -2, 3}));
    EXPECT_EQ(f.get_float_array("test.array_f32"), (std::vector<double>{0.5, -1.5}));
    EXPECT_EQ(f.find("test.u64")->type, GgufValueType::kU64);
    EXPECT_EQ(f.tensor("t.F32_3d").shape(), (std::vector<std::int64_t>{2, 3, 4}));
}

// Every supported type, decoded bit for bit as gguf.quants.dequantize decodes it.
TEST_F(GgufTest, DequantizesEveryTypeBitForBitAsGgufPy) {
    GgufFile f(gguf_fixture("quant_types.gguf"));
    SafetensorsFile expected(gguf_fixture("quant_types.expected.safetensors"));
    int checked = 0;
    for (const auto& want : expected.tensors()) {
        SCOPED_TRACE(want.name);
        const auto& t = f.tensor(want.name);
        EXPECT_EQ(t.shape(), want.shape);
        ASSERT_TRUE(can_dequantize(t.ggml_type()));
        std::vector<float> got(static_cast<std::size_t>(t.numel()));
        dequantize(t.ggml_type(), f.data(t), got);
        const auto bytes = expected.data(want);
        ASSERT_EQ(bytes.size(), got.size() * 4);
        EXPECT_EQ(std::memcmp(bytes.data(), got.data(), bytes.size()), 0) << "not bit-identical";
        ++checked;
    }
    EXPECT_EQ(checked, 14);  // 13 types + a 3-D tensor
}

TEST_F(GgufTest, Fp16ConversionIsExact) {
    EXPECT_EQ(fp16_to_float(0x3C00), 1.0f);
    EXPECT_EQ(fp16_to_float(0xC000), -2.0f);
    EXPECT_EQ(fp16_to_float(0x0001), 5.960464477539063e-08f);  // smallest subnormal
    EXPECT_EQ(fp16_to_float(0x7BFF), 65504.0f);
    EXPECT_TRUE(std::isinf(fp16_to_float(0x7C00)));
    EXPECT_TRUE(std::isnan(fp16_to_float(0x7E00)));
    EXPECT_EQ(bf16_to_float(0x3F80), 1.0f);
}

TEST_F(GgufTest, DequantizeRejectsUnsupportedTypesAndSizes) {
    std::vector<std::uint8_t> src(66);
    std::vector<float> dst(256);
    EXPECT_THROW(dequantize(GgmlType::kIQ2_XXS, src, dst), Error);
    EXPECT_THROW(dequantize(GgmlType::kQ8_0, src, dst), Error);
}

}  // namespace
}  // namespace qbench::io
