#include "labelrun/runtime/sources.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <string>

#include "github/github_env.hpp"
#include "support/file_tree.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::runtime {
namespace {

namespace fs = std::filesystem;
using github::testing::GithubEnv;
using labelrun::testing::ExtractTarGz;
using labelrun::testing::Git;
using labelrun::testing::ReadFile;
using labelrun::testing::SnapshotTree;
using labelrun::testing::TempDir;
using labelrun::testing::Tree;

constexpr int64_t kInst = GithubEnv::kInstallation;

Tree Unpacked(const Result<std::string>& archive) {
  EXPECT_TRUE(archive) << archive.error().ToString();
  if (!archive) return {};
  TempDir dest;
  std::string log;
  EXPECT_EQ(ExtractTarGz(*archive, dest.path(), &log), 0) << log;
  return SnapshotTree(dest.path(), /*skip_git=*/false);
}

// Paths, kinds and bytes: git archive sets its own modes and times.
std::map<std::string, std::string> Contents(const Tree& tree) {
  std::map<std::string, std::string> out;
  for (const auto& [path, node] : tree) out[path] = std::string(1, node.type) + ":" + node.content;
  return out;
}

std::string Commit(const TempDir& repo, const std::string& message) {
  Git(repo.path(), {"add", "-A"});
  Git(repo.path(), {"commit", "-q", "-m", message});
  return Git(repo.path(), {"rev-parse", "HEAD"});
}

LocalSource SourceFor(const fs::path& dir) {
  LocalSourceOptions o;
  o.folders["acme/vision"] = dir;
  return LocalSource(o);
}

TEST(LocalSource, ArchivesTheCommitDecidedOnNotTheFolderNow) {
  TempDir repo;
  Git(repo.path(), {"init", "-q", "-b", "main"});
  repo.Write("train.py", "lr = 0.1\n");
  repo.Write("configs/base.yaml", "epochs: 1\n");
  std::string a = Commit(repo, "A");
  LocalSource source = SourceFor(repo.path());

  Result<std::string> decided = source.ResolveCommit("acme/vision", 0);
  ASSERT_TRUE(decided) << decided.error().ToString();
  EXPECT_EQ(*decided, a);
  EXPECT_EQ(decided->size(), 40u);

  // The folder moves on after the decision: a new commit, then an uncommitted edit.
  repo.Write("train.py", "lr = 0.2\n");
  repo.Write("extra.py", "print('B')\n");
  std::string b = Commit(repo, "B");
  ASSERT_NE(a, b);
  repo.Write("train.py", "lr = 0.3  # not committed\n");
  Result<std::string> now = source.ResolveCommit("acme/vision", 0);
  ASSERT_TRUE(now);
  EXPECT_EQ(*now, b);

  Tree at_a = Unpacked(source.Archive("acme/vision", 0, a));
  ASSERT_EQ(at_a.count("train.py"), 1u);
  EXPECT_EQ(at_a["train.py"].content, "lr = 0.1\n");
  EXPECT_EQ(at_a.count("extra.py"), 0u);
  EXPECT_EQ(at_a["configs/base.yaml"].content, "epochs: 1\n");
  EXPECT_EQ(at_a.count(".git"), 0u);

  Tree at_b = Unpacked(source.Archive("acme/vision", 0, b));
  EXPECT_EQ(at_b["train.py"].content, "lr = 0.2\n");
  EXPECT_EQ(at_b["extra.py"].content, "print('B')\n");
}

TEST(LocalSource, RefusesUnknownAndMalformedCommits) {
  TempDir repo;
  Git(repo.path(), {"init", "-q", "-b", "main"});
  repo.Write("a.txt", "a\n");
  std::string a = Commit(repo, "A");
  LocalSource source = SourceFor(repo.path());

  Result<std::string> unknown =
      source.Archive("acme/vision", 0, "0123456789abcdef0123456789abcdef01234567");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);

  // Never handed to git as an option or a ref name.
  for (const std::string& bad : std::vector<std::string>{"--output=/tmp/x", "HEAD", "main", "",
                                                         "abc", a + std::string(25, '0')}) {
    Result<std::string> out = source.Archive("acme/vision", 0, bad);
    ASSERT_FALSE(out) << bad;
    EXPECT_EQ(out.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
  // An abbreviated commit is fine.
  EXPECT_TRUE(source.Archive("acme/vision", 0, a.substr(0, 12)));
}

TEST(LocalSource, AGitFolderWithoutCommitsHasNoHead) {
  TempDir repo;
  Git(repo.path(), {"init", "-q", "-b", "main"});
  repo.Write("a.txt", "a\n");
  Result<std::string> head = SourceFor(repo.path()).ResolveCommit("acme/vision", 0);
  ASSERT_FALSE(head);
  EXPECT_EQ(head.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(head.error().message().find(repo.path().string()), std::string::npos);
}

TEST(LocalSource, APlainFolderIsPackedAsItIs) {
  TempDir dir;
  dir.Write("train.py", "v1\n");
  LocalSource source = SourceFor(dir.path());
  Result<std::string> commit = source.ResolveCommit("acme/vision", 0);
  ASSERT_TRUE(commit);
  EXPECT_EQ(*commit, "");
  dir.Write("train.py", "v2\n");
  Tree tree = Unpacked(source.Archive("acme/vision", 0, ""));
  EXPECT_EQ(tree["train.py"].content, "v2\n");

  Result<std::string> pinned = source.Archive("acme/vision", 0, "0123456789abcdef");
  ASSERT_FALSE(pinned);
  EXPECT_EQ(pinned.error().code(), ErrorCode::kFailedPrecondition);
}

TEST(LocalSource, FindsTheFolderByRepositoryThenTheDefault) {
  TempDir vision, fallback;
  vision.Write("which", "vision\n");
  fallback.Write("which", "fallback\n");
  LocalSourceOptions o;
  o.folders["Acme/Vision"] = vision.path();
  o.default_folder = fallback.path();
  LocalSource source(o);
  EXPECT_EQ(Unpacked(source.Archive("acme/vision", 0, ""))["which"].content, "vision\n");
  EXPECT_EQ(Unpacked(source.Archive("acme/other", 0, ""))["which"].content, "fallback\n");

  LocalSource strict = SourceFor(vision.path());
  Result<std::string> none = strict.ResolveCommit("acme/other", 0);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(none.error().message().find("acme/other"), std::string::npos);

  LocalSource gone = SourceFor(vision / "missing");
  Result<std::string> missing = gone.Archive("acme/vision", 0, "");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST(LocalSource, CapsTheArchiveSize) {
  TempDir repo;
  Git(repo.path(), {"init", "-q", "-b", "main"});
  std::string noise;
  for (int i = 0; i < 300'000; ++i) noise += static_cast<char>((i * 2654435761u) >> 13);
  repo.Write("weights.bin", noise);
  std::string a = Commit(repo, "A");
  LocalSourceOptions o;
  o.folders["acme/vision"] = repo.path();
  o.max_bytes = 100'000;
  Result<std::string> out = LocalSource(o).Archive("acme/vision", 0, a);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), ErrorCode::kResourceExhausted);
  o.max_bytes = 1 << 20;
  EXPECT_TRUE(LocalSource(o).Archive("acme/vision", 0, a));
}

TEST(LocalSource, GitComesFromTheFolderNotTheEnvironment) {
  TempDir repo, other;
  Git(repo.path(), {"init", "-q", "-b", "main"});
  repo.Write("a.txt", "a\n");
  std::string a = Commit(repo, "A");
  Git(other.path(), {"init", "-q", "-b", "main"});
  other.Write("b.txt", "b\n");
  Commit(other, "B");
  ASSERT_EQ(setenv("GIT_DIR", (other / ".git").c_str(), 1), 0);
  Result<std::string> head = SourceFor(repo.path()).ResolveCommit("acme/vision", 0);
  unsetenv("GIT_DIR");
  ASSERT_TRUE(head) << head.error().ToString();
  EXPECT_EQ(*head, a);
}

TEST(LocalSource, SaysWhenGitCannotRun) {
  TempDir repo;
  Git(repo.path(), {"init", "-q", "-b", "main"});
  LocalSourceOptions o;
  o.folders["acme/vision"] = repo.path();
  o.git = "/nonexistent/git";
  Result<std::string> head = LocalSource(o).ResolveCommit("acme/vision", 0);
  ASSERT_FALSE(head);
  EXPECT_EQ(head.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(head.error().message().find("cannot run /nonexistent/git"), std::string::npos);
}

// A repository as GitHub serves it: `git archive` under "owner-repo-sha7/".
struct GithubRepo {
  TempDir work;
  std::string sha;
  std::string tarball;
  explicit GithubRepo(const std::string& content) {
    Git(work.path(), {"init", "-q", "-b", "main"});
    work.Write("train.py", content);
    work.Write("src/model.py", "class Net: pass\n");
    fs::create_symlink("src/model.py", work / "model.py");
    sha = Commit(work, "head");
    TempDir out;
    Git(work.path(),
        {"archive", "--format=tar.gz", "--prefix=acme-vision-" + sha.substr(0, 7) + "/", "-o",
         (out / "t.tar.gz").string(), sha});
    tarball = ReadFile(out / "t.tar.gz");
  }
};

TEST(GithubSource, ResolvesTheHeadOfTheDefaultBranch) {
  GithubEnv env;
  env.fake.SetRepository("acme/vision", "trunk");
  env.fake.SetBranch("acme/vision", "main", std::string(40, 'a'));
  env.fake.SetBranch("acme/vision", "trunk", std::string(40, 'b'));
  env.fake.SetRepository("acme/nested", "release/v1");
  env.fake.SetBranch("acme/nested", "release/v1", std::string(40, 'c'));
  GithubSource source(env.client, {});

  Result<std::string> head = source.ResolveCommit("acme/vision", kInst);
  ASSERT_TRUE(head) << head.error().ToString();
  EXPECT_EQ(*head, std::string(40, 'b'));
  Result<std::string> nested = source.ResolveCommit("acme/nested", kInst);
  ASSERT_TRUE(nested) << nested.error().ToString();
  EXPECT_EQ(*nested, std::string(40, 'c'));
  bool slash_kept = false;
  for (const auto& r : env.fake.Requests()) {
    slash_kept |= r.target == "/repos/acme/nested/git/ref/heads/release/v1";
  }
  EXPECT_TRUE(slash_kept);

  Result<std::string> unknown = source.ResolveCommit("acme/ghost", kInst);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(unknown.error().message().find("acme/ghost"), std::string::npos);

  env.fake.SetRepository("acme/empty", "main");  // no branch yet
  Result<std::string> empty = source.ResolveCommit("acme/empty", kInst);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code(), ErrorCode::kNotFound);
}

TEST(GithubSource, ArchiveHasRepositoryRelativePaths) {
  GithubEnv env;
  GithubRepo repo("lr = 0.1\n");
  env.fake.SetTarball("acme/vision", repo.sha, repo.tarball);
  TempDir scratch;
  GithubSource source(env.client, {.max_bytes = 64 << 20, .temp_dir = scratch.path()});

  Tree tree = Unpacked(source.Archive("acme/vision", kInst, repo.sha));
  EXPECT_EQ(Contents(tree), Contents(SnapshotTree(repo.work.path())));
  EXPECT_EQ(tree.size(), 4u);
  EXPECT_EQ(tree["train.py"].content, "lr = 0.1\n");
  EXPECT_EQ(tree["model.py"].content, "src/model.py");
  EXPECT_TRUE(fs::is_empty(scratch.path())) << "the downloaded tarball is removed";
  bool authorized = false;
  for (const auto& r : env.fake.Requests()) {
    if (r.target == "/repos/acme/vision/tarball/" + repo.sha)
      authorized = r.auth_scheme == "Bearer";
  }
  EXPECT_TRUE(authorized);
}

TEST(GithubSource, NeedsAValidInstallationToken) {
  GithubEnv env;
  GithubRepo repo("secret\n");
  env.fake.SetTarball("acme/vision", repo.sha, repo.tarball);
  env.fake.SetRepository("acme/vision", "main");
  env.fake.SetBranch("acme/vision", "main", repo.sha);
  github::StaticTokenSource revoked("ghs_revoked0000000000000000000000000000");
  github::Client client(env.MakeOptions(1), env.transport, revoked, env.clock);
  GithubSource source(client, {});

  Result<std::string> archive = source.Archive("acme/vision", kInst, repo.sha);
  ASSERT_FALSE(archive);
  EXPECT_EQ(archive.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(archive.error().message().find("Bad credentials"), std::string::npos)
      << archive.error().message();
  EXPECT_EQ(archive.error().message().find("ghs_revoked"), std::string::npos);
  Result<std::string> head = source.ResolveCommit("acme/vision", kInst);
  ASSERT_FALSE(head);
  EXPECT_EQ(head.error().code(), ErrorCode::kUnauthenticated);

  GithubSource no_installation(env.client, {});
  Result<std::string> none = no_installation.Archive("acme/vision", 0, repo.sha);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(no_installation.ResolveCommit("acme/vision", 0));
}

TEST(GithubSource, RefusesBadInputAndBadTarballs) {
  GithubEnv env;
  GithubSource source(env.client, {.max_bytes = 1 << 20, .temp_dir = {}});
  const std::string sha(40, 'd');
  EXPECT_EQ(source.Archive("acme", kInst, sha).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(source.Archive("acme/vision/x", kInst, sha).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(source.Archive("acme/vision", kInst, "main").error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(source.Archive("acme/vision", kInst, sha.substr(0, 7)).error().code(),
            ErrorCode::kInvalidArgument);

  Result<std::string> missing = source.Archive("acme/vision", kInst, sha);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);

  env.fake.SetTarball("acme/vision", sha, "<html>not a tarball</html>");
  Result<std::string> garbage = source.Archive("acme/vision", kInst, sha);
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(garbage.error().message().find("tarball of acme/vision at " + sha), std::string::npos)
      << garbage.error().message();

  std::string big(2 << 20, 'x');
  env.fake.SetTarball("acme/vision", sha, big);
  Result<std::string> too_big = source.Archive("acme/vision", kInst, sha);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().code(), ErrorCode::kResourceExhausted);
}

}  // namespace
}  // namespace labelrun::runtime
