#include "labelrun/app/rules_cli.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace labelrun::app {
namespace {

const std::string kSource = LABELRUN_SOURCE_DIR;

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("labelrun_rules_cli_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::ofstream(path_ / name) << text;
    return (path_ / name).string();
  }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(RulesCliTest, LabelsLintOnTheRealFile) {
  std::ostringstream out, err;
  EXPECT_EQ(RunLabelsLint(kSource + "/LABELS.md", out, err), 0) << out.str() << err.str();
  EXPECT_NE(out.str().find("17 labels, no problems"), std::string::npos) << out.str();
}

TEST(RulesCliTest, LabelsLintFailsOnErrorsAndMissingFiles) {
  TempDir dir;
  std::string file = dir.Write("LABELS.md", "### `bug`\n- **Meaning:** m\n- **Colour:** 000000\n");
  std::ostringstream out, err;
  EXPECT_EQ(RunLabelsLint(file, out, err), 1);
  EXPECT_NE(out.str().find(":1: error: `bug` is a vague name"), std::string::npos) << out.str();
  EXPECT_EQ(RunLabelsLint(file + ".missing", out, err), 2);
}

TEST(RulesCliTest, ConfigErrorsAreReportedWithKeyPaths) {
  TempDir dir;
  dir.Write("LABELS.md", "### `task:training`\n- **Meaning:** m\n- **Colour:** 000000\n");
  std::string config = dir.Write("labelrun.yaml", R"(
labels_file: LABELS.md
rules:
  - {name: a, when: {all: [task:trainng]}, job: {image: pytorch, command: [python]}}
)");
  auto loaded = LoadConfigRules(config);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(
      loaded.error().message(),
      "rules[0].when.all[0]: label 'task:trainng' is not in LABELS.md; did you mean "
      "'task:training'?\nrules[0].job.image: image 'pytorch' has no tag; pin a tag or digest");
  ExplainArgs args;
  args.config_file = config;
  std::ostringstream out, err;
  EXPECT_EQ(RunExplain(args, out, err), 1);
  EXPECT_NE(err.str().find("rules[0].job.image"), std::string::npos);
  args.permission = "overlord";
  EXPECT_EQ(RunExplain(args, out, err), 2);
}

TEST(RulesCliTest, BrokenLabelsFileAndYaml) {
  TempDir dir;
  dir.Write("LABELS.md", "### task:training\n");
  std::string config = dir.Write("a.yaml", "labels_file: LABELS.md\n");
  auto loaded = LoadConfigRules(config);
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().message().find("LABELS.md:1: error"), std::string::npos)
      << loaded.error().message();
  std::string bad = dir.Write("b.yaml", "rules: [unclosed\n");
  EXPECT_FALSE(LoadConfigRules(bad));
}

TEST(RulesCliTest, SimulateFromPayload) {
  SimulateArgs args;
  args.config_file = kSource + "/config/labelrun.example.yaml";
  args.payload_file = kSource + "/tests/rules/testdata/issues.labeled.training.json";
  args.json = true;
  std::ostringstream out, err;
  ASSERT_EQ(RunSimulate(args, out, err), 0) << err.str();
  auto json = nlohmann::json::parse(out.str());
  EXPECT_EQ(json["decision"], "dispatch");
  EXPECT_EQ(json["rule"], "train-on-gpu");
  EXPECT_EQ(json["job"]["env"]["LABELRUN_MODULE"], "vit");

  args.event = "issue_comment";
  args.payload_file = kSource + "/tests/rules/testdata/issue_comment.retry.json";
  args.permission = "read";
  std::ostringstream out2;
  ASSERT_EQ(RunSimulate(args, out2, err), 0) << err.str();
  EXPECT_EQ(nlohmann::json::parse(out2.str())["decision"], "deny");

  args.event = "push";
  EXPECT_EQ(RunSimulate(args, out2, err), 1);
}

}  // namespace
}  // namespace labelrun::app
