#include "labelrun/github/settings.hpp"

namespace labelrun::github {

Status Validate(const Settings& s) {
  auto invalid = [](std::string message) {
    return Status(Unexpected(ErrorCode::kInvalidArgument, std::move(message)));
  };
  if (s.api_url.rfind("https://", 0) != 0 && s.api_url.rfind("http://", 0) != 0) {
    return invalid("github.api_url must be an http(s) URL");
  }
  if (s.app_mode() && !s.token_file.empty()) {
    return invalid("github.token_file and github.app_id/client_id exclude each other");
  }
  if (s.app_mode() && s.private_key_file.empty()) {
    return invalid("github.private_key_file is required with github.app_id or github.client_id");
  }
  if (!s.app_mode() && !s.private_key_file.empty()) {
    return invalid("github.private_key_file needs github.app_id or github.client_id");
  }
  if (!s.app_mode() && s.token_file.empty()) {
    return invalid("set github.app_id (or client_id) and private_key_file, or github.token_file");
  }
  if (s.max_attempts < 1) return invalid("github.max_attempts must be at least 1");
  if (s.connect_timeout.count() <= 0 || s.request_timeout.count() <= 0) {
    return invalid("github timeouts must be positive");
  }
  return Ok();
}

}  // namespace labelrun::github
