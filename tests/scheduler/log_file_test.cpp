#include "scheduler/log_file.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "support/temp_dir.hpp"

namespace labelrun::scheduler {
namespace {

std::string Read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

runtime::LogLine Line(std::string_view ts, std::string_view text,
                      runtime::LogStream s = runtime::LogStream::kStdout) {
  return runtime::LogLine{s, ts, text, false};
}

constexpr std::string_view kT1 = "2026-11-26T10:00:00.000000001Z";
constexpr std::string_view kT2 = "2026-11-26T10:00:01.500000000Z";

TEST(LogFileTest, ResumingSkipsExactlyTheLinesAlreadyWritten) {
  testing::TempDir dir;
  const auto path = dir.path() / "job" / "log";
  {
    LogWriter w;
    ASSERT_TRUE(w.Open(path, {}));
    EXPECT_TRUE(w.Append(Line(kT1, "epoch 1")));
    EXPECT_TRUE(w.Append(Line(kT2, "50%")));
    EXPECT_TRUE(w.Append(Line(kT2, "100%", runtime::LogStream::kStderr)));
  }
  auto pos = ReadLogPosition(path);
  ASSERT_TRUE(pos);
  EXPECT_EQ(pos->timestamp, kT2);
  EXPECT_EQ(pos->lines_at_timestamp, 2);
  EXPECT_EQ(pos->SinceUnix(), 1795687201);
  // Docker replays from the whole second: the lines of kT1 and kT2 come again.
  LogWriter w;
  ASSERT_TRUE(w.Open(path, *pos));
  EXPECT_FALSE(w.Append(Line(kT1, "epoch 1")));
  EXPECT_FALSE(w.Append(Line(kT2, "50%")));
  EXPECT_FALSE(w.Append(Line(kT2, "100%")));
  EXPECT_TRUE(w.Append(Line(kT2, "a third line of the same message")));
  EXPECT_TRUE(w.Append(Line("2026-11-26T10:00:02.000000000Z", "epoch 2")));
  w.Flush();
  const std::string text = Read(path);
  EXPECT_EQ(text, std::string(kT1) + " o epoch 1\n" + std::string(kT2) + " o 50%\n" +
                      std::string(kT2) + " e 100%\n" + std::string(kT2) +
                      " o a third line of the same message\n" +
                      "2026-11-26T10:00:02.000000000Z o epoch 2\n");
}

// The daemon stamps stdout and stderr in separate copiers, so a stderr line may
// follow a stdout line stamped a little later: it is a new line, never a repeat.
TEST(LogFileTest, ALineStampedBeforeThePreviousOneIsKept) {
  testing::TempDir dir;
  const auto path = dir.path() / "job" / "log";
  constexpr std::string_view kT3 = "2026-11-26T10:00:01.600000000Z";
  {
    LogWriter w;
    ASSERT_TRUE(w.Open(path, {}));
    EXPECT_TRUE(w.Append(Line(kT1, "epoch 1")));
    EXPECT_TRUE(w.Append(Line(kT3, "step 2")));
    EXPECT_TRUE(w.Append(Line(kT2, "warning", runtime::LogStream::kStderr)));
    EXPECT_TRUE(w.Append(Line(kT3, "step 3")));
    EXPECT_EQ(w.position().timestamp, kT3);
    EXPECT_EQ(w.position().lines_at_timestamp, 2);
  }
  EXPECT_EQ(Read(path), std::string(kT1) + " o epoch 1\n" + std::string(kT3) + " o step 2\n" +
                            std::string(kT2) + " e warning\n" + std::string(kT3) + " o step 3\n");
  // The position is the newest stamp, wherever its lines are.
  auto pos = ReadLogPosition(path);
  ASSERT_TRUE(pos);
  EXPECT_EQ(pos->timestamp, kT3);
  EXPECT_EQ(pos->lines_at_timestamp, 2);
  LogWriter w;
  ASSERT_TRUE(w.Open(path, *pos));
  EXPECT_FALSE(w.Append(Line(kT1, "epoch 1")));
  EXPECT_FALSE(w.Append(Line(kT3, "step 2")));
  EXPECT_FALSE(w.Append(Line(kT2, "warning", runtime::LogStream::kStderr)));
  EXPECT_FALSE(w.Append(Line(kT3, "step 3")));
  EXPECT_TRUE(w.Append(Line("2026-11-26T10:00:02.000000000Z", "epoch 2")));
  EXPECT_TRUE(w.Append(Line(kT3, "late stderr", runtime::LogStream::kStderr)));
}

TEST(LogFileTest, APartialLastLineIsCutBeforeResuming) {
  testing::TempDir dir;
  const auto path = dir.path() / "log";
  {
    std::ofstream out(path, std::ios::binary);
    out << kT1 << " o done\n" << kT2 << " o half a li";
  }
  auto pos = ReadLogPosition(path);
  ASSERT_TRUE(pos);
  EXPECT_EQ(pos->timestamp, kT1);
  EXPECT_EQ(pos->lines_at_timestamp, 1);
  EXPECT_EQ(Read(path), std::string(kT1) + " o done\n");
}

TEST(LogFileTest, MissingOrEmptyFileIsTheStart) {
  testing::TempDir dir;
  auto pos = ReadLogPosition(dir.path() / "none");
  ASSERT_TRUE(pos);
  EXPECT_TRUE(pos->timestamp.empty());
  EXPECT_EQ(pos->SinceUnix(), 0);
}

TEST(LogFileTest, LongFilesAreReadFromTheEndOnly) {
  testing::TempDir dir;
  const auto path = dir.path() / "log";
  {
    LogWriter w;
    ASSERT_TRUE(w.Open(path, {}));
    const std::string filler(1000, 'x');
    for (int i = 0; i < 2000; ++i) {
      char ts[40];
      std::snprintf(ts, sizeof ts, "2026-11-26T10:%02d:%02d.000000000Z", i / 60 % 60, i % 60);
      ASSERT_TRUE(w.Append(Line(ts, filler)));
    }
  }
  auto pos = ReadLogPosition(path);
  ASSERT_TRUE(pos);
  EXPECT_EQ(pos->timestamp, "2026-11-26T10:33:19.000000000Z");
  EXPECT_EQ(pos->lines_at_timestamp, 1);
}

TEST(LogFileTest, LineTextDropsThePrefix) {
  EXPECT_EQ(LogLineText(std::string(kT1) + " e Traceback (most recent call last):"),
            "Traceback (most recent call last):");
  EXPECT_EQ(LogLineText("no prefix here"), "no prefix here");
}

}  // namespace
}  // namespace labelrun::scheduler
