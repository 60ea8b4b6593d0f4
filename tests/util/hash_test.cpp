#include <gtest/gtest.h>

#include "qbench/util/hash.hpp"

namespace qbench {

// FIPS 180-4 example vectors.
TEST(Sha256, MatchesPublishedVectors) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, IncrementalUpdatesEqualOneShot) {
    std::string data(1000, 'x');
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
    Sha256 h;
    for (std::size_t i = 0; i < data.size(); i += 37) h.update(std::string_view(data).substr(i, 37));
    EXPECT_EQ(h.finish_hex(), sha256_hex(data));
}

}  // namespace qbench
