#pragma once
// Repository permissions of senders, looked up through the REST API and kept
// briefly: a burst of label events from one person costs one request. Logins
// compare case-insensitively, as GitHub treats them. Errors are not cached.

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "labelrun/core/clock.hpp"
#include "labelrun/github/client.hpp"

namespace labelrun::github {

class PermissionCache {
 public:
  // REQUIRES: client and clock outlive the cache. Thread-safe; Get blocks on
  // the network on a miss.
  PermissionCache(Client& client, const Clock& clock,
                  std::chrono::seconds ttl = std::chrono::minutes(5));

  Result<PermissionInfo> Get(int64_t installation, const Repo& repo, std::string_view user);
  // Drops everything (after a permission change is announced by a webhook).
  void Clear();

 private:
  struct Entry {
    PermissionInfo info;
    std::chrono::steady_clock::time_point expires;
  };
  Client& client_;
  const Clock& clock_;
  std::chrono::seconds ttl_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;  // "owner/name@login", lower-case
};

}  // namespace labelrun::github
