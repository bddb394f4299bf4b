// Collected outputs on disk: written through the size cap as Docker streams
// them, listed and located from the tar's headers without reading the data.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "labelrun/runtime/archive.hpp"
#include "runtime/tar_cap.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace labelrun::runtime {
namespace {

namespace fs = std::filesystem;
using labelrun::testing::ReadFile;
using labelrun::testing::RunCommand;
using labelrun::testing::TempDir;

int64_t RssKib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

// A plain tar of `parent`/outputs, as Docker sends a folder (the system tar,
// data written out in full: no sparse entries).
fs::path OutputsTar(const fs::path& parent, const fs::path& tar) {
  std::string log;
  EXPECT_EQ(
      RunCommand({"/usr/bin/tar", "-cf", tar.string(), "-C", parent.string(), "outputs"}, &log), 0)
      << log;
  return tar;
}

void WriteFile(const fs::path& path, const std::string& data) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << data;
}

// Feeds `tar` to a sink in uneven pieces, as curl hands them over.
struct Capped {
  bool completed = false;  // the sink took the whole stream
  std::string truncation;
  Status finished = Ok();
};
Capped CapInto(const std::string& tar, uint64_t max_bytes, const fs::path& out) {
  std::FILE* f = std::fopen(out.c_str(), "w+b");
  tar::CappedTarSink sink(f, max_bytes);
  Capped c;
  c.completed = true;
  for (size_t at = 0, step = 1; at < tar.size(); at += step, step = step * 3 % 7919 + 1) {
    if (!sink.Write(std::string_view(tar).substr(at, step))) {
      c.completed = false;
      break;
    }
  }
  c.finished = sink.Finish();
  c.truncation = sink.truncation();
  std::fclose(f);
  return c;
}

std::string TarListing(const fs::path& tar) {
  std::string listing;
  EXPECT_EQ(RunCommand({"/usr/bin/tar", "-tvf", tar.string()}, &listing), 0) << listing;
  return listing;
}

TEST(CappedTarSink, KeepsWholeEntriesUpToTheCapAndSaysWhatWasLeftOut) {
  TempDir dir;
  WriteFile(dir / "outputs/a.txt", std::string(1000, 'a'));
  WriteFile(dir / ("outputs/" + std::string(120, 'l') + ".txt"), "long name: a pax header");
  WriteFile(dir / "outputs/big.bin", std::string(300'000, 'b'));
  const std::string tar = ReadFile(OutputsTar(dir.path(), dir / "all.tar"));

  // Under the cap: the same entries, the same data.
  Capped all = CapInto(tar, 1 << 20, dir / "all-capped.tar");
  EXPECT_TRUE(all.completed);
  ASSERT_TRUE(all.finished) << all.finished.error().ToString();
  EXPECT_EQ(all.truncation, "");
  Result<std::vector<OutputFile>> files = ListOutputsInFile(dir / "all-capped.tar");
  ASSERT_TRUE(files) << files.error().ToString();
  EXPECT_EQ(files->size(), 3u);

  // 100 KiB: big.bin cannot fit, and nothing after it is kept either.
  Capped cut = CapInto(tar, 100 << 10, dir / "cut.tar");
  EXPECT_FALSE(cut.completed) << "the stream is stopped, not read to its end";
  ASSERT_TRUE(cut.finished) << cut.finished.error().ToString();
  EXPECT_NE(cut.truncation.find("outputs/big.bin"), std::string::npos) << cut.truncation;
  EXPECT_NE(cut.truncation.find("job.outputs_max_bytes"), std::string::npos) << cut.truncation;
  EXPECT_LE(fs::file_size(dir / "cut.tar"), 100u << 10);
  const std::string listing = TarListing(dir / "cut.tar");  // a valid archive
  EXPECT_EQ(listing.find("big.bin"), std::string::npos) << listing;
  files = ListOutputsInFile(dir / "cut.tar");
  ASSERT_TRUE(files) << files.error().ToString();
  std::map<std::string, uint64_t> kept;
  for (const OutputFile& f : *files) kept[f.path] = f.size;
  EXPECT_EQ(kept["a.txt"], 1000u);
  EXPECT_EQ(kept.count(std::string(120, 'l') + ".txt"), 1u) << "the pax header went with it";

  // Over the cap only by its end blocks: nothing is left out.
  // The last entry's data ends in its last non-zero byte's block; tar then pads
  // the stream to 10 KiB records with zeros.
  const uint64_t end = tar.find_last_not_of('\0');
  const uint64_t exact = (end / 512 + 1) * 512 + 1024;
  Capped tight = CapInto(tar, exact, dir / "tight.tar");
  ASSERT_TRUE(tight.finished) << tight.finished.error().ToString();
  EXPECT_EQ(tight.truncation, "");
  EXPECT_EQ(fs::file_size(dir / "tight.tar"), exact);
  files = ListOutputsInFile(dir / "tight.tar");
  ASSERT_TRUE(files);
  EXPECT_EQ(files->size(), 3u);
  // One byte less: the last entry is left out.
  Capped under = CapInto(tar, exact - 1, dir / "under.tar");
  ASSERT_TRUE(under.finished) << under.finished.error().ToString();
  EXPECT_NE(under.truncation.find("and everything after it left out; 3 entries"), std::string::npos)
      << under.truncation;

  // A stream that ends inside an entry is an error, not a short file.
  Capped broken = CapInto(tar.substr(0, 1700), 1 << 20, dir / "broken.tar");
  EXPECT_FALSE(broken.finished);
}

// A 128 MiB file (sparse on the job's disk, written out in full in the tar):
// listing the archive and finding the file read headers only.
TEST(OutputsInFile, ListAndFindWithoutReadingTheData) {
  TempDir dir;
  fs::create_directories(dir / "outputs");
  WriteFile(dir / "outputs/small.txt", "hello\n");
  WriteFile(dir / "outputs/huge.bin", "");
  ASSERT_EQ(truncate((dir / "outputs/huge.bin").c_str(), 128LL << 20), 0);
  const fs::path tar = OutputsTar(dir.path(), dir / "o.tar");
  const int64_t before = RssKib();
  Result<std::vector<OutputFile>> files = ListOutputsInFile(tar);
  ASSERT_TRUE(files) << files.error().ToString();
  std::map<std::string, OutputFile> by_path;
  for (const OutputFile& f : *files) by_path[f.path] = f;
  EXPECT_EQ(by_path["huge.bin"].size, 128u << 20) << "counted by its logical size";
  Result<OutputFile> small = FindOutput(tar, "small.txt");
  ASSERT_TRUE(small) << small.error().ToString();
  Result<OutputFile> huge = FindOutput(tar, "huge.bin");
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->size, 128u << 20);
  EXPECT_LT(RssKib() - before, 8 * 1024) << "KiB: the archive was read into memory";
  std::ifstream in(tar, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(small->offset));
  std::string data(small->size, '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  EXPECT_EQ(data, "hello\n");

  Result<OutputFile> missing = FindOutput(tar, "../outputs/small.txt");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  // Cut short inside huge.bin: found in the headers, but its data is not all there.
  ASSERT_EQ(truncate(tar.c_str(), 4 << 20), 0);
  Result<OutputFile> cut = FindOutput(tar, "huge.bin");
  EXPECT_FALSE(cut);
  EXPECT_FALSE(ListOutputsInFile(dir / "none.tar"));
}

}  // namespace
}  // namespace labelrun::runtime
