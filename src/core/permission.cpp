#include "labelrun/core/permission.hpp"

#include "labelrun/core/strings.hpp"

namespace labelrun {

std::string_view PermissionName(Permission p) {
  switch (p) {
    case Permission::kNone:
      return "none";
    case Permission::kRead:
      return "read";
    case Permission::kTriage:
      return "triage";
    case Permission::kWrite:
      return "write";
    case Permission::kMaintain:
      return "maintain";
    case Permission::kAdmin:
      return "admin";
  }
  return "none";
}

std::optional<Permission> ParsePermission(std::string_view text) {
  std::string lower = ToLower(Trim(text));
  if (lower == "none") return Permission::kNone;
  if (lower == "read" || lower == "pull") return Permission::kRead;
  if (lower == "triage") return Permission::kTriage;
  if (lower == "write" || lower == "push") return Permission::kWrite;
  if (lower == "maintain") return Permission::kMaintain;
  if (lower == "admin") return Permission::kAdmin;
  return std::nullopt;
}

}  // namespace labelrun
