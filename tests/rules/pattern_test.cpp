#include "labelrun/rules/pattern.hpp"

#include <gtest/gtest.h>

namespace labelrun::rules {
namespace {

TEST(PatternTest, MatchesTable) {
  struct Case {
    const char* pattern;
    const char* label;
    bool match;
  };
  for (const Case& c : {
           Case{"task:training", "task:training", true},
           Case{"task:training", "task:training2", false},
           Case{"task:*", "task:training", true},
           Case{"task:*", "task:", true},
           Case{"task:*", "gpu:required", false},
           Case{"*:required", "gpu:required", true},
           Case{"*:required", "gpu:requires", false},
           Case{"*", "anything:at-all", true},
           Case{"module:v?t", "module:vit", true},
           Case{"module:v?t", "module:vt", false},
           Case{"*:*", "bug", false},
           Case{"*:*", "a:b", true},
           Case{"m*e:*t", "module:vit", true},
           Case{"m*e:*t", "module:vis", false},
           Case{"a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
       }) {
    auto pattern = Pattern::Compile(c.pattern);
    ASSERT_TRUE(pattern) << c.pattern;
    EXPECT_EQ(pattern->Matches(c.label), c.match) << c.pattern << " vs " << c.label;
  }
}

TEST(PatternTest, Kinds) {
  EXPECT_EQ(Pattern::Compile("a:b")->kind(), Pattern::Kind::kExact);
  EXPECT_EQ(Pattern::Compile("a:*")->kind(), Pattern::Kind::kPrefix);
  EXPECT_EQ(Pattern::Compile("*:b")->kind(), Pattern::Kind::kSuffix);
  EXPECT_EQ(Pattern::Compile("**")->kind(), Pattern::Kind::kAny);
  EXPECT_EQ(Pattern::Compile("a*:b*")->kind(), Pattern::Kind::kGlob);
}

TEST(PatternTest, RejectsBadPatterns) {
  EXPECT_FALSE(Pattern::Compile(""));
  EXPECT_FALSE(Pattern::Compile("Task:*"));
  EXPECT_FALSE(Pattern::Compile("task:[ab]"));
  EXPECT_FALSE(Pattern::Compile(std::string(101, 'a')));
}

}  // namespace
}  // namespace labelrun::rules
