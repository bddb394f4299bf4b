// DockerRuntime: connecting, version negotiation and the control calls.
// Streams (logs, wait, pull, exec) are in docker_streams.cpp.

#include <spdlog/spdlog.h>

#include <cstdio>

#include "labelrun/runtime/docker.hpp"
#include "runtime/docker_api.hpp"
#include "runtime/docker_http.hpp"
#include "runtime/tar_cap.hpp"

namespace labelrun::runtime {

Result<std::unique_ptr<DockerRuntime>> DockerRuntime::Connect(const DockerEndpoint& endpoint,
                                                              DockerOptions options) {
  Result<DockerEndpoint> checked =
      ParseDockerEndpoint(endpoint.url, endpoint.ca_file, endpoint.cert_file, endpoint.key_file);
  if (!checked) return checked.error();
  auto http = std::make_unique<DockerHttp>(std::move(*checked), options.connect_timeout);
  std::unique_ptr<DockerRuntime> runtime(new DockerRuntime(std::move(http), std::move(options)));
  if (runtime->options_.assumed_api_version.empty()) {
    if (Status st = runtime->Negotiate(); !st) return st.error();
  } else {
    runtime->api_version_ = runtime->options_.assumed_api_version;
  }
  return runtime;
}

DockerRuntime::DockerRuntime(std::unique_ptr<DockerHttp> http, DockerOptions options)
    : http_(std::move(http)), options_(std::move(options)) {}

DockerRuntime::~DockerRuntime() = default;

const DockerEndpoint& DockerRuntime::endpoint() const { return http_->endpoint(); }

Status DockerRuntime::Negotiate() {
  HttpCall call;
  call.method = "GET";
  call.path = "/version";
  call.timeout = options_.call_timeout;
  call.what = "GET /version";
  Result<HttpReply> reply = http_->Perform(call);
  if (!reply) return reply.error();
  if (reply->status != 200) return DockerError(reply->status, reply->body, call.what);
  Result<DaemonVersion> daemon = ParseDaemonVersion(reply->body);
  if (!daemon) return daemon.error();
  Result<std::string> chosen = ChooseApiVersion(*daemon, options_);
  if (!chosen) {
    return Unexpected(chosen.error().code(),
                      "docker at " + endpoint().url + ": " + chosen.error().message());
  }
  std::lock_guard lock(mu_);
  api_version_ = std::move(*chosen);
  return Ok();
}

std::string DockerRuntime::CurrentVersion() {
  std::lock_guard lock(mu_);
  return api_version_;
}

Result<HttpReply> DockerRuntime::Perform(HttpCall& call) {
  for (int attempt = 0;; ++attempt) {
    call.version = CurrentVersion();
    Result<HttpReply> reply = http_->Perform(call);
    if (!reply || attempt > 0 || reply->status != 400) return reply;
    std::string message = DockerErrorMessage(reply->status, reply->body);
    if (!IsApiVersionRefusal(reply->status, message)) return reply;
    spdlog::warn("docker at {} refused API {} ({}); negotiating again", endpoint().url,
                 call.version, message);
    if (Status st = Negotiate(); !st) return st.error();
  }
}

Result<HttpReply> DockerRuntime::PerformOk(HttpCall& call) {
  Result<HttpReply> reply = Perform(call);
  if (!reply) return reply;
  if (!reply->aborted && (reply->status < 200 || reply->status > 299)) {
    return DockerError(reply->status, reply->body, call.what);
  }
  return reply;
}

namespace {

HttpCall Control(std::string method, std::string path, std::string what,
                 const DockerOptions& options) {
  HttpCall call;
  call.method = std::move(method);
  call.path = std::move(path);
  call.what = std::move(what);
  call.timeout = options.call_timeout;
  return call;
}

}  // namespace

Result<std::string> DockerRuntime::ApiVersion() { return CurrentVersion(); }

Result<std::string> DockerRuntime::ImageId(const std::string& image) {
  if (auto ref = SplitImageReference(image); !ref) return ref.error();
  HttpCall call = Control("GET", "/images/" + image + "/json", "inspect image " + image, options_);
  Result<HttpReply> reply = PerformOk(call);
  if (!reply) return reply.error();
  return ParseImageId(reply->body);
}

Result<std::string> DockerRuntime::ImageDigest(const std::string& image) {
  if (auto ref = SplitImageReference(image); !ref) return ref.error();
  HttpCall call = Control("GET", "/images/" + image + "/json", "inspect image " + image, options_);
  Result<HttpReply> reply = PerformOk(call);
  if (!reply) return reply.error();
  return ParseImageDigest(reply->body, image);
}

Result<std::string> DockerRuntime::Create(const ContainerSpec& spec) {
  Result<std::string> body = CreateContainerBody(spec, options_);
  if (!body) return body.error();
  HttpCall call = Control("POST", "/containers/create?name=" + UrlEncode(spec.name),
                          "create container " + spec.name, options_);
  call.body = *body;
  Result<HttpReply> reply = PerformOk(call);
  if (!reply) return reply.error();
  return ParseCreatedId(reply->body);
}

Status DockerRuntime::CopyIn(const std::string& id, const std::string& dir,
                             std::string_view tar_gz) {
  if (Status st = CheckContainerRef(id); !st) return st;
  HttpCall call = Control("PUT", "/containers/" + id + "/archive?path=" + UrlEncode(dir),
                          "copy into " + id + ":" + dir, options_);
  call.body = tar_gz;
  call.content_type = "application/x-tar";
  call.timeout = options_.copy_timeout;
  Result<HttpReply> reply = PerformOk(call);
  if (!reply) return reply.error();
  return Ok();
}

Result<CopiedOut> DockerRuntime::CopyOut(const std::string& id, const std::string& path,
                                         const std::filesystem::path& tar_file,
                                         uint64_t max_bytes) {
  if (Status st = CheckContainerRef(id); !st) return st.error();
  FILE* out = std::fopen(tar_file.c_str(), "w+b");  // read back by the sink's Finish
  if (out == nullptr) {
    return Unexpected(ErrorCode::kInternal, "cannot write " + tar_file.string());
  }
  // Written through the cap as it arrives: a job's outputs never take more
  // than max_bytes of disk, and the transfer stops once the cap is reached.
  tar::CappedTarSink sink(out, max_bytes);
  HttpCall call = Control("GET", "/containers/" + id + "/archive?path=" + UrlEncode(path),
                          "copy " + id + ":" + path + " out", options_);
  call.timeout = options_.copy_timeout;
  call.on_body = [&](std::string_view chunk) { return sink.Write(chunk); };
  Result<HttpReply> reply = PerformOk(call);
  Status finished = Ok();
  if (reply || sink.stopped()) finished = sink.Finish();
  const bool close_failed = std::fclose(out) != 0;
  if ((!reply && !sink.stopped()) || !finished || close_failed) {
    std::error_code ec;
    std::filesystem::remove(tar_file, ec);
    if (!finished) return finished.error();
    if (close_failed) return Unexpected(ErrorCode::kInternal, "cannot write " + tar_file.string());
    return reply.error();
  }
  return CopiedOut{sink.written(), sink.truncation(), {}};
}

Status DockerRuntime::Start(const std::string& id) {
  if (Status st = CheckContainerRef(id); !st) return st;
  HttpCall call = Control("POST", "/containers/" + id + "/start", "start " + id, options_);
  Result<HttpReply> reply = Perform(call);
  if (!reply) return reply.error();
  if (reply->status == 304 || (reply->status >= 200 && reply->status < 300)) return Ok();
  return DockerError(reply->status, reply->body, call.what);
}

Result<bool> DockerRuntime::Stop(const std::string& id, std::chrono::seconds grace) {
  if (Status st = CheckContainerRef(id); !st) return st.error();
  int64_t t = std::max<int64_t>(grace.count(), 0);
  HttpCall call =
      Control("POST", "/containers/" + id + "/stop?t=" + std::to_string(t), "stop " + id, options_);
  call.timeout += grace;
  Result<HttpReply> reply = Perform(call);
  if (!reply) return reply.error();
  if (reply->status == 304) return false;
  if (reply->status >= 200 && reply->status < 300) return true;
  return DockerError(reply->status, reply->body, call.what);
}

Status DockerRuntime::Remove(const std::string& id) {
  if (Status st = CheckContainerRef(id); !st) return st;
  HttpCall call =
      Control("DELETE", "/containers/" + id + "?force=true&v=true", "remove " + id, options_);
  Result<HttpReply> reply = Perform(call);
  if (!reply) return reply.error();
  if (reply->status == 404 || (reply->status >= 200 && reply->status < 300)) return Ok();
  std::string message = DockerErrorMessage(reply->status, reply->body);
  // Another caller is removing it already: it will be gone just the same.
  if (reply->status == 409 && message.find("already in progress") != std::string::npos) {
    return Ok();
  }
  return DockerError(reply->status, reply->body, call.what);
}

Result<ContainerState> DockerRuntime::Inspect(const std::string& id) {
  if (Status st = CheckContainerRef(id); !st) return st.error();
  HttpCall call = Control("GET", "/containers/" + id + "/json", "inspect " + id, options_);
  Result<HttpReply> reply = PerformOk(call);
  if (!reply) return reply.error();
  return ParseContainerState(reply->body);
}

Result<std::vector<ContainerSummary>> DockerRuntime::List(
    const std::map<std::string, std::string>& labels) {
  HttpCall call =
      Control("GET", "/containers/json" + ListQuery(labels), "list containers", options_);
  Result<HttpReply> reply = PerformOk(call);
  if (!reply) return reply.error();
  return ParseContainerList(reply->body);
}

}  // namespace labelrun::runtime
