#pragma once
// labelrun's own pages and API (/api/..., /jobs...), served by the same
// listener as the webhook. The server calls Handle on a worker thread, never on
// an I/O thread, so a handler may read SQLite or files; it should not block for
// long. The server alone turns the Outcome into a status code.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "labelrun/server/metrics.hpp"

namespace labelrun::server {

struct AppRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query
  std::string query;   // after '?', undecoded
  std::string authorization;
  std::string cookie;        // the Cookie header
  std::string content_type;  // of `body`
  std::string origin;        // the Origin header, when the browser sent one
  std::string body;          // at most kMaxAppBodyBytes; larger bodies are refused with 413
  bool tls = false;          // arrived over TLS (cookies are then marked Secure)
};

// The largest request body an app route is handed (login and action forms are
// a few hundred bytes). The webhook's own limit is server.max_body_bytes.
inline constexpr uint64_t kMaxAppBodyBytes = 16 * 1024;

// Bytes of a file on disk, sent as a response body without being read into
// memory (the server reads and sends a piece at a time).
struct FileSlice {
  std::filesystem::path path;
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct AppReply {
  Outcome outcome = Outcome::kOk;
  std::string body;  // ignored when `file` is set
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<FileSlice> file;
};

class AppRoutes {
 public:
  virtual ~AppRoutes() = default;
  // True for the paths this handler serves (decided on the I/O thread: cheap).
  virtual bool Handles(std::string_view path) const = 0;
  virtual AppReply Handle(const AppRequest& request) = 0;
};

}  // namespace labelrun::server
