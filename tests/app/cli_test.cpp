// The command line as ops meet it: --version, unknown subcommands named, flags
// that override the config file instead of being ignored, one CA flag name,
// `labelrun health` for a container's HEALTHCHECK, and the image's default
// command starting on its own.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "support/labelrun_process.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A loopback port held by a listening socket for the test's life.
class HeldPort {
 public:
  HeldPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 1), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~HeldPort() { ::close(fd_); }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// The port of "listening on http://HOST:PORT/..." in a log; 0 before it is there.
uint16_t ListeningPort(const std::filesystem::path& log) {
  static const std::regex kListening(R"(listening on https?://[^ ]+:(\d+)/)");
  std::smatch m;
  const std::string text = ReadText(log);
  return std::regex_search(text, m, kListening) ? static_cast<uint16_t>(std::stoi(m[1].str())) : 0;
}

TEST(Cli, VersionFlagAndUnknownSubcommandsNamed) {
  std::string flag, command;
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "--version"}, &flag), 0);
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "version"}, &command), 0);
  EXPECT_THAT(flag, ::testing::MatchesRegex("labelrun [0-9]+\\.[0-9]+\\.[0-9]+.*\n"));
  EXPECT_EQ(flag, command);

  std::string out;
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "frobnicate"}, &out), 2);
  EXPECT_THAT(out, HasSubstr("unknown subcommand 'frobnicate'"));
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "jobs", "--token-file", "/dev/null", "lsit"}, &out), 2);
  EXPECT_THAT(out, HasSubstr("labelrun jobs: unknown subcommand 'lsit'; the subcommands are: list "
                             "show cancel"));
  // An option's value is not a subcommand.
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "labels", "lint", "--file", "show"}, &out), 2);
  EXPECT_THAT(out, Not(HasSubstr("unknown subcommand")));
  EXPECT_THAT(out, HasSubstr("show: cannot open: No such file or directory"));
}

TEST(Cli, ListenAndStateDirOverrideTheConfigFile) {
  TempDir dir;
  HeldPort taken;
  dir.Write("secret", "cli-test-secret-0123456789abcdef\n");
  const auto config = dir.Write(
      "config.yaml", "state_dir: " + (dir / "file-state").string() +
                         "\nserver:\n  listen: 127.0.0.1:" + std::to_string(taken.port()) +
                         "\nwebhook:\n  secrets: [{file: " + (dir / "secret").string() + "}]\n");
  Process serve({LABELRUN_BINARY, "serve", "--config", config.string(), "--listen", "127.0.0.1:0",
                 "--state-dir", (dir / "flag-state").string()},
                dir / "b.log");
  ASSERT_TRUE(
      WaitUntil([&] { return ListeningPort(dir / "b.log") != 0; }, std::chrono::seconds(20)))
      << ReadText(dir / "b.log");
  EXPECT_NE(ListeningPort(dir / "b.log"), taken.port());
  EXPECT_TRUE(std::filesystem::exists(dir / "flag-state" / "labelrun.db"));
  EXPECT_FALSE(std::filesystem::exists(dir / "file-state" / "labelrun.db"));
  // As the file says, the port is taken: labelrun does not start.
  {
    Process as_filed({LABELRUN_BINARY, "serve", "--config", config.string()}, dir / "a.log");
    EXPECT_EQ(as_filed.Wait(std::chrono::seconds(20)), 1) << ReadText(dir / "a.log");
  }

  std::string out;
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "serve", "--config", config.string(), "--listen",
                        "127.0.0.1:99999"},
                       &out),
            2);
  EXPECT_THAT(out, HasSubstr("--listen"));
  EXPECT_THAT(out, HasSubstr("out of range"));
}

TEST(Cli, OneCaFileFlagAcrossSubcommands) {
  for (const char* command : {"deliver", "jobs", "health"}) {
    std::string out;
    EXPECT_EQ(RunCommand({LABELRUN_BINARY, command, "--help"}, &out), 0);
    EXPECT_THAT(out, HasSubstr("--ca-file")) << command;
  }
}

TEST(Cli, HealthSaysWhetherLabelrunAnswers) {
  TempDir dir;
  LabelrunProcess labelrun(dir, {});
  ASSERT_TRUE(labelrun.WaitReady()) << labelrun.Log();
  std::string out;
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "health", "--url", labelrun.Url("/healthz")}, &out), 0)
      << out;
  EXPECT_THAT(out, HasSubstr(" 200 "));
  // A path that is not 2xx, and a labelrun that is gone.
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "health", "--url", labelrun.Url("/nope")}, &out), 1);
  EXPECT_THAT(out, HasSubstr("answered 404"));
  const std::string url = labelrun.Url("/healthz");
  labelrun.process().Signal(SIGKILL);
  labelrun.process().Wait(std::chrono::seconds(10));
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "health", "--url", url, "--timeout", "2"}, &out), 1);
  EXPECT_THAT(out, HasSubstr(url));
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "health", "--url", "ftp://x/healthz"}, &out), 2);
}

// The container image's default command starts labelrun without any mounted
// file, and its HEALTHCHECK runs `labelrun health` (the image has no curl).
TEST(ContainerImageRecipe, DefaultCommandStartsAndTheHealthCheckPasses) {
  const std::string recipe =
      ReadText(std::filesystem::path(LABELRUN_SOURCE_DIR) / "docker/Dockerfile");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(recipe, m, std::regex("\nCMD (\\[[^\n]*\\])\n"))) << recipe;
  std::vector<std::string> argv = {LABELRUN_BINARY};
  for (const auto& arg : nlohmann::json::parse(m[1].str())) argv.push_back(arg);
  ASSERT_TRUE(std::regex_search(recipe, m, std::regex("\n  CMD (\\[[^\n]*\\])\n"))) << recipe;
  std::vector<std::string> health = {LABELRUN_BINARY};
  for (const auto& arg : nlohmann::json::parse(m[1].str())) health.push_back(arg);
  ASSERT_GE(health.size(), 4u);
  EXPECT_EQ(health[1], "/usr/local/bin/labelrun");
  health.erase(health.begin() + 1);
  EXPECT_THAT(recipe, HasSubstr("HEALTHCHECK "));
  EXPECT_THAT(recipe, HasSubstr("ARG DEBIAN_MIRROR="));

  // What the image runs, with its folder and port moved into the test's.
  TempDir dir;
  for (size_t i = 1; i + 1 < argv.size(); ++i) {
    if (argv[i] == "--state-dir") argv[i + 1] = (dir / "state").string();
    if (argv[i] == "--listen") {
      EXPECT_EQ(argv[i + 1], "0.0.0.0:8080");
      argv[i + 1] = "127.0.0.1:0";
    }
  }
  Process serve(argv, dir / "serve.log");
  ASSERT_TRUE(
      WaitUntil([&] { return ListeningPort(dir / "serve.log") != 0; }, std::chrono::seconds(20)))
      << ReadText(dir / "serve.log");
  const std::string log = ReadText(dir / "serve.log");
  EXPECT_THAT(log, HasSubstr("comments are kept locally"));
  EXPECT_THAT(log, Not(HasSubstr("decisions are only logged")));
  health.back() =
      "http://127.0.0.1:" + std::to_string(ListeningPort(dir / "serve.log")) + "/healthz";
  std::string out;
  EXPECT_EQ(RunCommand(health, &out), 0) << out;
}

TEST(Cli, CheckConfigWarnsOfRulesThatCannotRunAndSaysWhyAFileCannotBeRead) {
  TempDir dir;
  dir.Write("secret", "cli-test-secret-0123456789abcdef\n");
  const std::string head = "webhook:\n  secrets: [{file: " + (dir / "secret").string() +
                           "}]\nlabels_file: " LABELRUN_SOURCE_DIR "/LABELS.md\n";
  const auto gpu =
      dir.Write("gpu.yaml", head +
                                "hosts:\n  - {name: cpu-only, docker: unix:///var/run/docker.sock, "
                                "defaults: {memory: 1g}}\n"
                                "rules:\n  - name: train\n    when: {all: [task:training]}\n"
                                "    job: {image: \"x:1\", command: [x], gpus: 2, memory: 1g}\n");
  std::string out;
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "check-config", "--config", gpu.string()}, &out), 0)
      << out;
  EXPECT_THAT(out, HasSubstr("rules[0].job.gpus: rule 'train' asks for 2 GPU(s) but no host has "
                             "GPUs"));
  const auto none = dir.Write("none.yaml", head);
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "check-config", "--config", none.string()}, &out), 0)
      << out;
  EXPECT_THAT(out, HasSubstr("rules: no rules"));
  // A GPU host: no warning.
  const auto with_gpus = dir.Write(
      "with-gpus.yaml", head +
                            "hosts:\n  - {name: gpu-1, docker: unix:///var/run/docker.sock, "
                            "gpus: [\"0\", \"1\"], defaults: {memory: 1g}}\n"
                            "rules:\n  - name: train\n    when: {all: [task:training]}\n"
                            "    job: {image: \"x:1\", command: [x], gpus: 2, memory: 1g}\n");
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "check-config", "--config", with_gpus.string()}, &out), 0)
      << out;
  EXPECT_THAT(out, Not(HasSubstr("no host has GPUs")));

  const auto missing =
      dir.Write("missing.yaml", head + "api: {token_file: " + (dir / "no-token").string() + "}\n");
  EXPECT_EQ(RunCommand({LABELRUN_BINARY, "check-config", "--config", missing.string()}, &out), 1);
  EXPECT_THAT(out, HasSubstr("api.token_file: cannot read " + (dir / "no-token").string() +
                             ": No such file or directory"));
}

}  // namespace
}  // namespace labelrun::testing
