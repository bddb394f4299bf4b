#include "support/docker_env.hpp"

#include <cstdlib>
#include <random>

#include "support/process.hpp"

namespace labelrun::testing {

std::string TestDockerUrl() {
  const char* host = std::getenv("LABELRUN_TEST_DOCKER_HOST");
  return host != nullptr && *host != '\0' ? host : "unix:///var/run/docker.sock";
}

Result<std::unique_ptr<runtime::DockerRuntime>> ConnectTestDocker(runtime::DockerOptions options) {
  auto runtime = runtime::DockerRuntime::Connect({TestDockerUrl(), "", "", ""}, options);
  if (!runtime) {
    return Unexpected(runtime.error().code(),
                      runtime.error().message() +
                          " -- these tests need a Docker daemon: run scripts/start-dockerd.sh "
                          "(or set LABELRUN_TEST_DOCKER_HOST)");
  }
  return runtime;
}

std::string EnsureTestImage(runtime::Runtime& runtime) {
  Result<std::string> id = runtime.ImageId(kTestImage);
  if (id) return {};
  if (id.error().code() != ErrorCode::kNotFound) return id.error().ToString();
  std::string output;
  int rc = RunCommand(
      {"/bin/bash", std::string(LABELRUN_SOURCE_DIR) + "/tests/support/images/busybox.sh",
       kTestImage},
      &output);
  if (rc != 0)
    return "tests/support/images/busybox.sh failed (" + std::to_string(rc) + "): " + output;
  return {};
}

std::string RandomHex(size_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) out += kHex[rng() % 16];
  return out;
}

ContainerJanitor::ContainerJanitor(runtime::Runtime& runtime)
    : runtime_(runtime), labels_{{"labelrun.test", RandomHex(12)}} {}

ContainerJanitor::~ContainerJanitor() { RemoveAll(); }

std::string ContainerJanitor::NewName() { return "labelrun-test-" + RandomHex(16); }

runtime::ContainerSpec ContainerJanitor::Spec(const std::string& script) {
  runtime::ContainerSpec spec;
  spec.name = NewName();
  spec.image = kTestImage;
  spec.cmd = {"sh", "-c", script};
  spec.labels = labels_;
  return spec;
}

int ContainerJanitor::RemoveAll() {
  auto list = runtime_.List(labels_);
  if (!list) return 0;
  for (const runtime::ContainerSummary& c : *list) (void)runtime_.Remove(c.id);
  return static_cast<int>(list->size());
}

}  // namespace labelrun::testing
