#pragma once
// A fixture for tests against the real daemon: one DockerRuntime per suite, the
// test image present, and a per-test janitor that removes every container the
// test created (they all carry its unique label), pass or fail.

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "labelrun/runtime/docker.hpp"
#include "support/docker_env.hpp"

namespace labelrun::runtime {

struct OwnedLine {
  LogStream stream = LogStream::kStdout;
  std::string timestamp;
  std::string text;
  bool truncated = false;
  bool redraw = false;
};

class DockerRuntimeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto connected = testing::ConnectTestDocker();
    if (!connected) {
      setup_error_ = connected.error().ToString();
      return;
    }
    runtime_ = std::move(*connected);
    setup_error_ = testing::EnsureTestImage(*runtime_);
  }
  static void TearDownTestSuite() { runtime_.reset(); }

  void SetUp() override {
    ASSERT_TRUE(runtime_ != nullptr && setup_error_.empty()) << setup_error_;
    janitor_.emplace(*runtime_);
  }
  void TearDown() override { janitor_.reset(); }

  DockerRuntime& rt() { return *runtime_; }
  testing::ContainerJanitor& janitor() { return *janitor_; }
  ContainerSpec Spec(const std::string& script) { return janitor_->Spec(script); }

  // Create, register the wait, start. The container id, or the first failure.
  Result<std::string> CreateAndStart(const ContainerSpec& spec,
                                     std::unique_ptr<PendingExit>* exit) {
    Result<std::string> id = rt().Create(spec);
    if (!id) return id;
    auto pending = rt().WaitNextExit(*id);
    if (!pending) return pending.error();
    *exit = std::move(*pending);
    if (Status st = rt().Start(*id); !st) return st.error();
    return id;
  }

  // Runs `spec` to its exit; its exit status code.
  Result<int64_t> RunToExit(const ContainerSpec& spec, std::string* id_out = nullptr) {
    std::unique_ptr<PendingExit> exit;
    Result<std::string> id = CreateAndStart(spec, &exit);
    if (!id) return id.error();
    if (id_out != nullptr) *id_out = *id;
    Result<ExitStatus> status = exit->Get();
    if (!status) return status.error();
    return status->status_code;
  }

  Result<std::vector<OwnedLine>> ReadLogs(const std::string& id, bool follow = false) {
    std::vector<OwnedLine> lines;
    Status st = rt().Logs(
        id, 0, follow,
        [&](const LogLine& l) {
          lines.push_back(
              {l.stream, std::string(l.timestamp), std::string(l.text), l.truncated, l.redraw});
          return true;
        },
        nullptr);
    if (!st) return st.error();
    return lines;
  }

  static std::vector<std::string> Texts(const std::vector<OwnedLine>& lines, LogStream stream) {
    std::vector<std::string> out;
    for (const OwnedLine& l : lines) {
      if (l.stream == stream) out.push_back(l.text);
    }
    return out;
  }

  static inline std::unique_ptr<DockerRuntime> runtime_;
  static inline std::string setup_error_;
  std::optional<testing::ContainerJanitor> janitor_;
};

}  // namespace labelrun::runtime
