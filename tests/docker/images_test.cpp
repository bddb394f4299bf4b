// The image recipes under docker/: what can be checked without a registry.
// The training image's JupyterLab starter refuses to run without a strong token
// and never puts the token on the command line; the example training prints
// the metrics lines labelrun charts (its real run is the end-to-end test).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::filesystem::path kDocker = std::filesystem::path(LABELRUN_SOURCE_DIR) / "docker";

class JupyterStarterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A stand-in jupyter-lab that shows what it was started with.
    bin_ = dir_.Write("bin/jupyter-lab",
                      "#!/bin/sh\necho \"args: $*\"\necho \"token from env: ${#JUPYTER_TOKEN}\"\n");
    std::filesystem::permissions(bin_, std::filesystem::perms(0755));
  }
  int Start(const std::string& token, std::string* out, bool with_lab = true) {
    std::vector<std::string> argv = {
        "/usr/bin/env", "-i",
        "PATH=" + (with_lab ? (dir_ / "bin").string() + ":" : "") + "/usr/bin:/bin"};
    if (!token.empty()) argv.push_back("JUPYTER_TOKEN=" + token);
    argv.insert(argv.end(), {"/bin/sh", (kDocker / "training/labelrun-jupyter.sh").string()});
    return RunCommand(argv, out);
  }
  TempDir dir_;
  std::filesystem::path bin_;
};

TEST_F(JupyterStarterTest, RefusesToStartWithoutAStrongToken) {
  std::string out;
  EXPECT_EQ(Start("", &out), 2);
  EXPECT_THAT(out, HasSubstr("JUPYTER_TOKEN"));
  EXPECT_THAT(out, Not(HasSubstr("args:")));
  EXPECT_EQ(Start("short-token", &out), 2);
  EXPECT_THAT(out, Not(HasSubstr("args:")));
}

TEST_F(JupyterStarterTest, StartsWithTheTokenInTheEnvironmentOnly) {
  const std::string token = "0123456789abcdef0123456789abcdef01234567";
  std::string out;
  ASSERT_EQ(Start(token, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("--no-browser"));
  EXPECT_THAT(out, HasSubstr("--ServerApp.root_dir=/workspace"));
  EXPECT_THAT(out, HasSubstr("token from env: 40"));
  EXPECT_THAT(out, Not(HasSubstr(token)));
}

TEST_F(JupyterStarterTest, SaysSoWhenTheImageHasNoJupyterLab) {
  std::string out;
  EXPECT_EQ(Start("0123456789abcdef0123456789abcdef", &out, /*with_lab=*/false), 2);
  EXPECT_THAT(out, HasSubstr("WITH_JUPYTER=1"));
}

TEST(TrainingImageRecipe, IsPinnedAndRunsAsAnUnprivilegedUser) {
  std::ifstream in(kDocker / "training/Dockerfile");
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_THAT(text, HasSubstr("FROM pytorch/pytorch:2.8.0-cuda12.8-cudnn9-runtime\n"));
  EXPECT_TRUE(std::regex_search(text, std::regex("\nUSER trainer\n")));
  EXPECT_THAT(text, HasSubstr("COPY train.py"));
  EXPECT_TRUE(std::filesystem::exists(kDocker / "training/train.py"));
}

}  // namespace
}  // namespace labelrun::testing
