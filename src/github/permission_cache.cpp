#include "labelrun/github/permission_cache.hpp"

#include "labelrun/core/strings.hpp"

namespace labelrun::github {

PermissionCache::PermissionCache(Client& client, const Clock& clock, std::chrono::seconds ttl)
    : client_(client), clock_(clock), ttl_(ttl) {}

Result<PermissionInfo> PermissionCache::Get(int64_t installation, const Repo& repo,
                                            std::string_view user) {
  std::string key = ToLower(repo.full_name() + "@" + std::string(user));
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end() && clock_.Steady() < it->second.expires) return it->second.info;
  }
  // The lookup runs unlocked: a slow answer for one sender does not hold others.
  Result<PermissionInfo> info = client_.GetPermission(installation, repo, user);
  if (!info) return info;
  std::lock_guard lock(mu_);
  if (entries_.size() > 10'000) entries_.clear();  // bound memory; refills on demand
  entries_[key] = Entry{*info, clock_.Steady() + ttl_};
  return info;
}

void PermissionCache::Clear() {
  std::lock_guard lock(mu_);
  entries_.clear();
}

}  // namespace labelrun::github
