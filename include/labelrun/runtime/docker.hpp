#pragma once
// The Docker Engine API behind runtime::Runtime: libcurl over the daemon's unix
// socket, or over TCP with TLS client certificates (both sides verified).
//
// Thread safety: every DockerRuntime method may be called from many threads at
// once. Each call uses its own connection; streams (logs, wait, pull, exec) hold
// theirs for as long as they run. Calls block: run them on worker threads.
// REQUIRES: a DockerRuntime outlives the PendingExits it returned.

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "labelrun/core/result.hpp"
#include "labelrun/runtime/log_decoder.hpp"
#include "labelrun/runtime/runtime.hpp"

namespace labelrun::runtime {

// Where a daemon listens: "unix:///var/run/docker.sock", or "tcp://host:port"
// with TLS client certificates (PEM files).
struct DockerEndpoint {
  std::string url;
  std::string ca_file;    // the CA that signed the daemon's certificate
  std::string cert_file;  // this client's certificate
  std::string key_file;   // its private key: never logged
};

// Validates an endpoint. unix:// needs an absolute socket path (at most 107
// bytes) and no TLS files; tcp:// needs a host, a port and all three TLS files,
// each readable. kInvalidArgument with a message naming what is wrong.
Result<DockerEndpoint> ParseDockerEndpoint(std::string_view url, std::string_view ca_file = {},
                                           std::string_view cert_file = {},
                                           std::string_view key_file = {});

// Numeric, part by part ("1.9" < "1.41"): -1, 0 or 1. Unparsable parts count as 0.
int CompareApiVersions(std::string_view a, std::string_view b);

// An image reference as POST /images/create wants it: fromImage and tag, where
// the tag is a tag ("1.2") or a digest ("sha256:..."). A registry host with a port
// stays in from_image ("localhost:5000/team/img:2" -> "localhost:5000/team/img",
// "2"). No tag and no digest gives tag "latest".
struct ImageReference {
  std::string from_image;
  std::string tag;
};
Result<ImageReference> SplitImageReference(std::string_view image);

struct DockerOptions {
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(5)};
  // Limit for control calls (create, start, inspect, ...). Stop adds its grace;
  // streams (logs, wait, pull) have none.
  std::chrono::milliseconds call_timeout{std::chrono::seconds(60)};
  // Limit for CopyIn and CopyOut, which move whole archives.
  std::chrono::milliseconds copy_timeout{std::chrono::minutes(10)};
  // The newest API version this client speaks, and the oldest it needs
  // (DeviceRequests came in 1.40).
  std::string max_api_version = "1.45";
  std::string min_api_version = "1.40";
  // Skips GET /version at Connect and uses this version (one negotiated earlier,
  // say). A daemon that refuses it ("too old"/"too new") triggers a negotiation.
  std::string assumed_api_version;
  size_t max_log_line_bytes = kDefaultMaxLogLineBytes;
  size_t max_exec_output_bytes = size_t{1} << 20;  // per stream
  // The json-file log options of created containers: rotation bounds the disk a
  // chatty job can fill. Keep it well above a job's expected output: Docker
  // 20.10's logs?follow=1 delivers nothing written after the first rotation
  // (seen with 100m: `docker logs -f` stopped at the end of the first file,
  // without an error), while follow=0 still reads every file.
  std::string log_max_size = "1g";
  int log_max_files = 2;
};

// src/runtime/docker_http.hpp
class DockerHttp;
struct HttpCall;
struct HttpReply;

class DockerRuntime final : public Runtime {
 public:
  // Validates `endpoint` (see ParseDockerEndpoint), then negotiates the API
  // version: GET /version, v = min(max_api_version, ApiVersion); refused
  // (kFailedPrecondition) when v is below the daemon's MinAPIVersion or below
  // min_api_version. kUnavailable when the daemon cannot be reached.
  static Result<std::unique_ptr<DockerRuntime>> Connect(const DockerEndpoint& endpoint,
                                                        DockerOptions options = {});
  ~DockerRuntime() override;

  const DockerEndpoint& endpoint() const;

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

  // Decodes the multiplexed stream of a container created without a TTY (as
  // Create makes them); lines over max_log_line_bytes are cut. A broken
  // connection is kUnavailable; a daemon error inside the stream kInternal.
  Status Logs(const std::string& id, int64_t since_unix, bool follow, const LogCallback& on_line,
              const std::atomic<bool>* stop) override;

  Result<ExecOutput> Exec(const std::string& id, const std::vector<std::string>& cmd) override;

 private:
  DockerRuntime(std::unique_ptr<DockerHttp> http, DockerOptions options);
  Status Negotiate();
  std::string CurrentVersion();
  // Performs a call with the negotiated version prefix; on a 400 refusing that
  // version, negotiates once more and repeats it.
  Result<HttpReply> Perform(HttpCall& call);
  // Perform; a non-2xx status becomes Docker's error, prefixed with call.what.
  Result<HttpReply> PerformOk(HttpCall& call);

  std::unique_ptr<DockerHttp> http_;
  DockerOptions options_;
  std::mutex mu_;
  std::string api_version_;  // guarded by mu_
};

}  // namespace labelrun::runtime
