#pragma once
// The real Docker daemon for tests: unix:///var/run/docker.sock (or
// $LABELRUN_TEST_DOCKER_HOST), the small test image built when missing, and a
// janitor that removes every container a test labelled, even when it fails.
// Tests that need Docker never skip: without a daemon they fail and say how to
// start one.

#include <map>
#include <memory>
#include <string>

#include "labelrun/core/result.hpp"
#include "labelrun/runtime/docker.hpp"

namespace labelrun::testing {

// busybox-static, WORKDIR /workspace, PATH=/bin (tests/support/images/busybox.sh).
inline constexpr char kTestImage[] = "labelrun-test/busybox:1";

std::string TestDockerUrl();

// Connects to the test daemon; the error says how to start one.
Result<std::unique_ptr<runtime::DockerRuntime>> ConnectTestDocker(
    runtime::DockerOptions options = {});

// Builds kTestImage with tests/support/images/busybox.sh unless the daemon has
// it. Empty on success, else what went wrong.
std::string EnsureTestImage(runtime::Runtime& runtime);

// n random lower-case hex digits.
std::string RandomHex(size_t n);

// Owns a label unique to one test run ("labelrun.test=<random>"); the destructor
// removes every container carrying it.
class ContainerJanitor {
 public:
  explicit ContainerJanitor(runtime::Runtime& runtime);
  ~ContainerJanitor();
  ContainerJanitor(const ContainerJanitor&) = delete;
  ContainerJanitor& operator=(const ContainerJanitor&) = delete;

  const std::map<std::string, std::string>& labels() const { return labels_; }
  // "labelrun-test-<random>", unique per call.
  std::string NewName();
  // A spec for kTestImage running `sh -c script`, with this run's label.
  runtime::ContainerSpec Spec(const std::string& script);
  // Removes the labelled containers now; how many there were.
  int RemoveAll();

 private:
  runtime::Runtime& runtime_;
  std::map<std::string, std::string> labels_;
};

}  // namespace labelrun::testing
