#pragma once
// Folder trees as values, for comparing what an archive extracts to with what
// went into it; and the system `tar` and `git` CLIs as oracles.

#include <cstdint>
#include <filesystem>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace labelrun::testing {

struct TreeNode {
  char type = 'f';      // 'f' file, 'd' directory, 'l' symlink
  uint32_t mode = 0;    // permission bits (not for symlinks)
  std::string content;  // file bytes, or the symlink's target
  int64_t mtime = 0;    // files only; 0 for the rest
  bool operator==(const TreeNode&) const = default;
};
void PrintTo(const TreeNode& node, std::ostream* os);

// Every entry under `root` (not root itself) by its path relative to root,
// '/'-separated; anything named ".git" is left out when `skip_git`.
using Tree = std::map<std::string, TreeNode>;
Tree SnapshotTree(const std::filesystem::path& root, bool skip_git = true);

// Extracts a gzip tar into `dest` (created) with the system tar. Returns tar's
// exit status; its output goes to *log.
int ExtractTarGz(const std::string& tar_gz, const std::filesystem::path& dest, std::string* log);
// `tar -tvz --numeric-owner` of a gzip tar, or the error text.
std::string ListTarGz(const std::string& tar_gz);

// Runs git with a fixed identity and no user configuration; fails the test on a
// non-zero exit. Returns stdout+stderr, trailing whitespace trimmed.
std::string Git(const std::filesystem::path& repo, const std::vector<std::string>& args);

}  // namespace labelrun::testing
