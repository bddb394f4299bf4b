#include "labelrun/github/permission.hpp"

namespace labelrun::github {

Permission PermissionFromResponse(std::string_view role_name, std::string_view permission) {
  if (std::optional<Permission> p = ParsePermission(role_name)) return *p;
  return ParsePermission(permission).value_or(Permission::kNone);
}

}  // namespace labelrun::github
