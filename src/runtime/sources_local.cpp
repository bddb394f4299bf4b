// LocalSource: code from folders on this machine, through git when they are
// work trees.

#include <sys/stat.h>

#include <algorithm>
#include <cctype>

#include "labelrun/core/strings.hpp"
#include "labelrun/runtime/archive.hpp"
#include "labelrun/runtime/sources.hpp"
#include "runtime/program.hpp"

namespace labelrun::runtime {
namespace {

// Variables that would point git at another repository than the folder's.
const std::vector<std::string>& GitLocationVariables() {
  static const std::vector<std::string> kVars = {
      "GIT_DIR",        "GIT_WORK_TREE",          "GIT_INDEX_FILE",
      "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY",   "GIT_ALTERNATE_OBJECT_DIRECTORIES",
      "GIT_NAMESPACE",  "GIT_CEILING_DIRECTORIES"};
  return kVars;
}

bool IsGitWorkTree(const std::filesystem::path& dir) {
  std::error_code ec;
  return std::filesystem::exists(dir / ".git", ec);
}

// Abbreviated or full, lower- or upper-case hex: never an option or a ref name.
bool LooksLikeCommit(std::string_view commit) {
  return commit.size() >= 4 && commit.size() <= 64 &&
         std::all_of(commit.begin(), commit.end(), [](char c) { return std::isxdigit(c) != 0; });
}

std::string FirstLine(std::string_view text) {
  text = Trim(text);
  return std::string(text.substr(0, text.find('\n')));
}

}  // namespace

LocalSource::LocalSource(LocalSourceOptions options) : options_(std::move(options)) {}

Result<std::filesystem::path> LocalSource::FolderFor(const std::string& repo) const {
  std::filesystem::path dir = options_.default_folder;
  for (const auto& [name, folder] : options_.folders) {
    if (IEquals(name, repo)) dir = folder;
  }
  if (dir.empty()) {
    return Error(ErrorCode::kNotFound, "no local folder is configured for " + repo);
  }
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Error(ErrorCode::kNotFound,
                 "the folder '" + dir.string() + "' for " + repo + " does not exist");
  }
  return dir;
}

Result<std::string> LocalSource::ResolveCommit(const std::string& repo, int64_t /*installation*/) {
  Result<std::filesystem::path> dir = FolderFor(repo);
  if (!dir) return dir.error();
  if (!IsGitWorkTree(*dir)) return std::string();
  ProgramLimits limits;
  limits.max_out = 4096;
  limits.unset_env = GitLocationVariables();
  Result<ProgramOutput> run = RunProgram(
      {options_.git, "-C", dir->string(), "rev-parse", "--verify", "HEAD^{commit}"}, limits);
  if (!run) return run.error();
  std::string sha = FirstLine(run->out);
  if (run->exit_code != 0 || !LooksLikeCommit(sha)) {
    return Error(ErrorCode::kFailedPrecondition,
                 "git rev-parse HEAD in '" + dir->string() +
                     "' failed (a repository without commits?): " + FirstLine(run->err));
  }
  return sha;
}

Result<std::string> LocalSource::Archive(const std::string& repo, int64_t /*installation*/,
                                         const std::string& commit) {
  Result<std::filesystem::path> dir = FolderFor(repo);
  if (!dir) return dir.error();
  if (!IsGitWorkTree(*dir)) {
    if (!commit.empty()) {
      return Error(ErrorCode::kFailedPrecondition,
                   "'" + dir->string() + "' is not a git work tree; it has no commit " + commit);
    }
    return TarGzFolder(*dir, options_.max_bytes);
  }
  if (!LooksLikeCommit(commit)) {
    return Error(ErrorCode::kInvalidArgument, "'" + commit + "' is not a commit id");
  }
  ProgramLimits limits;
  limits.unset_env = GitLocationVariables();
  limits.max_out = 4096;
  Result<ProgramOutput> exists = RunProgram(
      {options_.git, "-C", dir->string(), "cat-file", "-e", commit + "^{commit}"}, limits);
  if (!exists) return exists.error();
  if (exists->exit_code != 0) {
    if (exists->err.find("Not a valid object name") != std::string::npos) {
      return Error(ErrorCode::kNotFound, "commit " + commit + " is not in '" + dir->string() + "'");
    }
    return Error(ErrorCode::kFailedPrecondition,
                 "git cat-file in '" + dir->string() + "' failed: " + FirstLine(exists->err));
  }
  // A top folder, then StripTopFolder: the same checks and the same output as a
  // GitHub tarball (git archive honours export-ignore as GitHub does). The
  // compressed stream is capped at the uncompressed limit plus gzip's overhead.
  limits.max_out = options_.max_bytes + options_.max_bytes / 1000 + (64 << 10);
  Result<ProgramOutput> run = RunProgram(
      {options_.git, "-C", dir->string(), "archive", "--format=tar.gz", "--prefix=repo/", commit},
      limits);
  if (!run) return run.error();
  if (run->exit_code != 0) {
    return Error(ErrorCode::kFailedPrecondition, "git archive " + commit + " in '" + dir->string() +
                                                     "' failed: " + FirstLine(run->err));
  }
  return StripTopFolder(run->out, options_.max_bytes);
}

}  // namespace labelrun::runtime
