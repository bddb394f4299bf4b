#pragma once
// Repository permission levels as GitHub's legacy base roles: maintain counts
// as write and triage as read, which is how GitHub maps them in the
// `permission` field of GET /repos/{o}/{r}/collaborators/{user}/permission.

#include <optional>
#include <string_view>

namespace labelrun::github {

enum class Permission { kNone = 0, kRead = 1, kWrite = 2, kAdmin = 3 };

std::string_view PermissionName(Permission p);

// "admin", "maintain"->write, "write", "triage"->read, "read", "none" (any case);
// nullopt for anything else (custom role names).
std::optional<Permission> ParsePermission(std::string_view name);

// The level of a permission response: its `role_name` when that is a base role,
// else its legacy `permission` (custom roles), else kNone.
Permission PermissionFromResponse(std::string_view role_name, std::string_view permission);

// True when `have` is at least `need`.
constexpr bool Satisfies(Permission have, Permission need) {
  return static_cast<int>(have) >= static_cast<int>(need);
}

}  // namespace labelrun::github
