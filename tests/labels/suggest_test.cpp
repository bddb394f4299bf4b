#include "labelrun/labels/suggest.hpp"

#include <gtest/gtest.h>

namespace labelrun::labels {
namespace {

Dictionary MakeDictionary() {
  std::vector<LabelInfo> labels;
  for (const char* name : {"task:training", "task:inference", "gpu:required", "env:gpu", "env:cpu",
                           "module:vit", "module:resnet", "status:done", "priority:high"}) {
    LabelInfo info;
    info.name = name;
    info.meaning = "m";
    info.colour = "000000";
    labels.push_back(std::move(info));
  }
  return Dictionary(std::move(labels));
}

TEST(SuggestTest, NearMisses) {
  const Dictionary dictionary = MakeDictionary();
  struct Case {
    const char* label;
    const char* expected;  // nullptr: no suggestion
  };
  for (const Case& c : {
           Case{"gpurequired", "gpu:required"},
           Case{"gpu-required", "gpu:required"},
           Case{"GPU:Required", "gpu:required"},
           Case{"gpu:requried", "gpu:required"},
           Case{"gpu_required", "gpu:required"},
           Case{"gpu:require", "gpu:required"},
           Case{"task:trainig", "task:training"},
           Case{"Task Training", "task:training"},
           Case{"module:vitt", "module:vit"},
           Case{"bug", nullptr},
           Case{"help", nullptr},
           Case{"documentation", nullptr},
           Case{"gpu:required", nullptr},  // known: nothing to suggest
           Case{"", nullptr},
           Case{"x", nullptr},
       }) {
    auto suggestion = Suggest(dictionary, c.label);
    if (c.expected == nullptr) {
      EXPECT_FALSE(suggestion.has_value()) << c.label << " -> " << suggestion.value_or("");
    } else {
      EXPECT_EQ(suggestion.value_or("<none>"), c.expected) << c.label;
    }
  }
}

TEST(SuggestTest, MemberForm) {
  EXPECT_EQ(MakeDictionary().Suggest("gpurequired"), "gpu:required");
  EXPECT_EQ(MakeDictionary().Suggest("bug"), std::nullopt);
}

TEST(SuggestTest, LongInputsAreBounded) {
  EXPECT_FALSE(Suggest(MakeDictionary(), std::string(10000, 'g')).has_value());
}

}  // namespace
}  // namespace labelrun::labels
