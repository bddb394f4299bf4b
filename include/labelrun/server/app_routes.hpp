#pragma once
// labelrun's own pages and API (/api/..., /jobs...), served by the same
// listener as the webhook. The server calls Handle on a worker thread, never on
// an I/O thread, so a handler may read SQLite or files; it should not block for
// long. The server alone turns the Outcome into a status code.

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
};

struct AppReply {
  Outcome outcome = Outcome::kOk;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

class AppRoutes {
 public:
  virtual ~AppRoutes() = default;
  // True for the paths this handler serves (decided on the I/O thread: cheap).
  virtual bool Handles(std::string_view path) const = 0;
  virtual AppReply Handle(const AppRequest& request) = 0;
};

}  // namespace labelrun::server
