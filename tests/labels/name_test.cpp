#include "labelrun/labels/name.hpp"

#include <gtest/gtest.h>

namespace labelrun::labels {
namespace {

TEST(NameTest, Grammar) {
  struct Case {
    const char* name;
    bool valid;
  };
  for (const Case& c :
       {Case{"task:training", true}, Case{"status:in-progress", true}, Case{"python:3.12", true},
        Case{"a:b", true}, Case{"bug", false}, Case{"GPU:required", false}, Case{"gpu:", false},
        Case{":gpu", false}, Case{"gpu:required:x", false}, Case{"gpu:-x", false},
        Case{"gpu:re quired", false}, Case{"gpu_x:y", false}, Case{"", false},
        Case{"x:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false}}) {
    EXPECT_EQ(IsValidName(c.name), c.valid) << c.name << ": " << NameProblem(c.name);
  }
}

TEST(NameTest, VagueAndNormalize) {
  EXPECT_TRUE(IsVagueName("bug"));
  EXPECT_TRUE(IsVagueName("Urgent"));
  EXPECT_FALSE(IsVagueName("kind:bug"));
  EXPECT_EQ(NormalizeName("GPU:Required"), "gpurequired");
  EXPECT_EQ(NormalizeName("gpu-required"), "gpurequired");
  EXPECT_EQ(CategoryOf("module:vit"), "module");
  EXPECT_EQ(KeyOf("module:vit"), "vit");
  EXPECT_EQ(KeyOf("bug"), "");
}

}  // namespace
}  // namespace labelrun::labels
