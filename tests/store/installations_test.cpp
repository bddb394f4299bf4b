#include "labelrun/store/installations.hpp"

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace labelrun::store {
namespace {

TEST(InstallationStoreTest, RepositoriesAddedRemovedAndForgotten) {
  auto store = InstallationStore::Open(":memory:");
  ASSERT_TRUE(store) << store.error().message();
  InstallationStore& s = **store;
  ASSERT_TRUE(
      s.AddRepositories(957387, "Codertocat", {"Codertocat/Hello-World", "acme/vision"}, 1000));
  EXPECT_EQ(s.ForRepository("acme/vision")->value_or(0), 957387);
  EXPECT_EQ(s.ForRepository("ACME/Vision")->value_or(0), 957387);  // GitHub ignores case
  EXPECT_FALSE(s.ForRepository("acme/other")->has_value());

  ASSERT_TRUE(s.RemoveRepositories(957387, {"acme/vision"}));
  EXPECT_FALSE(s.ForRepository("acme/vision")->has_value());
  // Another installation's removal does not drop a repository this one serves.
  ASSERT_TRUE(s.RemoveRepositories(2, {"Codertocat/Hello-World"}));
  EXPECT_EQ(s.ForRepository("Codertocat/Hello-World")->value_or(0), 957387);

  ASSERT_TRUE(s.Forget(957387, "suspend", 2000));
  EXPECT_FALSE(s.ForRepository("Codertocat/Hello-World")->has_value());
  EXPECT_TRUE(*s.Gone(957387));
  ASSERT_TRUE(s.AddRepositories(957387, "Codertocat", {"Codertocat/Hello-World"}, 3000));
  EXPECT_FALSE(*s.Gone(957387));
  EXPECT_EQ(s.All()->size(), 1u);
  EXPECT_FALSE(s.AddRepositories(0, "x", {"a/b"}, 1));
}

TEST(InstallationStoreTest, SurvivesReopening) {
  testing::TempDir dir;
  const auto path = dir.path() / "labelrun.db";
  {
    auto store = InstallationStore::Open(path);
    ASSERT_TRUE(store) << store.error().message();
    ASSERT_TRUE((*store)->AddRepositories(77, "acme", {"acme/vision"}, 1));
    ASSERT_TRUE((*store)->Forget(5, "deleted", 1));
  }
  auto again = InstallationStore::Open(path);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ((*again)->ForRepository("acme/vision")->value_or(0), 77);
  EXPECT_TRUE(*(*again)->Gone(5));
  auto all = (*again)->All();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].account, "acme");
}

TEST(InstallationStoreTest, ADatabaseOfSchema4GainsTheTables) {
  testing::TempDir dir;
  const auto path = dir.path() / "labelrun.db";
  {
    Result<Database> db = Database::Open(path);
    ASSERT_TRUE(db);
    ASSERT_TRUE(Migrate(*db));
    ASSERT_TRUE(db->Exec(
        "DROP TABLE installation_repos; DROP TABLE installations_gone; "
        "ALTER TABLE jobs DROP COLUMN pull_request; ALTER TABLE jobs DROP COLUMN from_fork; "
        "ALTER TABLE jobs DROP COLUMN trigger_label; PRAGMA user_version = 4"));
  }
  auto store = InstallationStore::Open(path);
  ASSERT_TRUE(store) << store.error().message();
  ASSERT_TRUE((*store)->AddRepositories(9, "acme", {"acme/vision"}, 1));
  EXPECT_EQ((*store)->ForRepository("acme/vision")->value_or(0), 9);
  Result<Database> db = Database::Open(path);
  ASSERT_TRUE(db);
  EXPECT_EQ(*db->UserVersion(), 7);
}

}  // namespace
}  // namespace labelrun::store
