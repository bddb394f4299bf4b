#pragma once
// The `github.*` configuration that the GitHub client needs. config/ fills it
// from the YAML file; this module only reads it.

#include <chrono>
#include <filesystem>
#include <string>

#include "labelrun/core/result.hpp"

namespace labelrun::github {

struct Settings {
  // REST root: https://api.github.com, or https://HOST/api/v3 for GitHub
  // Enterprise Server. No trailing slash needed.
  std::string api_url = "https://api.github.com";

  // App mode: the JWT's `iss` is client_id when set (GitHub recommends it),
  // else app_id. private_key_file is the App's PEM key (PKCS#1 or PKCS#8).
  std::string app_id;
  std::string client_id;
  std::filesystem::path private_key_file;

  // Token mode (one repository, development): a personal or fine-grained token
  // read from this file. Exclusive with App mode.
  std::filesystem::path token_file;

  // Extra CA bundle to trust (GHES with a private CA); empty: the system store.
  std::string ca_file;

  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};

  // Attempts per call, including the first; 5xx, network errors and short
  // rate-limit waits are retried inside the call.
  int max_attempts = 4;
  // A rate-limit or backoff wait longer than this is not slept inside a call:
  // the call fails with kResourceExhausted / kUnavailable and the caller (the
  // outbox) retries later.
  std::chrono::milliseconds max_inline_wait{std::chrono::seconds(10)};

  // Installation tokens are renewed this long before `expires_at` (at most half
  // the token's lifetime).
  std::chrono::seconds token_refresh_margin{std::chrono::minutes(5)};

  bool app_mode() const { return !app_id.empty() || !client_id.empty(); }
  // The JWT issuer: client_id if set, else app_id.
  const std::string& issuer() const { return client_id.empty() ? app_id : client_id; }
};

// Checks that exactly one mode is configured and its fields are complete.
// Messages name the `github.*` key at fault.
Status Validate(const Settings& settings);

}  // namespace labelrun::github
