#pragma once
// A loopback Docker registry (distribution API v2, read-only) serving one small
// image, so that pulls can be tested without the internet: dockerd treats
// 127.0.0.0/8 registries as insecure (plain HTTP) by default. HTTP/1.1 on
// 127.0.0.1, port 0, one connection at a time (Connection: close).
//
// The image is one gzip layer holding /hello.txt, as repository `labelrun/tiny`
// with tag `1`. Faults: a layer whose bytes do not match its digest (the daemon
// reports it inside the pull's progress stream), or a layer that never comes.

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <thread>

namespace labelrun::testing {

class FakeRegistry {
 public:
  enum class Fault { kNone, kCorruptLayer, kHangOnLayer };

  FakeRegistry();  // throws std::runtime_error when it cannot build or listen
  ~FakeRegistry();
  FakeRegistry(const FakeRegistry&) = delete;
  FakeRegistry& operator=(const FakeRegistry&) = delete;

  void set_fault(Fault fault) { fault_ = fault; }
  // "127.0.0.1:PORT"
  std::string host() const;
  // "sha256:..." of the served manifest: what RepoDigests name after a pull.
  const std::string& manifest_digest() const { return manifest_digest_; }
  int blob_requests() const { return blob_requests_.load(); }

 private:
  void Serve();
  void Handle(int fd);

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<Fault> fault_{Fault::kNone};
  std::atomic<int> blob_requests_{0};
  std::string manifest_;
  std::string manifest_digest_;
  std::string layer_digest_;
  std::map<std::string, std::string> blobs_;  // digest -> bytes
  std::thread thread_;
};

}  // namespace labelrun::testing
