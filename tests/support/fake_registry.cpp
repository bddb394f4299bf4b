#include "support/fake_registry.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/sha.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>

#include "labelrun/core/strings.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::testing {
namespace {

std::string Sha256(const std::string& bytes) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), md);
  return "sha256:" + HexEncode(std::string_view(reinterpret_cast<char*>(md), sizeof md));
}

std::string RandomNonce() {
  std::random_device rd;
  return std::to_string(rd()) + std::to_string(rd());
}

void SendAll(int fd, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

std::string Response(int status, const std::string& type, const std::string& body,
                     const std::string& extra_headers, bool head) {
  std::string reason = status == 200 ? "OK" : "Not Found";
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason +
                    "\r\nContent-Type: " + type +
                    "\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nDocker-Distribution-API-Version: registry/2.0\r\n" + extra_headers +
                    "Connection: close\r\n\r\n";
  if (!head) out += body;
  return out;
}

}  // namespace

FakeRegistry::FakeRegistry() {
  // The layer: a tar of hello.txt, gzip-compressed; its config names the
  // uncompressed tar's digest as the diff id.
  TempDir dir;
  // Unique content, so that no two registries (tests running side by side)
  // serve the same layer: the daemon shares a download between pulls of the
  // same digest, which would hide a fault.
  dir.Write("root/hello.txt", "pulled from the fake registry " + RandomNonce() + "\n");
  std::string out;
  if (RunCommand({"/bin/tar", "-cf", (dir / "layer.tar").string(), "-C", (dir / "root").string(),
                  "hello.txt"},
                 &out) != 0 ||
      RunCommand({"/bin/gzip", "-kn", (dir / "layer.tar").string()}, &out) != 0) {
    throw std::runtime_error("FakeRegistry: cannot build the layer: " + out);
  }
  std::string tar = ReadFile(dir / "layer.tar");
  std::string layer = ReadFile(dir / "layer.tar.gz");
  nlohmann::json config = {
      {"architecture", "amd64"},
      {"os", "linux"},
      {"config", {{"Cmd", {"/hello.txt"}}}},
      {"rootfs", {{"type", "layers"}, {"diff_ids", {Sha256(tar)}}}},
  };
  std::string config_bytes = config.dump();
  layer_digest_ = Sha256(layer);
  blobs_[Sha256(config_bytes)] = config_bytes;
  blobs_[layer_digest_] = layer;
  nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.docker.distribution.manifest.v2+json"},
      {"config",
       {{"mediaType", "application/vnd.docker.container.image.v1+json"},
        {"size", config_bytes.size()},
        {"digest", Sha256(config_bytes)}}},
      {"layers",
       {{{"mediaType", "application/vnd.docker.image.rootfs.diff.tar.gzip"},
         {"size", layer.size()},
         {"digest", layer_digest_}}}},
  };
  manifest_ = manifest.dump();
  manifest_digest_ = Sha256(manifest_);

  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("FakeRegistry: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { Serve(); });
}

FakeRegistry::~FakeRegistry() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
}

std::string FakeRegistry::host() const { return "127.0.0.1:" + std::to_string(port_); }

void FakeRegistry::Serve() {
  while (!stopping_) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, 50) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    Handle(fd);
    ::close(fd);
  }
}

void FakeRegistry::Handle(int fd) {
  std::string request;
  char buf[4096];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 5000) <= 0) return;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    request.append(buf, static_cast<size_t>(n));
    // The daemon tries TLS first; closing at once makes it fall back to HTTP.
    if (request[0] == 0x16) return;
  }
  std::string_view line(request.data(), request.find("\r\n"));
  std::vector<std::string_view> parts = Split(line, ' ');
  if (parts.size() < 2) return;
  bool head = parts[0] == "HEAD";
  std::string path(parts[1]);
  const std::string repo = "/v2/labelrun/tiny/";
  if (path == "/v2/" || path == "/v2") {
    SendAll(fd, Response(200, "application/json", "{}", "", head));
  } else if (path == repo + "manifests/1" || path == repo + "manifests/" + manifest_digest_) {
    SendAll(fd, Response(200, "application/vnd.docker.distribution.manifest.v2+json", manifest_,
                         "Docker-Content-Digest: " + manifest_digest_ + "\r\n", head));
  } else if (path.rfind(repo + "blobs/", 0) == 0 &&
             blobs_.count(path.substr(repo.size() + 6)) > 0) {
    std::string digest = path.substr(repo.size() + 6);
    std::string body = blobs_.at(digest);
    ++blob_requests_;
    if (digest == layer_digest_ && fault_ == Fault::kHangOnLayer) {
      // Never answer; give up when the client goes away or the registry stops.
      while (!stopping_) {
        pollfd pfd{fd, POLLIN, 0};
        if (::poll(&pfd, 1, 50) > 0 && ::recv(fd, buf, sizeof buf, 0) <= 0) return;
      }
      return;
    }
    if (digest == layer_digest_ && fault_ == Fault::kCorruptLayer) body.back() ^= 0x55;
    SendAll(fd, Response(200, "application/octet-stream", body,
                         "Docker-Content-Digest: " + digest + "\r\n", head));
  } else {
    SendAll(fd, Response(404, "application/json",
                         R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})",
                         "", head));
  }
}

}  // namespace labelrun::testing
