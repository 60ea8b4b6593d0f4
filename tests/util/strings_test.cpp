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

TEST(Strings, SplitKeepsEmptyFields) {
    auto parts = split("a,,b,", ',');
    ASSERT_EQ(parts.size(), 4u);
    EXPECT_EQ(parts[1], "");
    EXPECT_EQ(parts[3], "");
}

}  // namespace qbench
