#pragma once
// A Runtime that connects to its Docker daemon when first needed and again
// after losing it, so that labelrun starts, and keeps its queue, while a host's
// daemon is down: calls fail with kUnavailable until it answers again.

#include <memory>
#include <mutex>

#include "labelrun/runtime/docker.hpp"

namespace labelrun::runtime {

class ReconnectingDocker final : public Runtime {
 public:
  ReconnectingDocker(DockerEndpoint endpoint, DockerOptions options = {});

  Result<std::string> ApiVersion() override;
  Result<std::string> ImageId(const std::string& image) override;
  Result<std::string> ImageDigest(const std::string& image) override;
  Status Pull(const std::string& image, const std::atomic<bool>* cancelled) override;
  Result<std::string> Create(const ContainerSpec& spec) override;
  Status CopyIn(const std::string& id, const std::string& dir, std::string_view tar_gz) override;
  Result<CopiedOut> CopyOut(const std::string& id, const std::string& path,
                            const std::filesystem::path& tar_file, uint64_t max_bytes) override;
  Result<std::unique_ptr<PendingExit>> WaitNextExit(const std::string& id) override;
  Status Start(const std::string& id) override;
  Result<bool> Stop(const std::string& id, std::chrono::seconds grace) override;
  Status Remove(const std::string& id) override;
  Result<ContainerState> Inspect(const std::string& id) override;
  Result<std::vector<ContainerSummary>> List(
      const std::map<std::string, std::string>& labels) override;
  Status Logs(const std::string& id, int64_t since_unix, bool follow, const LogCallback& on_line,
              const std::atomic<bool>* stop) override;
  Result<ExecOutput> Exec(const std::string& id, const std::vector<std::string>& cmd) override;

 private:
  // The connected client, connecting first when needed.
  Result<std::shared_ptr<DockerRuntime>> Get();
  // Forgets the client after a call found the daemon unreachable, so the next
  // call negotiates again (the daemon may have been upgraded meanwhile).
  template <typename R>
  R Forget(R result);

  const DockerEndpoint endpoint_;
  const DockerOptions options_;
  std::mutex mu_;
  std::shared_ptr<DockerRuntime> docker_;
};

}  // namespace labelrun::runtime
