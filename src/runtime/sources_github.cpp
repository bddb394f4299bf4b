// GithubSource: the default branch's head and the tarball of a commit, through
// the REST client and the App's installation token.

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "labelrun/runtime/archive.hpp"
#include "labelrun/runtime/sources.hpp"

namespace labelrun::runtime {
namespace {

bool IsFullSha(std::string_view s) {
  return (s.size() == 40 || s.size() == 64) &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(c) != 0; });
}

Error WithContext(const Error& e, const std::string& what) {
  return Error(e.code(), what + ": " + e.message());
}

}  // namespace

Result<github::Repo> ParseRepo(std::string_view full_name) {
  size_t slash = full_name.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == full_name.size() ||
      full_name.find('/', slash + 1) != std::string_view::npos) {
    return Error(ErrorCode::kInvalidArgument,
                 "'" + std::string(full_name) + "' is not a repository name (owner/name)");
  }
  return github::Repo{std::string(full_name.substr(0, slash)),
                      std::string(full_name.substr(slash + 1))};
}

GithubSource::GithubSource(github::Client& client, GithubSourceOptions options)
    : client_(client), options_(std::move(options)) {}

Result<std::string> GithubSource::ResolveCommit(const std::string& repo, int64_t installation) {
  Result<github::Repo> r = ParseRepo(repo);
  if (!r) return r.error();
  if (installation == 0) {
    return Error(ErrorCode::kFailedPrecondition,
                 "no GitHub App installation for " + repo + ": cannot read its code");
  }
  github::Client& client = options_.lookup_client ? *options_.lookup_client : client_;
  Result<github::RepositoryInfo> info = client.GetRepository(installation, *r);
  if (!info) return WithContext(info.error(), "default branch of " + repo);
  Result<std::string> sha = client.GetBranchHead(installation, *r, info->default_branch);
  if (!sha) return WithContext(sha.error(), "head of " + repo + "@" + info->default_branch);
  return sha;
}

Result<std::string> GithubSource::Archive(const std::string& repo, int64_t installation,
                                          const std::string& commit) {
  Result<github::Repo> r = ParseRepo(repo);
  if (!r) return r.error();
  if (installation == 0) {
    return Error(ErrorCode::kFailedPrecondition,
                 "no GitHub App installation for " + repo + ": cannot read its code");
  }
  if (!IsFullSha(commit)) {
    return Error(ErrorCode::kInvalidArgument,
                 "'" + commit + "' is not a full commit SHA; GitHub sources need one");
  }
  std::filesystem::path dir = options_.temp_dir;
  std::error_code ec;
  if (dir.empty()) dir = std::filesystem::temp_directory_path(ec);
  std::string templ = (dir / "labelrun-tarball-XXXXXX").string();
  int fd = mkstemp(templ.data());
  if (fd < 0) {
    return Error(ErrorCode::kUnavailable,
                 "cannot create a temporary file in '" + dir.string() + "': " + strerror(errno));
  }
  close(fd);
  std::filesystem::path file = templ;
  std::string what = "tarball of " + repo + " at " + commit;
  Result<int64_t> written = client_.DownloadTarball(installation, *r, commit, file,
                                                    static_cast<int64_t>(options_.max_bytes));
  if (!written) {
    std::filesystem::remove(file, ec);
    return WithContext(written.error(), what);
  }
  // Read from the file as it is rewritten: the compressed tarball is never
  // held in memory.
  Result<std::string> stripped = StripTopFolderFile(file, options_.max_bytes);
  std::filesystem::remove(file, ec);
  if (!stripped) return WithContext(stripped.error(), what);
  return stripped;
}

}  // namespace labelrun::runtime
