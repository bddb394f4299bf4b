#pragma once
// Reading a sender's repository permission from GitHub's answer to
// GET /repos/{o}/{r}/collaborators/{user}/permission.

#include <string_view>

#include "labelrun/core/permission.hpp"

namespace labelrun::github {

using labelrun::Permission;
using labelrun::Satisfies;

// The permission an answer grants: its `role_name` when that is a base role
// (keeping triage and maintain apart), else its legacy `permission` field
// (custom roles), else kNone.
Permission PermissionFromResponse(std::string_view role_name, std::string_view permission);

}  // namespace labelrun::github
