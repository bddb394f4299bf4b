#pragma once
// A loopback TLS front for a unix socket, standing in for a remote Docker daemon
// started with --tlsverify: it listens on 127.0.0.1 (port 0), requires a client
// certificate signed by the given CA, and forwards each connection's bytes to
// the socket (Docker's, by default). One thread per connection. Test code:
// setup failures throw.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace labelrun::testing {

class TlsUnixProxy {
 public:
  struct Options {
    std::string ca_file;    // client certificates must chain to this CA
    std::string cert_file;  // the server's certificate (PEM) and key
    std::string key_file;
    std::string socket_path = "/var/run/docker.sock";
  };

  explicit TlsUnixProxy(Options options);
  ~TlsUnixProxy();
  TlsUnixProxy(const TlsUnixProxy&) = delete;
  TlsUnixProxy& operator=(const TlsUnixProxy&) = delete;

  uint16_t port() const { return port_; }
  // Closes every open connection, as a daemon restart would; keeps listening.
  void DropConnections();
  // Handshakes that failed (no or an untrusted client certificate, ...).
  int refused() const { return refused_.load(); }
  int accepted() const { return accepted_.load(); }

 private:
  void AcceptLoop();
  void Serve(int fd);

  Options options_;
  void* ctx_ = nullptr;  // SSL_CTX*
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> refused_{0};
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> workers_;  // guarded by mu_
  std::set<int> open_fds_;            // guarded by mu_
};

}  // namespace labelrun::testing
