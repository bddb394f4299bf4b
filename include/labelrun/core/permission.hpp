#pragma once
// A GitHub repository permission, shared by the rules (min_permission) and the
// GitHub client (what the API says a sender has).

#include <optional>
#include <string_view>

namespace labelrun {

// GitHub's repository roles in increasing order of power.
enum class Permission { kNone, kRead, kTriage, kWrite, kMaintain, kAdmin };

// "none", "read", "triage", "write", "maintain", "admin".
std::string_view PermissionName(Permission p);

// The inverse of PermissionName, case-insensitive; GitHub's legacy "pull" and
// "push" are read and write. nullopt for anything else (custom role names).
std::optional<Permission> ParsePermission(std::string_view text);

// True when `have` is at least `need`.
constexpr bool Satisfies(Permission have, Permission need) {
  return static_cast<int>(have) >= static_cast<int>(need);
}

}  // namespace labelrun
