#include "labelrun/github/permission.hpp"

#include <gtest/gtest.h>

namespace labelrun::github {
namespace {

TEST(GithubPermission, GithubRolesKeepTriageAndMaintainApart) {
  EXPECT_EQ(ParsePermission("admin"), Permission::kAdmin);
  EXPECT_EQ(ParsePermission("maintain"), Permission::kMaintain);
  EXPECT_EQ(ParsePermission("WRITE"), Permission::kWrite);
  EXPECT_EQ(ParsePermission("push"), Permission::kWrite);
  EXPECT_EQ(ParsePermission("triage"), Permission::kTriage);
  EXPECT_EQ(ParsePermission("read"), Permission::kRead);
  EXPECT_EQ(ParsePermission("none"), Permission::kNone);
  EXPECT_FALSE(ParsePermission("security-manager").has_value());
  EXPECT_FALSE(ParsePermission("").has_value());
}

TEST(GithubPermission, CustomRolesFallBackToTheLegacyField) {
  EXPECT_EQ(PermissionFromResponse("maintain", "write"), Permission::kMaintain);
  EXPECT_EQ(PermissionFromResponse("triage", "read"), Permission::kTriage);
  EXPECT_EQ(PermissionFromResponse("security-manager", "write"), Permission::kWrite);
  EXPECT_EQ(PermissionFromResponse("", "admin"), Permission::kAdmin);
  EXPECT_EQ(PermissionFromResponse("odd", "odd"), Permission::kNone);
}

TEST(GithubPermission, MatrixAgainstTheDefaultWriteRequirement) {
  struct Row {
    const char* role;
    bool allowed;
  };
  for (Row row : {Row{"admin", true}, Row{"maintain", true}, Row{"write", true},
                  Row{"triage", false}, Row{"read", false}, Row{"none", false}}) {
    Permission have = *ParsePermission(row.role);
    EXPECT_EQ(Satisfies(have, Permission::kWrite), row.allowed) << row.role;
  }
  EXPECT_TRUE(Satisfies(Permission::kRead, Permission::kRead));
  EXPECT_FALSE(Satisfies(Permission::kWrite, Permission::kAdmin));
  EXPECT_TRUE(Satisfies(Permission::kNone, Permission::kNone));
  static_assert(Satisfies(Permission::kAdmin, Permission::kWrite));
  EXPECT_EQ(PermissionName(Permission::kWrite), "write");
}

}  // namespace
}  // namespace labelrun::github
