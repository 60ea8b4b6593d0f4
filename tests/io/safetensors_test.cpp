#include "qbench/io/safetensors.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "qbench/util/error.hpp"
#include "qbench/util/files.hpp"

namespace qbench::io {
namespace {

namespace fs = std::filesystem;

class SafetensorsTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("qbench_st_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    static std::string floats(std::initializer_list<float> v) {
        std::string s(v.size() * 4, '\0');
        std::memcpy(s.data(), std::data(v), s.size());
        return s;
    }

    std::vector<TensorData> sample() const {
        return {{"a.weight", DType::kF32, {2, 2}, floats({1, 2, 3, 4})},
                {"b.bias", DType::kF16, {3}, std::string(6, '\x01')},
                {"c.scalar", DType::kI64, {}, std::string(8, '\x02')},
                {"d.empty", DType::kBF16, {0, 4}, std::string()}};
    }

    // Writes a file with a hand-made header (and data) to test the validations one by one.
    fs::path raw(const std::string& header, const std::string& data, const std::string& name = "x.safetensors") {
        std::string out;
        std::uint64_t n = header.size();
        for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
        out += header + data;
        write_file_atomic(dir_ / name, out);
        return dir_ / name;
    }

    void expect_bad(const fs::path& p, const std::string& fragment) {
        try {
            SafetensorsFile f(p);
            FAIL() << "expected an error containing: " << fragment;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::kBadInput);
            std::string msg = e.what();
            EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
            EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
            EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
        }
    }

    fs::path dir_;
};

TEST_F(SafetensorsTest, RoundTripsEveryDtypeShapeAndMetadata) {
    write_safetensors(dir_ / "model.safetensors", sample(), {{"format", "pt"}});
    auto ckpt = SafetensorsCheckpoint::open(dir_);
    EXPECT_EQ(ckpt.names().size(), 4u);
    const auto& a = ckpt.info("a.weight");
    EXPECT_EQ(a.dtype, DType::kF32);
    EXPECT_EQ(a.shape, (std::vector<std::int64_t>{2, 2}));
    float v[4];
    std::memcpy(v, ckpt.data("a.weight").data(), 16);
    EXPECT_EQ(v[3], 4.0f);
    EXPECT_EQ(ckpt.info("c.scalar").numel(), 1);
    EXPECT_EQ(ckpt.info("d.empty").nbytes(), 0u);
    EXPECT_EQ(ckpt.files()[0]->metadata().at("format"), "pt");
}

TEST_F(SafetensorsTest, HeaderIsPaddedToEightBytes) {
    std::string s = serialize_safetensors(sample());
    std::uint64_t n = 0;
    std::memcpy(&n, s.data(), 8);
    EXPECT_EQ((8 + n) % 8, 0u);
}

TEST_F(SafetensorsTest, AcceptsEveryListedDtype) {
    for (const char* name : {"F32", "F16", "BF16", "F64", "I8", "U8", "I16", "I32", "I64", "F8_E4M3",
                             "F8_E5M2", "BOOL"}) {
        auto dt = dtype_from_safetensors(name);
        ASSERT_TRUE(dt.has_value()) << name;
        std::string data(dtype_size(*dt) * 3, '\0');
        auto p = raw(fmt::format(R"({{"t":{{"dtype":"{}","shape":[3],"data_offsets":[0,{}]}}}})", name, data.size()), data);
        EXPECT_NO_THROW(SafetensorsFile f(p)) << name;
    }
}

TEST_F(SafetensorsTest, RejectsTooShortFile) {
    write_file_atomic(dir_ / "x.safetensors", "abc");
    expect_bad(dir_ / "x.safetensors", "not a safetensors file");
}

TEST_F(SafetensorsTest, RejectsHeaderOverLimit) {
    std::string out(16, '\0');
    std::uint64_t n = kSafetensorsMaxHeader + 1;
    std::memcpy(out.data(), &n, 8);
    write_file_atomic(dir_ / "x.safetensors", out);
    expect_bad(dir_ / "x.safetensors", "exceeds");
}

TEST_F(SafetensorsTest, RejectsHeaderPastEndOfFile) {
    std::string out(8, '\0');
    std::uint64_t n = 100;
    std::memcpy(out.data(), &n, 8);
    write_file_atomic(dir_ / "x.safetensors", out + "{}");
    expect_bad(dir_ / "x.safetensors", "truncated");
}

TEST_F(SafetensorsTest, RejectsInvalidJsonAndNonObject) {
    expect_bad(raw(R"({"t": )", ""), "not valid JSON");
    expect_bad(raw(R"([1, 2])", ""), "does not start with");
}

TEST_F(SafetensorsTest, RejectsInvalidUtf8InHeader) {
    expect_bad(raw("{\"t\xff\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", "a"), "not valid JSON");
}

TEST_F(SafetensorsTest, RejectsDuplicateTensorNames) {
    expect_bad(raw(R"({"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"t":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", "ab"),
               "duplicate key 't'");
}

TEST_F(SafetensorsTest, RejectsUnknownDtypeNamingTensor) {
    expect_bad(raw(R"({"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})", "a"), "tensor 'w': unsupported dtype 'Q4'");
}

TEST_F(SafetensorsTest, RejectsSizeShapeMismatch) {
    expect_bad(raw(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", "abcd"), "tensor 'w': data_offsets [0, 4] hold 4 bytes");
}

TEST_F(SafetensorsTest, RejectsNegativeDimensionAndBadOffsets) {
    expect_bad(raw(R"({"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})", "a"), "tensor 'w'");
    expect_bad(raw(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[1,0]}})", "a"), "end before begin");
    expect_bad(raw(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0]}})", "a"), "two non-negative integers");
}

TEST_F(SafetensorsTest, RejectsShapeOverflow) {
    expect_bad(raw(R"({"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", "abcdefgh"), "overflows");
}

TEST_F(SafetensorsTest, RejectsGapsOverlapsTruncationAndTrailingBytes) {
    expect_bad(raw(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", "ab"), "tensor 'a': data_offsets [1, 2] leave a gap");
    expect_bad(raw(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})", "abc"),
               "tensor 'b': data_offsets [1, 3] overlap");
    expect_bad(raw(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", "ab"), "truncated: tensor 'a'");
    expect_bad(raw(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", "abc"), "2 trailing bytes");
}

TEST_F(SafetensorsTest, RejectsNonStringMetadata) {
    expect_bad(raw(R"({"__metadata__":{"format":1}})", ""), "__metadata__");
}

TEST_F(SafetensorsTest, TruncatedRealFileNamesTheLastTensor) {
    std::string s = serialize_safetensors(sample());
    write_file_atomic(dir_ / "t.safetensors", s.substr(0, s.size() - 3));
    expect_bad(dir_ / "t.safetensors", "truncated");
}

TEST_F(SafetensorsTest, ReadsShardsThroughIndex) {
    auto all = sample();
    write_safetensors(dir_ / "model-00001-of-00002.safetensors", {all[0], all[1]});
    write_safetensors(dir_ / "model-00002-of-00002.safetensors", {all[2], all[3]});
    nlohmann::json index = {{"metadata", {{"total_size", 28}}},
                            {"weight_map",
                             {{"a.weight", "model-00001-of-00002.safetensors"},
                              {"b.bias", "model-00001-of-00002.safetensors"},
                              {"c.scalar", "model-00002-of-00002.safetensors"},
                              {"d.empty", "model-00002-of-00002.safetensors"}}}};
    write_file_atomic(dir_ / "model.safetensors.index.json", index.dump());
    auto ckpt = SafetensorsCheckpoint::open(dir_);
    EXPECT_EQ(ckpt.names().size(), 4u);
    EXPECT_EQ(ckpt.files().size(), 2u);
    EXPECT_EQ(ckpt.info("c.scalar").dtype, DType::kI64);
    EXPECT_EQ(ckpt.total_bytes(), 16u + 6u + 8u);
}

TEST_F(SafetensorsTest, IndexNamingAMissingTensorIsAnError) {
    auto all = sample();
    write_safetensors(dir_ / "model-00001-of-00001.safetensors", {all[0]});
    nlohmann::json index = {{"weight_map",
                             {{"a.weight", "model-00001-of-00001.safetensors"},
                              {"zzz", "model-00001-of-00001.safetensors"}}}};
    write_file_atomic(dir_ / "model.safetensors.index.json", index.dump());
    try {
        SafetensorsCheckpoint::open(dir_);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("tensor 'zzz'"), std::string::npos);
    }
}

TEST_F(SafetensorsTest, MissingTensorLookupNamesCheckpoint) {
    write_safetensors(dir_ / "model.safetensors", sample());
    auto ckpt = SafetensorsCheckpoint::open(dir_);
    EXPECT_THROW(ckpt.info("nope"), Error);
}

}  // namespace
}  // namespace qbench::io
