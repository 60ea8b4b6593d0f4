#include <gtest/gtest.h>

#include "qbench/util/strings.hpp"

namespace qbench {

TEST(Strings, SuggestsCloseMisspelling) {
    std::vector<std::string> keys{"perplexity", "variants", "output_dir"};
    EXPECT_EQ(closest_match("perplexty", keys).value(), "perplexity");
    EXPECT_EQ(closest_match("variant", keys).value(), "variants");
    EXPECT_FALSE(closest_match("zzz", keys).has_value());
    EXPECT_EQ(did_you_mean("zzz", keys), "");
}

TEST(Strings, FirstInvalidUtf8FindsTheFirstBadByte) {
    EXPECT_FALSE(first_invalid_utf8("").has_value());
    EXPECT_FALSE(first_invalid_utf8("plain \xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80").has_value());
    EXPECT_EQ(first_invalid_utf8("ab\xff"), 2u);           // not a lead byte
    EXPECT_EQ(first_invalid_utf8("a\xc3"), 1u);            // truncated
    EXPECT_EQ(first_invalid_utf8("a\xc3("), 1u);           // no continuation
    EXPECT_EQ(first_invalid_utf8("\xc0\xaf"), 0u);         // overlong '/'
    EXPECT_EQ(first_invalid_utf8("x\xed\xa0\x80"), 1u);    // a surrogate
    EXPECT_EQ(first_invalid_utf8("\xf4\x90\x80\x80"), 0u); // above U+10FFFF
}

TEST(Strings, SplitKeepsEmptyFields) {
    auto parts = split("a,,b,", ',');
    ASSERT_EQ(parts.size(), 4u);
    EXPECT_EQ(parts[1], "");
    EXPECT_EQ(parts[3], "");
}

}  // namespace qbench
