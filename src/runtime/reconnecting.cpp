#include "labelrun/runtime/reconnecting.hpp"

namespace labelrun::runtime {

ReconnectingDocker::ReconnectingDocker(DockerEndpoint endpoint, DockerOptions options)
    : endpoint_(std::move(endpoint)), options_(std::move(options)) {}

Result<std::shared_ptr<DockerRuntime>> ReconnectingDocker::Get() {
  std::lock_guard lock(mu_);
  if (docker_) return docker_;
  Result<std::unique_ptr<DockerRuntime>> connected = DockerRuntime::Connect(endpoint_, options_);
  if (!connected) return connected.error();
  docker_ = std::shared_ptr<DockerRuntime>(std::move(*connected));
  return docker_;
}

template <typename R>
R ReconnectingDocker::Forget(R result) {
  if (!result && result.error().code() == ErrorCode::kUnavailable) {
    std::lock_guard lock(mu_);
    docker_.reset();
  }
  return result;
}

#define LABELRUN_FORWARD(call)        \
  auto docker = Get();                \
  if (!docker) return docker.error(); \
  return Forget((*docker)->call)

Result<std::string> ReconnectingDocker::ApiVersion() { LABELRUN_FORWARD(ApiVersion()); }
Result<std::string> ReconnectingDocker::ImageId(const std::string& image) {
  LABELRUN_FORWARD(ImageId(image));
}
Result<std::string> ReconnectingDocker::ImageDigest(const std::string& image) {
  LABELRUN_FORWARD(ImageDigest(image));
}
Status ReconnectingDocker::Pull(const std::string& image, const std::atomic<bool>* cancelled) {
  LABELRUN_FORWARD(Pull(image, cancelled));
}
Result<std::string> ReconnectingDocker::Create(const ContainerSpec& spec) {
  LABELRUN_FORWARD(Create(spec));
}
Status ReconnectingDocker::CopyIn(const std::string& id, const std::string& dir,
                                  std::string_view tar_gz) {
  LABELRUN_FORWARD(CopyIn(id, dir, tar_gz));
}
Result<CopiedOut> ReconnectingDocker::CopyOut(const std::string& id, const std::string& path,
                                              const std::filesystem::path& tar_file,
                                              uint64_t max_bytes) {
  LABELRUN_FORWARD(CopyOut(id, path, tar_file, max_bytes));
}
Result<std::unique_ptr<PendingExit>> ReconnectingDocker::WaitNextExit(const std::string& id) {
  LABELRUN_FORWARD(WaitNextExit(id));
}
Status ReconnectingDocker::Start(const std::string& id) { LABELRUN_FORWARD(Start(id)); }
Result<bool> ReconnectingDocker::Stop(const std::string& id, std::chrono::seconds grace) {
  LABELRUN_FORWARD(Stop(id, grace));
}
Status ReconnectingDocker::Remove(const std::string& id) { LABELRUN_FORWARD(Remove(id)); }
Result<ContainerState> ReconnectingDocker::Inspect(const std::string& id) {
  LABELRUN_FORWARD(Inspect(id));
}
Result<std::vector<ContainerSummary>> ReconnectingDocker::List(
    const std::map<std::string, std::string>& labels) {
  LABELRUN_FORWARD(List(labels));
}
Status ReconnectingDocker::Logs(const std::string& id, int64_t since_unix, bool follow,
                                const LogCallback& on_line, const std::atomic<bool>* stop) {
  LABELRUN_FORWARD(Logs(id, since_unix, follow, on_line, stop));
}
Result<ExecOutput> ReconnectingDocker::Exec(const std::string& id,
                                            const std::vector<std::string>& cmd) {
  LABELRUN_FORWARD(Exec(id, cmd));
}

#undef LABELRUN_FORWARD

}  // namespace labelrun::runtime
