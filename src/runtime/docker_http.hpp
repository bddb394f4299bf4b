#pragma once
// HTTP to one Docker daemon with libcurl: a unix socket, or https with client
// certificates. Each Perform is one exchange on its own connection, driven by a
// private curl multi handle so that a stop flag or another thread can end it at
// once. Thread-safe; blocking.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "labelrun/core/result.hpp"
#include "labelrun/core/strings.hpp"
#include "labelrun/runtime/docker.hpp"

namespace labelrun::runtime {

// Ends a running Perform from another thread; the Perform then returns an
// aborted reply. Cancel may come before, during or after the Perform.
class HttpCancel {
 public:
  void Cancel();
  bool cancelled() const { return cancelled_.load(); }

 private:
  friend class DockerHttp;
  void Attach(void* multi);
  void Detach();

  std::mutex mu_;
  void* multi_ = nullptr;  // CURLM* while a Perform runs
  std::atomic<bool> cancelled_{false};
};

struct HttpCall {
  std::string method;   // GET, POST, PUT, DELETE
  std::string path;     // "/containers/x/json?all=1", without the version prefix
  std::string version;  // "1.41": prefixed as "/v1.41"; empty: unversioned
  // Sent with POST and PUT, even when empty (an empty POST).
  std::string_view body;
  std::string content_type = "application/json";
  // 0: none (streams). Connecting has its own limit.
  std::chrono::milliseconds timeout{0};
  // The body of a 2xx reply, as it arrives; false ends the exchange (aborted).
  // Unset: the body is collected into HttpReply::body, up to kMaxCollectedBody.
  std::function<bool(std::string_view)> on_body;
  // Called once the final response headers arrived, with the status.
  std::function<void(long status)> on_headers;
  const std::atomic<bool>* stop = nullptr;  // polled: true ends the exchange (aborted)
  HttpCancel* cancel = nullptr;
  // What the call does, for messages ("follow the log of abc").
  std::string what;
};

struct HttpExchange;  // docker_http.cpp

struct HttpReply {
  long status = 0;
  std::string body;      // non-2xx: always (first 64 KiB); 2xx: unless on_body
  bool aborted = false;  // on_body returned false, `stop` or `cancel`
};

inline constexpr size_t kMaxCollectedBody = size_t{64} << 20;

class DockerHttp {
 public:
  DockerHttp(DockerEndpoint endpoint, std::chrono::milliseconds connect_timeout);

  // One exchange. Any HTTP status is a value. Errors: kUnavailable (the daemon
  // cannot be reached, or the connection broke), kPermissionDenied (the socket
  // refuses this user), kUnauthenticated (the TLS handshake failed: certificates),
  // kDeadlineExceeded (call.timeout passed), kResourceExhausted (a collected
  // body over kMaxCollectedBody).
  Result<HttpReply> Perform(const HttpCall& call) const;

  const DockerEndpoint& endpoint() const { return endpoint_; }

 private:
  struct Failure {
    int rc;  // CURLcode
    const char* errbuf;
    long os_errno;
    int64_t connect_us;  // 0: never connected
    int64_t tls_us;      // 0: no TLS handshake completed
  };
  // Everything but the per-exchange buffers (handle: CURL*).
  void Configure(void* handle, const HttpCall& call) const;
  // Runs the exchange on its multi handle (CURLM*) until it is done (true, with
  // its CURLcode in *rc) or stopped or cancelled (false).
  static bool Drive(void* handle, const HttpCall& call, int* rc);
  Error TransportError(const HttpCall& call, const HttpExchange& ex, const Failure& f) const;

  DockerEndpoint endpoint_;
  std::chrono::milliseconds connect_timeout_;
  std::string base_url_;     // "http://docker" (unix) or "https://host:port"
  std::string socket_path_;  // unix only
};

}  // namespace labelrun::runtime
