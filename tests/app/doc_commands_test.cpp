// The shell commands that README.md and docs/ mark as runnable (a ```sh runnable
// block) run as written: from a checkout, with `labelrun` on PATH and a
// `labelrun serve --dev` answering where the docs say (its port moved to a free
// one). Commands elsewhere carry no `...` placeholders.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::testing {
namespace {

namespace fs = std::filesystem;
const fs::path kSource = LABELRUN_SOURCE_DIR;

struct Block {
  std::string where;  // docs/jobs.md:27
  std::string info;   // "sh runnable"
  std::string text;
};

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every fenced block of README.md and docs/*.md.
std::vector<Block> FencedBlocks() {
  std::vector<fs::path> files = {kSource / "README.md"};
  for (const auto& entry : fs::directory_iterator(kSource / "docs")) {
    if (entry.path().extension() == ".md") files.push_back(entry.path());
  }
  std::vector<Block> blocks;
  for (const fs::path& file : files) {
    std::istringstream in(ReadText(file));
    std::string line;
    int number = 0;
    Block* open = nullptr;
    while (std::getline(in, line)) {
      ++number;
      if (line.rfind("```", 0) == 0) {
        if (open == nullptr) {
          blocks.push_back({fs::relative(file, kSource).string() + ":" + std::to_string(number),
                            line.substr(3), ""});
          open = &blocks.back();
        } else {
          open = nullptr;
        }
      } else if (open != nullptr) {
        open->text += line + "\n";
      }
    }
  }
  return blocks;
}

TEST(DocCommands, ShellCommandsHaveNoPlaceholders) {
  int shell = 0;
  for (const Block& b : FencedBlocks()) {
    if (b.info.rfind("sh", 0) != 0) continue;
    ++shell;
    EXPECT_THAT(b.text, ::testing::Not(::testing::HasSubstr("...")))
        << b.where << " shows a placeholder instead of a command";
  }
  EXPECT_GE(shell, 10);
}

class RunnableDocs : public ::testing::Test {
 protected:
  void SetUp() override {
    // A checkout's layout: what the commands name, with a state folder of its own.
    for (const char* name : {"config", "examples", "docker"}) {
      fs::create_directory_symlink(kSource / name, dir_ / name);
    }
    fs::create_symlink(kSource / "LABELS.md", dir_ / "LABELS.md");
    fs::create_directories(dir_ / "bin");
    fs::create_symlink(LABELRUN_BINARY, dir_ / "bin" / "labelrun");
    server_ = std::make_unique<Process>(
        std::vector<std::string>{"/bin/sh", "-c",
                                 "cd " + dir_.path().string() + " && exec " + LABELRUN_BINARY +
                                     " serve --dev --listen 127.0.0.1:0"},
        dir_ / "serve.log");
    static const std::regex kListening(R"(listening on http://127\.0\.0\.1:(\d+)/)");
    ASSERT_TRUE(WaitUntil(
        [&] {
          std::smatch m;
          const std::string log = ReadText(dir_ / "serve.log");
          if (!std::regex_search(log, m, kListening)) return false;
          port_ = m[1].str();
          return true;
        },
        std::chrono::seconds(20)))
        << ReadText(dir_ / "serve.log");
  }

  TempDir dir_;
  std::unique_ptr<Process> server_;
  std::string port_;
};

TEST_F(RunnableDocs, EveryRunnableBlockRunsAsWritten) {
  int runnable = 0;
  for (const Block& b : FencedBlocks()) {
    if (b.info != "sh runnable") continue;
    ++runnable;
    // The docs' address of a local labelrun is this test's server.
    const std::string script =
        std::regex_replace(b.text, std::regex("127\\.0\\.0\\.1:8080"), "127.0.0.1:" + port_);
    const fs::path work = dir_ / ("block" + std::to_string(runnable));
    fs::create_directories(work);
    for (const auto& entry : fs::directory_iterator(dir_.path())) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("block", 0) != 0 && name != "serve.log") {
        fs::create_symlink(entry.path(), work / name);
      }
    }
    std::string out;
    const int rc =
        RunCommand({"/bin/bash", "-euo", "pipefail", "-c", "cd " + work.string() + "\n" + script},
                   &out, {{"PATH", (dir_ / "bin").string() + ":/usr/local/bin:/usr/bin:/bin"}});
    EXPECT_EQ(rc, 0) << b.where << ":\n" << script << "\n" << out;
  }
  EXPECT_GE(runnable, 5);
  // The deliveries they sent reached labelrun and decided the demo job.
  std::string jobs;
  EXPECT_EQ(
      RunCommand({LABELRUN_BINARY, "jobs", "list", "--json", "--url", "http://127.0.0.1:" + port_,
                  "--token-file", (dir_ / "state" / "dev-api-token").string()},
                 &jobs),
      0)
      << jobs;
  EXPECT_THAT(jobs, ::testing::HasSubstr("\"rule\": \"demo-training\""));
}

}  // namespace
}  // namespace labelrun::testing
