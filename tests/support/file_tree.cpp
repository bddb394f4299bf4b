#include "support/file_tree.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::testing {
namespace {

void Walk(const std::filesystem::path& dir, const std::string& rel, bool skip_git, Tree& out) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (!(skip_git && name == ".git")) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    std::filesystem::path p = dir / name;
    std::string path = rel.empty() ? name : rel + "/" + name;
    struct stat st {};
    if (lstat(p.c_str(), &st) != 0) {
      ADD_FAILURE() << "lstat " << p;
      continue;
    }
    TreeNode node;
    if (S_ISDIR(st.st_mode)) {
      node.type = 'd';
      node.mode = st.st_mode & 07777;
      out[path] = node;
      Walk(p, path, skip_git, out);
    } else if (S_ISLNK(st.st_mode)) {
      node.type = 'l';
      node.content = std::filesystem::read_symlink(p).string();
      out[path] = node;
    } else {
      node.type = 'f';
      node.mode = st.st_mode & 07777;
      node.content = ReadFile(p);
      node.mtime = st.st_mtime;
      out[path] = node;
    }
  }
}

std::string TrimEnd(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

void PrintTo(const TreeNode& node, std::ostream* os) {
  *os << node.type << " mode " << std::oct << node.mode << std::dec << " mtime " << node.mtime
      << " " << node.content.size() << " bytes '" << node.content.substr(0, 40) << "'";
}

Tree SnapshotTree(const std::filesystem::path& root, bool skip_git) {
  Tree out;
  Walk(root, "", skip_git, out);
  return out;
}

int ExtractTarGz(const std::string& tar_gz, const std::filesystem::path& dest, std::string* log) {
  TempDir scratch;
  std::filesystem::path file = scratch.Write("archive.tar.gz", tar_gz);
  std::filesystem::create_directories(dest);
  return RunCommand({"/usr/bin/tar", "-xzpf", file.string(), "-C", dest.string()}, log);
}

std::string ListTarGz(const std::string& tar_gz) {
  TempDir scratch;
  std::filesystem::path file = scratch.Write("archive.tar.gz", tar_gz);
  std::string out;
  RunCommand({"/usr/bin/tar", "-tvzf", file.string(), "--numeric-owner"}, &out);
  return out;
}

std::string Git(const std::filesystem::path& repo, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/git",
                                   "-C",
                                   repo.string(),
                                   "-c",
                                   "user.name=Test",
                                   "-c",
                                   "user.email=test@example.com",
                                   "-c",
                                   "commit.gpgsign=false"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  int rc =
      RunCommand(argv, &out, {{"GIT_CONFIG_GLOBAL", "/dev/null"}, {"GIT_CONFIG_NOSYSTEM", "1"}});
  EXPECT_EQ(rc, 0) << "git " << args[0] << ": " << out;
  return TrimEnd(out);
}

}  // namespace labelrun::testing
