#pragma once
// The SourceProviders: LocalSource (folders on this machine, for tests and
// local mode) and GithubSource (the repository on GitHub). Either way the
// container receives a gzip tar of the code and nothing else: the GitHub token
// stays in labelrun.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "labelrun/core/result.hpp"
#include "labelrun/github/client.hpp"
#include "labelrun/runtime/source.hpp"

namespace labelrun::runtime {

// "owner/name" -> {owner, name}; kInvalidArgument for anything else.
Result<github::Repo> ParseRepo(std::string_view full_name);

struct LocalSourceOptions {
  // Repository ("owner/name", matched without regard to case) -> its folder.
  std::map<std::string, std::filesystem::path> folders;
  // The folder for any repository not in `folders`; empty: none.
  std::filesystem::path default_folder;
  size_t max_bytes = size_t{2} << 30;  // of uncompressed archive
  std::string git = "git";             // the git program, looked up in PATH
};

// Code from folders on this machine. `installation` is ignored.
//
// A folder holding `.git` is a git work tree and is versioned: ResolveCommit is
// `git rev-parse HEAD`, Archive is `git archive` of that commit. The job gets
// the commit that was decided on even when the folder has moved on since, and
// never uncommitted changes.
//
// Any other folder is not versioned: ResolveCommit returns "" and Archive("")
// packs the folder as it is when the container is created (TarGzFolder). A
// content hash in place of "" would cost a full read of the folder for every
// decision and still could not bring the old content back.
//
// Errors: kNotFound (no folder configured or present, an unknown commit),
// kFailedPrecondition (git fails or is missing, a git folder without commits,
// a commit asked of a plain folder), kInvalidArgument (a malformed commit),
// plus those of StripTopFolder / TarGzFolder. Thread-safe.
class LocalSource final : public SourceProvider {
 public:
  explicit LocalSource(LocalSourceOptions options);

  Result<std::string> ResolveCommit(const std::string& repo, int64_t installation) override;
  Result<std::string> Archive(const std::string& repo, int64_t installation,
                              const std::string& commit) override;

  // The folder serving `repo`, or kNotFound.
  Result<std::filesystem::path> FolderFor(const std::string& repo) const;

 private:
  LocalSourceOptions options_;
};

struct GithubSourceOptions {
  // Of uncompressed archive; the download is capped at the same size.
  size_t max_bytes = size_t{2} << 30;
  // Where the tarball is downloaded before it is rewritten; empty: the system
  // temporary folder. The file is removed before Archive returns.
  std::filesystem::path temp_dir;
  // The client ResolveCommit calls through; null: the one Archive uses. Resolving
  // runs while a delivery is processed, so it is given a client that does not
  // wait between attempts inside a call: the inbox retries the delivery later
  // instead, and deliveries for other issues go on meanwhile.
  github::Client* lookup_client = nullptr;
};

// Code from GitHub with the App's installation token.
//   ResolveCommit: the head of the default branch (GET /repos/{o}/{r} for
//     default_branch, then GET /repos/{o}/{r}/git/ref/heads/{branch}).
//   Archive: GET /repos/{o}/{r}/tarball/{sha}, downloaded to a temporary file,
//     then StripTopFolderFile; `commit` must be a full SHA (40 or 64 hex digits).
// Both need the delivery's installation (0: kFailedPrecondition). GitHub's
// errors keep their codes (see github/client.hpp): kUnauthenticated for a bad
// token, kNotFound for an unknown repository or commit, kUnavailable and
// kResourceExhausted (rate limit) worth retrying later.
class GithubSource final : public SourceProvider {
 public:
  // REQUIRES: `client` outlives the source. Thread-safe.
  GithubSource(github::Client& client, GithubSourceOptions options);

  Result<std::string> ResolveCommit(const std::string& repo, int64_t installation) override;
  Result<std::string> Archive(const std::string& repo, int64_t installation,
                              const std::string& commit) override;

 private:
  github::Client& client_;
  GithubSourceOptions options_;
};

}  // namespace labelrun::runtime
