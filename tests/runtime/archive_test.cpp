#include "labelrun/runtime/archive.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "runtime/tar_io.hpp"
#include "support/file_tree.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::runtime {
namespace {

namespace fs = std::filesystem;
using labelrun::testing::ExtractTarGz;
using labelrun::testing::Git;
using labelrun::testing::ListTarGz;
using labelrun::testing::ReadFile;
using labelrun::testing::RunCommand;
using labelrun::testing::SnapshotTree;
using labelrun::testing::TempDir;
using labelrun::testing::Tree;

constexpr size_t kMax = 64 << 20;

// A name of `n` characters.
std::string Long(char c, size_t n) { return std::string(n, c); }

// A folder with what repositories hold: nested dirs, an executable, an empty
// file, binary bytes, relative and absolute symlinks, and paths too long for
// the 100-byte ustar name field (splittable and not).
void FillRepo(const fs::path& root) {
  auto write = [&root](const std::string& rel, const std::string& content, fs::perms mode) {
    fs::path p = root / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    fs::permissions(p, mode);
  };
  write("README.md", "# vision\n", fs::perms(0644));
  write("train.sh", "#!/bin/sh\necho train\n", fs::perms(0755));
  write("empty", "", fs::perms(0600));
  std::string binary;
  for (int i = 0; i < 200'000; ++i) binary += static_cast<char>((i * 7919) % 256);
  write("data/weights.bin", binary, fs::perms(0644));
  write("src/models/resnet.py", "import torch\n", fs::perms(0644));
  // 130 characters of folders + a short name: fits ustar's prefix + name fields.
  std::string deep = Long('d', 60) + "/" + Long('e', 60) + "/" + Long('f', 8);
  write(deep + "/model.py", "deep\n", fs::perms(0644));
  // A 130-character file name: no split fits, so it needs a pax header.
  write("configs/" + Long('n', 130) + ".yaml", "lr: 0.1\n", fs::perms(0640));
  fs::create_directories(root / "empty_dir");
  fs::permissions(root / "empty_dir", fs::perms(0750));
  fs::create_directory_symlink("src/models", root / "models");
  fs::create_symlink("../README.md", root / "src/readme-link");
  fs::create_symlink("/opt/" + Long('t', 120), root / "long-target");
}

std::string MakeTarGz(const fs::path& dir, const std::vector<std::string>& tar_args) {
  TempDir out;
  std::vector<std::string> argv = {"/usr/bin/tar", "-czf", (out / "a.tar.gz").string(), "-C",
                                   dir.string()};
  argv.insert(argv.end(), tar_args.begin(), tar_args.end());
  std::string log;
  EXPECT_EQ(RunCommand(argv, &log), 0) << log;
  return ReadFile(out / "a.tar.gz");
}

Tree Extracted(const std::string& tar_gz, const fs::path& dest) {
  std::string log;
  EXPECT_EQ(ExtractTarGz(tar_gz, dest, &log), 0) << log;
  return SnapshotTree(dest, /*skip_git=*/false);
}

TEST(TarGzFolder, ExtractsWithTarToTheSameTree) {
  TempDir src, dest;
  FillRepo(src.path());
  Result<std::string> archive = TarGzFolder(src.path(), kMax);
  ASSERT_TRUE(archive) << archive.error().ToString();
  Tree want = SnapshotTree(src.path());
  ASSERT_EQ(want.size(), 18u);
  EXPECT_EQ(Extracted(*archive, dest.path()), want);
}

TEST(TarGzFolder, WritesRootOwnedPortableHeaders) {
  TempDir src;
  FillRepo(src.path());
  Result<std::string> archive = TarGzFolder(src.path(), kMax);
  ASSERT_TRUE(archive);
  std::string listing = ListTarGz(*archive);
  EXPECT_NE(listing.find("-rwxr-xr-x 0/0"), std::string::npos) << listing;
  size_t lines = 0;
  for (size_t at = 0; at < listing.size(); at = listing.find('\n', at) + 1) {
    std::string line = listing.substr(at, listing.find('\n', at) - at);
    EXPECT_NE(line.find(" 0/0 "), std::string::npos) << line;
    ++lines;
  }
  EXPECT_EQ(lines, 18u);
  EXPECT_EQ(listing.find("PaxHeader"), std::string::npos) << listing;  // folded in by tar
  EXPECT_EQ(listing.find(" ./"), std::string::npos) << "paths are relative, no './'";
  // Stable order and content: the same folder gives the same bytes.
  Result<std::string> again = TarGzFolder(src.path(), kMax);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *archive);
}

TEST(TarGzFolder, LeavesOutGitMetadata) {
  TempDir src, dest;
  src.Write("main.py", "print(1)\n");
  src.Write(".git/HEAD", "ref: refs/heads/main\n");
  src.Write("vendor/lib/.git", "gitdir: ../../.git/modules/lib\n");
  src.Write("vendor/lib/lib.py", "x = 1\n");
  src.Write(".gitignore", "*.pyc\n");
  Result<std::string> archive = TarGzFolder(src.path(), kMax);
  ASSERT_TRUE(archive);
  Tree got = Extracted(*archive, dest.path());
  EXPECT_EQ(got.count(".git"), 0u);
  EXPECT_EQ(got.count("vendor/lib/.git"), 0u);
  EXPECT_EQ(got.count("vendor/lib/lib.py"), 1u);
  EXPECT_EQ(got.count(".gitignore"), 1u);
}

TEST(TarGzFolder, StopsAtTheSizeLimit) {
  TempDir src;
  src.Write("big.bin", std::string(100'000, 'x'));
  Result<std::string> small = TarGzFolder(src.path(), 50'000);
  ASSERT_FALSE(small);
  EXPECT_EQ(small.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(small.error().message().find("50000"), std::string::npos);
  // Header + data + padding + end blocks: 512 + 100,352 + 1,024.
  EXPECT_TRUE(TarGzFolder(src.path(), 101'888));
  EXPECT_FALSE(TarGzFolder(src.path(), 101'887));
}

TEST(TarGzFolder, RefusesWhatItCannotArchive) {
  TempDir dir;
  Result<std::string> missing = TarGzFolder(dir / "nope", kMax);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);

  fs::path file = dir.Write("file.txt", "x");
  Result<std::string> not_dir = TarGzFolder(file, kMax);
  ASSERT_FALSE(not_dir);
  EXPECT_EQ(not_dir.error().code(), ErrorCode::kInvalidArgument);

  TempDir with_fifo;
  ASSERT_EQ(mkfifo((with_fifo / "pipe").c_str(), 0644), 0);
  Result<std::string> fifo = TarGzFolder(with_fifo.path(), kMax);
  ASSERT_FALSE(fifo);
  EXPECT_EQ(fifo.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(fifo.error().message().find("pipe"), std::string::npos);

  TempDir escaping;
  escaping.Write("a/b.txt", "x");
  fs::create_symlink("../../../etc/passwd", escaping / "a/passwd");
  Result<std::string> out = TarGzFolder(escaping.path(), kMax);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(out.error().message().find("points outside the repository"), std::string::npos);
}

// The oracle for StripTopFolder: the stripped archive extracts to exactly what
// the original's top folder extracts to.
void ExpectStripsLikeTar(const std::string& original, const std::string& top) {
  TempDir a, b;
  Extracted(original, a.path());
  Tree want = SnapshotTree(a / top, /*skip_git=*/false);
  ASSERT_FALSE(want.empty());
  Result<std::string> stripped = StripTopFolder(original, kMax);
  ASSERT_TRUE(stripped) << stripped.error().ToString();
  EXPECT_EQ(Extracted(*stripped, b.path()), want);
}

TEST(StripTopFolder, StripsARealGitArchive) {
  TempDir repo, out;
  FillRepo(repo.path());
  Git(repo.path(), {"init", "-q", "-b", "main"});
  Git(repo.path(), {"add", "-A"});
  Git(repo.path(), {"commit", "-q", "-m", "first"});
  std::string sha = Git(repo.path(), {"rev-parse", "HEAD"});
  std::string top = "acme-vision-" + sha.substr(0, 7);
  Git(repo.path(), {"archive", "--format=tar.gz", "--prefix=" + top + "/", "-o",
                    (out / "gh.tar.gz").string(), sha});
  std::string original = ReadFile(out / "gh.tar.gz");
  ASSERT_NE(ListTarGz(original).find(top + "/README.md"), std::string::npos);
  ExpectStripsLikeTar(original, top);

  Result<std::string> stripped = StripTopFolder(original, kMax);
  ASSERT_TRUE(stripped);
  // The commit comment in the pax global header does not survive, nor does the top folder.
  std::string raw;
  ASSERT_EQ(
      RunCommand({"/bin/gzip", "-dc", out.Write("stripped.tar.gz", *stripped).string()}, &raw), 0)
      << raw;
  ASSERT_GT(raw.size(), 200'000u);
  EXPECT_EQ(raw.find("pax_global_header"), std::string::npos);
  EXPECT_EQ(raw.find(sha), std::string::npos);
  EXPECT_EQ(raw.find(top), std::string::npos);
  std::string listing = ListTarGz(*stripped);
  EXPECT_NE(listing.find(" README.md\n"), std::string::npos) << listing;
  EXPECT_NE(listing.find(" models -> src/models\n"), std::string::npos) << listing;
}

TEST(StripTopFolder, ReadsATarballFileAsItRewritesIt) {
  TempDir parent;
  FillRepo(parent / "owner-repo-abc1234");
  fs::path file = parent.Write("gh.tar.gz", MakeTarGz(parent.path(), {"owner-repo-abc1234"}));
  Result<std::string> from_file = StripTopFolderFile(file, kMax);
  ASSERT_TRUE(from_file) << from_file.error().ToString();
  Result<std::string> from_memory = StripTopFolder(ReadFile(file), kMax);
  ASSERT_TRUE(from_memory);
  EXPECT_EQ(*from_file, *from_memory);

  Result<std::string> missing = StripTopFolderFile(parent / "none.tar.gz", kMax);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  Result<std::string> small = StripTopFolderFile(file, 100'000);
  ASSERT_FALSE(small);
  EXPECT_EQ(small.error().code(), ErrorCode::kResourceExhausted);
  Result<std::string> plain = StripTopFolderFile(parent.Write("plain", "not gzip"), kMax);
  ASSERT_FALSE(plain);
  EXPECT_EQ(plain.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(plain.error().message().find("not a gzip stream"), std::string::npos);
}

TEST(StripTopFolder, ReadsEveryTarFlavourOfLongNames) {
  TempDir parent;
  fs::create_directories(parent / "owner-repo-abc1234");
  FillRepo(parent / "owner-repo-abc1234");
  parent.Write("owner-repo-abc1234/hard-a", "same inode\n");
  fs::create_hard_link(parent / "owner-repo-abc1234/hard-a", parent / "owner-repo-abc1234/hard-b");
  for (std::string format : {"gnu", "pax", "posix", "oldgnu"}) {
    SCOPED_TRACE(format);
    ExpectStripsLikeTar(MakeTarGz(parent.path(), {"--format=" + format, "owner-repo-abc1234"}),
                        "owner-repo-abc1234");
  }
  // ustar cannot hold the 130-character name; without it, the prefix field is exercised.
  fs::remove(parent / "owner-repo-abc1234/configs" / (Long('n', 130) + ".yaml"));
  fs::remove(parent / "owner-repo-abc1234/long-target");
  ExpectStripsLikeTar(MakeTarGz(parent.path(), {"--format=ustar", "owner-repo-abc1234"}),
                      "owner-repo-abc1234");
  // "./top/..." as `tar -C parent ./top` writes it.
  ExpectStripsLikeTar(MakeTarGz(parent.path(), {"./owner-repo-abc1234"}), "owner-repo-abc1234");
}

// Crafted archives: tar::Writer (libarchive) writes whatever path it is given.
struct Crafted {
  tar::Writer writer{UINT64_MAX};
  void Add(const std::string& path, tar::Type type, const std::string& data = "",
           const std::string& link = "") {
    tar::Entry e;
    e.path = path;
    e.type = type;
    e.size = data.size();
    e.link = link;
    ASSERT_TRUE(writer.BeginEntry(e));
    ASSERT_TRUE(writer.WriteData(data));
    ASSERT_TRUE(writer.EndEntry());
  }
  std::string Done() {
    Result<std::string> bytes = writer.Finish();
    EXPECT_TRUE(bytes);
    return bytes ? *bytes : "";
  }
};

Error StripError(const std::string& archive) {
  Result<std::string> out = StripTopFolder(archive, kMax);
  EXPECT_FALSE(out);
  return out ? Error(ErrorCode::kInternal, "stripped") : out.error();
}

TEST(StripTopFolder, RefusesEntriesThatEscapeTheRoot) {
  struct Case {
    std::vector<std::tuple<std::string, tar::Type, std::string>> entries;  // path, type, link
    std::string message;
  };
  using tar::Type;
  std::vector<Case> cases = {
      {{{"top/", Type::kDirectory, ""}, {"top/../evil", Type::kFile, ""}}, "'..'"},
      {{{"top/", Type::kDirectory, ""}, {"top/a/../../evil", Type::kFile, ""}}, "'..'"},
      {{{"/etc/passwd", Type::kFile, ""}}, "absolute path"},
      {{{"top/", Type::kDirectory, ""}, {"/top/x", Type::kFile, ""}}, "absolute path"},
      {{{"top/", Type::kDirectory, ""}, {"other/x", Type::kFile, ""}}, "outside the top folder"},
      {{{"README.md", Type::kFile, ""}}, "not inside a top folder"},
      {{{"top/", Type::kDirectory, ""}, {"top/l", Type::kSymlink, "../../etc"}},
       "points outside the repository"},
      {{{"top/", Type::kDirectory, ""}, {"top/a/l", Type::kSymlink, "../x/../../y"}},
       "points outside the repository"},
      {{{"top/", Type::kDirectory, ""}, {"top/h", Type::kHardLink, "/etc/shadow"}},
       "absolute path"},
      {{{"top/", Type::kDirectory, ""}, {"top/h", Type::kHardLink, "elsewhere/x"}},
       "points outside the repository"},
      {{{"top/", Type::kDirectory, ""},
        {"top/lib", Type::kSymlink, "/usr/lib"},
        {"top/lib/evil.so", Type::kFile, ""}},
       "beneath the symlink 'lib'"},
      {{{"top/", Type::kDirectory, ""}, {"top/dev", Type::kCharDevice, ""}},
       "only files, directories, symlinks and hard links"},
      {{{"top/", Type::kDirectory, ""}, {"top/fifo", Type::kFifo, ""}},
       "only files, directories, symlinks and hard links"},
  };
  for (const Case& c : cases) {
    Crafted archive;
    for (const auto& [path, type, link] : c.entries) archive.Add(path, type, "", link);
    Error error = StripError(archive.Done());
    SCOPED_TRACE(std::get<0>(c.entries.back()));
    EXPECT_EQ(error.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(error.message().find(c.message), std::string::npos) << error.message();
  }
}

TEST(StripTopFolder, KeepsLinksThatStayInside) {
  Crafted archive;
  archive.Add("top/", tar::Type::kDirectory);
  archive.Add("top/a/", tar::Type::kDirectory);
  archive.Add("top/a/b.txt", tar::Type::kFile, "bee\n");
  archive.Add("top/a/up", tar::Type::kSymlink, "", "../a/./b.txt");
  archive.Add("top/abs", tar::Type::kSymlink, "", "/usr/lib/python3");
  archive.Add("top/hard", tar::Type::kHardLink, "", "top/a/b.txt");
  Result<std::string> out = StripTopFolder(archive.Done(), kMax);
  ASSERT_TRUE(out) << out.error().ToString();
  std::string listing = ListTarGz(*out);
  EXPECT_NE(listing.find(" a/up -> ../a/./b.txt"), std::string::npos) << listing;
  EXPECT_NE(listing.find(" abs -> /usr/lib/python3"), std::string::npos) << listing;
  EXPECT_NE(listing.find(" hard link to a/b.txt"), std::string::npos) << listing;
}

TEST(StripTopFolder, StopsAtTheUncompressedLimit) {
  // 8 MB of zeros compresses to a few KB: the limit is on what it inflates to.
  Crafted archive;
  archive.Add("top/", tar::Type::kDirectory);
  archive.Add("top/zeros", tar::Type::kFile, std::string(8 << 20, '\0'));
  std::string bomb = archive.Done();
  ASSERT_LT(bomb.size(), 64u << 10);
  Result<std::string> out = StripTopFolder(bomb, 1 << 20);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_TRUE(StripTopFolder(bomb, 9 << 20));
}

TEST(StripTopFolder, RefusesWhatIsNotATarball) {
  EXPECT_EQ(StripError("").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(StripError("plain text, not gzip").code(), ErrorCode::kInvalidArgument);

  Crafted good;
  good.Add("top/", tar::Type::kDirectory);
  good.Add("top/f", tar::Type::kFile, std::string(10'000, 'x'));
  std::string bytes = good.Done();
  Error truncated = StripError(bytes.substr(0, bytes.size() / 2));
  EXPECT_EQ(truncated.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(truncated.message().find("truncated"), std::string::npos) << truncated.message();

  // Gzip of something that is not tar: the header checksum does not add up.
  TempDir dir;
  std::string noise;
  for (int i = 0; i < 2048; ++i) noise += static_cast<char>('a' + i % 26);
  std::string log;
  ASSERT_EQ(RunCommand({"/bin/gzip", "-n", dir.Write("noise", noise).string()}, &log), 0) << log;
  Error not_tar = StripError(ReadFile(dir / "noise.gz"));
  EXPECT_NE(not_tar.message().find("checksum"), std::string::npos) << not_tar.message();

  Crafted empty;
  EXPECT_NE(StripError(empty.Done()).message().find("no entries"), std::string::npos);
}

// Collected outputs: the plain tar Docker sends for a folder, made here by the
// system tar the same way (one top folder).
std::string OutputsTar(const fs::path& parent) {
  TempDir out;
  std::string log;
  EXPECT_EQ(RunCommand(
                {"/usr/bin/tar", "-cf", (out / "o.tar").string(), "-C", parent.string(), "outputs"},
                &log),
            0)
      << log;
  return ReadFile(out / "o.tar");
}

TEST(Outputs, ListsTheFilesAndReadsEachByItsPath) {
  TempDir dir;
  FillRepo(dir / "outputs");
  const std::string tar = OutputsTar(dir.path());

  Result<std::vector<OutputFile>> files = ListOutputs(tar);
  ASSERT_TRUE(files) << files.error().ToString();
  std::map<std::string, uint64_t> listed;
  for (const OutputFile& f : *files) listed[f.path] = f.size;
  EXPECT_EQ(listed.count("README.md"), 1u);
  EXPECT_EQ(listed["data/weights.bin"], 200'000u);
  EXPECT_EQ(listed.count("configs/" + Long('n', 130) + ".yaml"), 1u) << "a pax long name";
  EXPECT_EQ(listed.count("models"), 0u) << "symlinks are not files";
  EXPECT_EQ(listed.count("empty_dir"), 0u);

  Result<std::string> weights = ReadOutput(tar, "data/weights.bin", kMax);
  ASSERT_TRUE(weights) << weights.error().ToString();
  EXPECT_EQ(*weights, ReadFile(dir / "outputs/data/weights.bin"));
  Result<std::string> empty = ReadOutput(tar, "empty", kMax);
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, "");

  for (const char* missing : {"nothing", "models/resnet.py", "../outputs/README.md", "data", ""}) {
    Result<std::string> r = ReadOutput(tar, missing, kMax);
    ASSERT_FALSE(r) << missing;
    EXPECT_EQ(r.error().code(), ErrorCode::kNotFound) << missing;
  }
  Result<std::string> big = ReadOutput(tar, "data/weights.bin", 1000);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code(), ErrorCode::kResourceExhausted);
}

TEST(Outputs, LeavesOutWhatIsNotAFile) {
  TempDir dir;
  dir.Write("outputs/model.pt", "weights");
  ASSERT_EQ(mkfifo((dir / "outputs/pipe").c_str(), 0644), 0);
  fs::create_symlink("model.pt", dir / "outputs/latest.pt");
  Result<std::vector<OutputFile>> files = ListOutputs(OutputsTar(dir.path()));
  ASSERT_TRUE(files) << files.error().ToString();
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].path, "model.pt");
  EXPECT_EQ((*files)[0].size, 7u);
}

TEST(Outputs, ABrokenArchiveIsAnErrorNotACrash) {
  TempDir dir;
  FillRepo(dir / "outputs");
  std::string tar = OutputsTar(dir.path());
  tar[100] ^= 0x55;  // inside the first header: its checksum no longer holds
  EXPECT_FALSE(ListOutputs(tar));
  EXPECT_FALSE(ReadOutput(tar, "README.md", kMax));
  EXPECT_FALSE(ReadOutput(tar.substr(0, 700), "data/weights.bin", kMax));
  Result<std::vector<OutputFile>> none = ListOutputs("");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace labelrun::runtime
