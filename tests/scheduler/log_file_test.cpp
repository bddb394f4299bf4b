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
  EXPECT_EQ(pos->lines_in_second, 2);
  EXPECT_EQ(pos->SinceUnix(), 1795687201);
  // Docker replays from the whole second: the lines of kT2's second come again
  // (and a source that starts earlier may send kT1 too).
  LogWriter w;
  ASSERT_TRUE(w.Open(path, *pos));
  w.Resume();
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
    EXPECT_EQ(w.position().lines_in_second, 3);
  }
  EXPECT_EQ(Read(path), std::string(kT1) + " o epoch 1\n" + std::string(kT3) + " o step 2\n" +
                            std::string(kT2) + " e warning\n" + std::string(kT3) + " o step 3\n");
  // The position is the newest stamp, wherever its lines are.
  auto pos = ReadLogPosition(path);
  ASSERT_TRUE(pos);
  EXPECT_EQ(pos->timestamp, kT3);
  EXPECT_EQ(pos->lines_in_second, 3);
  LogWriter w;
  ASSERT_TRUE(w.Open(path, *pos));
  w.Resume();
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
  EXPECT_EQ(pos->lines_in_second, 1);
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
  EXPECT_EQ(pos->lines_in_second, 1);
}

// A fast job prints thousands of lines in its last second: the window grows
// until it holds them all, so that a resumed stream skips each repeat.
TEST(LogFileTest, TheNewestSecondIsCountedWholeInALongFile) {
  testing::TempDir dir;
  const auto path = dir.path() / "log";
  const std::string filler(200, 'x');
  {
    LogWriter w;
    ASSERT_TRUE(w.Open(path, {}));
    ASSERT_TRUE(w.Append(Line("2026-11-26T10:00:00.900000000Z", "before")));
    for (int i = 0; i < 5000; ++i) {  // about 1.2 MB in one second
      char ts[40];
      std::snprintf(ts, sizeof ts, "2026-11-26T10:00:01.%09dZ", i * 1000);
      ASSERT_TRUE(w.Append(Line(ts, filler)));
    }
    EXPECT_EQ(w.position().lines_in_second, 5000);
  }
  auto pos = ReadLogPosition(path);
  ASSERT_TRUE(pos);
  EXPECT_EQ(pos->lines_in_second, 5000);
}

// A follow that ended early (Docker may close it at the container's exit before
// its last lines went out) is read once more since the last second: the lines
// already stored come first, in the stored order, and only the rest is added.
// Stamps of stdout and stderr may cross a second boundary out of order.
TEST(LogFileTest, AReadAfterAShortFollowAddsOnlyTheMissingLines) {
  testing::TempDir dir;
  const auto path = dir.path() / "log";
  constexpr std::string_view kA = "2026-11-26T10:00:05.990000000Z";
  constexpr std::string_view kB = "2026-11-26T10:00:06.001000000Z";
  constexpr std::string_view kC = "2026-11-26T10:00:05.995000000Z";  // stdout, behind kB
  constexpr std::string_view kD = "2026-11-26T10:00:06.002000000Z";
  constexpr std::string_view kE = "2026-11-26T10:00:06.003000000Z";
  LogWriter w;
  ASSERT_TRUE(w.Open(path, {}));
  w.Resume();
  // The follow sends these, then ends.
  EXPECT_TRUE(w.Append(Line(kA, "step 1")));
  EXPECT_TRUE(w.Append(Line(kB, "done", runtime::LogStream::kStderr)));
  EXPECT_TRUE(w.Append(Line(kC, "step 2")));
  EXPECT_TRUE(w.Append(Line(kD, "step 3")));
  EXPECT_EQ(w.position().timestamp, kD);
  EXPECT_EQ(w.position().lines_in_second, 2);  // kB and kD; kC is in second 05
  EXPECT_EQ(w.position().SinceUnix(), 1795687206);
  // The read since second 06 sends the log's lines of that second, in order.
  w.Resume();
  EXPECT_FALSE(w.Append(Line(kB, "done", runtime::LogStream::kStderr)));
  EXPECT_FALSE(w.Append(Line(kD, "step 3")));
  EXPECT_TRUE(w.Append(Line(kD, "step 3 again, the same stamp")));
  EXPECT_TRUE(w.Append(Line(kE, "step 4")));
  // Resumed once more with nothing new: nothing is added.
  w.Resume();
  EXPECT_FALSE(w.Append(Line(kB, "done", runtime::LogStream::kStderr)));
  EXPECT_FALSE(w.Append(Line(kD, "step 3")));
  EXPECT_FALSE(w.Append(Line(kD, "step 3 again, the same stamp")));
  EXPECT_FALSE(w.Append(Line(kE, "step 4")));
  w.Flush();
  EXPECT_EQ(Read(path), std::string(kA) + " o step 1\n" + std::string(kB) + " e done\n" +
                            std::string(kC) + " o step 2\n" + std::string(kD) + " o step 3\n" +
                            std::string(kD) + " o step 3 again, the same stamp\n" +
                            std::string(kE) + " o step 4\n");
  auto pos = ReadLogPosition(path);
  ASSERT_TRUE(pos);
  EXPECT_EQ(pos->timestamp, kE);
  EXPECT_EQ(pos->lines_in_second, 4);
}

TEST(LogFileTest, LineTextDropsThePrefix) {
  EXPECT_EQ(LogLineText(std::string(kT1) + " e Traceback (most recent call last):"),
            "Traceback (most recent call last):");
  EXPECT_EQ(LogLineText("no prefix here"), "no prefix here");
}

}  // namespace
}  // namespace labelrun::scheduler
