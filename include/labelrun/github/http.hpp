#pragma once
// Outbound HTTP as a seam: the REST client and the token source speak through a
// Transport. CurlTransport is the real one (libcurl, blocking). Call it from
// worker threads only, never from an Asio I/O thread.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "labelrun/core/result.hpp"
#include "labelrun/github/settings.hpp"

namespace labelrun::github {

// Response header names are stored lower-case.
using Headers = std::vector<std::pair<std::string, std::string>>;

// The first value of header `name` (any case), or nullopt.
std::optional<std::string_view> FindHeader(const Headers& headers, std::string_view name);

// The ErrorCode of a non-2xx GitHub answer: 400/422 invalid argument, 401
// unauthenticated, 403 permission denied, 404/410 not found, 409 failed
// precondition, 429 resource exhausted, 5xx unavailable, else internal.
// (Rate-limit 403s are told apart by AdviseRetry, see rate_limit.hpp.)
ErrorCode ErrorCodeForStatus(long status);

struct HttpRequest {
  std::string method;  // GET, POST, PATCH, PUT, DELETE
  std::string url;     // absolute
  // Full header lines, "Name: value". May hold credentials: never log them.
  std::vector<std::string> headers;
  std::string body;
  // When set, a 2xx answer's body is written to this file (truncated first)
  // instead of HttpResponse::body; other answers still land in body.
  std::filesystem::path body_file;
  int64_t max_file_bytes = 0;  // 0: no limit; past it the exchange fails
};

struct HttpResponse {
  long status = 0;
  Headers headers;
  std::string body;
  int64_t file_bytes = 0;  // written to HttpRequest::body_file
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Performs one exchange. Any HTTP status is a value; only failures to get a
  // response are errors (kUnavailable: connect/TLS/reset; kDeadlineExceeded:
  // timeout). Thread-safe.
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

struct CurlOptions {
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds total_timeout{std::chrono::seconds(30)};
  std::string ca_file;  // extra CA bundle; empty: the system store
  std::string user_agent;
};

// Timeouts and CA bundle from the `github.*` settings; User-Agent labelrun/<version>.
CurlOptions CurlOptionsFrom(const Settings& settings);

// libcurl, TLS peer and host verification on, redirects followed (GitHub answers
// 301/307 for renamed repositories). Connections are kept open and reused
// (HTTP keep-alive): each request takes an idle easy handle, with the connections
// it keeps, from a pool (one handle per request in flight; at most kMaxIdle kept),
// and all handles share DNS answers and TLS sessions. So a write to GitHub needs
// no new TCP and TLS handshake while a connection to it is open.
class CurlTransport final : public Transport {
 public:
  static constexpr size_t kMaxIdle = 16;

  explicit CurlTransport(CurlOptions options);
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;
  Result<HttpResponse> Send(const HttpRequest& request) override;

 private:
  struct Shared;  // the CURLSH and its locks
  void* TakeHandle();
  void ReturnHandle(void* handle);

  CurlOptions options_;
  std::unique_ptr<Shared> shared_;
  std::mutex idle_mu_;
  std::vector<void*> idle_;  // CURL*, each used by one request at a time
};

}  // namespace labelrun::github
