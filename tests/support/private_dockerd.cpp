#include "support/private_dockerd.hpp"

#include <csignal>
#include <thread>

#include "support/docker_env.hpp"

namespace labelrun::testing {

using namespace std::chrono_literals;

PrivateDockerd::PrivateDockerd() = default;

PrivateDockerd::~PrivateDockerd() { (void)Stop(); }

std::string PrivateDockerd::url() const {
  return "unix://" + (dir_.path() / "docker.sock").string();
}

std::string PrivateDockerd::Log() const { return ReadFile(dir_.path() / "dockerd.log"); }

std::string PrivateDockerd::Docker(const std::vector<std::string>& args,
                                   std::string* output) const {
  std::vector<std::string> argv = {"/usr/bin/docker", "-H", url()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  const int rc = RunCommand(argv, &out);
  if (output != nullptr) *output = out;
  return rc == 0 ? "" : "docker " + args.front() + " failed (" + std::to_string(rc) + "): " + out;
}

std::string PrivateDockerd::Start() {
  if (daemon_ && daemon_->running()) return "";
  const std::filesystem::path d = dir_.path();
  std::filesystem::create_directories(d / "data");
  std::filesystem::create_directories(d / "exec");
  // Its own network namespace (unshare execs dockerd: same pid): a dockerd
  // started with --bridge=none deletes any interface named docker0 in its
  // namespace, which in the machine's would be the machine daemon's bridge.
  // vfs: no overlay mounts, whatever file system the temp folder is on.
  daemon_ = std::make_unique<Process>(
      std::vector<std::string>{"/usr/bin/unshare", "--net", "--", "/usr/sbin/dockerd", "--host",
                               url(), "--data-root", (d / "data").string(), "--exec-root",
                               (d / "exec").string(), "--pidfile", (d / "dockerd.pid").string(),
                               "--bridge=none", "--iptables=false", "--ip6tables=false",
                               "--storage-driver=vfs"},
      d / "dockerd.log");
  bool up = false;
  for (int i = 0; i < 120 && !up; ++i) {
    if (!daemon_->running()) return "the private dockerd exited; its log:\n" + Log();
    up = Docker({"version", "--format", "{{.Server.APIVersion}}"}).empty();
    if (!up) std::this_thread::sleep_for(250ms);
  }
  if (!up) return "the private dockerd did not answer within 30s; its log:\n" + Log();
  if (!image_loaded_) {
    std::string out;
    const int rc = RunCommand({"/bin/sh", "-c",
                               std::string("/usr/bin/docker save ") + kTestImage +
                                   " | /usr/bin/docker -H '" + url() + "' load"},
                              &out);
    if (rc != 0) return "could not load " + std::string(kTestImage) + ": " + out;
    image_loaded_ = true;
  }
  return "";
}

std::string PrivateDockerd::Stop() {
  if (!daemon_) return "";
  if (daemon_->running()) {
    daemon_->Signal(SIGTERM);
    if (!daemon_->Wait(60s)) {
      daemon_->Signal(SIGKILL);
      (void)daemon_->Wait(10s);
      daemon_.reset();
      return "the private dockerd did not stop within 60s of SIGTERM";
    }
  }
  daemon_.reset();
  return "";
}

std::string PrivateDockerd::Restart() {
  if (std::string e = Stop(); !e.empty()) return e;
  return Start();
}

}  // namespace labelrun::testing
