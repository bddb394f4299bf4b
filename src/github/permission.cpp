#include "labelrun/github/permission.hpp"

#include "labelrun/core/strings.hpp"

namespace labelrun::github {

std::string_view PermissionName(Permission p) {
  switch (p) {
    case Permission::kNone:
      return "none";
    case Permission::kRead:
      return "read";
    case Permission::kWrite:
      return "write";
    case Permission::kAdmin:
      return "admin";
  }
  return "none";
}

std::optional<Permission> ParsePermission(std::string_view name) {
  std::string n = ToLower(Trim(name));
  if (n == "admin") return Permission::kAdmin;
  if (n == "maintain" || n == "write") return Permission::kWrite;
  if (n == "triage" || n == "read") return Permission::kRead;
  if (n == "none") return Permission::kNone;
  return std::nullopt;
}

Permission PermissionFromResponse(std::string_view role_name, std::string_view permission) {
  if (std::optional<Permission> p = ParsePermission(role_name)) return *p;
  return ParsePermission(permission).value_or(Permission::kNone);
}

}  // namespace labelrun::github
