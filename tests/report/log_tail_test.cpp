#include "labelrun/report/log_tail.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "labelrun/report/comment.hpp"
#include "labelrun/report/gpu_stats.hpp"
#include "labelrun/report/job_page.hpp"
#include "labelrun/report/line_buffer.hpp"
#include "labelrun/report/redact.hpp"

namespace labelrun::report {
namespace {

using Pieces = std::vector<std::pair<std::string, LineEnd>>;

Pieces Feed(LineBuffer& buffer, const std::vector<std::string>& chunks, bool flush = true) {
  Pieces out;
  auto sink = [&](std::string_view text, LineEnd end) { out.emplace_back(std::string(text), end); };
  for (const std::string& c : chunks) buffer.Feed(c, sink);
  if (flush) buffer.Flush(sink);
  return out;
}

TEST(LineBufferTest, SplitsAcrossChunks) {
  LineBuffer buffer;
  Pieces got = Feed(buffer, {"hel", "lo\nwor", "ld\n", "tail"});
  Pieces want = {
      {"hello", LineEnd::kNewline}, {"world", LineEnd::kNewline}, {"tail", LineEnd::kEndOfStream}};
  EXPECT_EQ(got, want);
}

TEST(LineBufferTest, CarriageReturnsAndCrLf) {
  LineBuffer buffer;
  Pieces got = Feed(buffer, {"\r 10%\r 20%", "\r100%\n", "dos\r\n"});
  Pieces want = {{"", LineEnd::kCarriageReturn},     {" 10%", LineEnd::kCarriageReturn},
                 {" 20%", LineEnd::kCarriageReturn}, {"100%", LineEnd::kNewline},
                 {"dos", LineEnd::kCarriageReturn},  {"", LineEnd::kNewline}};
  EXPECT_EQ(got, want);
}

TEST(LineBufferTest, LongLinesAreCutWithBoundedMemory) {
  LineBuffer buffer(8);
  Pieces got;
  auto sink = [&](std::string_view text, LineEnd end) { got.emplace_back(std::string(text), end); };
  for (int i = 0; i < 5; ++i) {
    buffer.Feed("abcdef", sink);
    EXPECT_LT(buffer.pending(), 8u);
  }
  buffer.Feed("\n", sink);
  std::string joined;
  for (auto& [text, end] : got) {
    EXPECT_LE(text.size(), 8u);
    joined += text;
  }
  EXPECT_EQ(joined, "abcdefabcdefabcdefabcdefabcdef");
  EXPECT_EQ(got.back().second, LineEnd::kNewline);
}

TEST(LineBufferTest, CutsOnCharacterBoundaries) {
  LineBuffer buffer(4);
  Pieces got = Feed(buffer, {"ab\xE2\x96\x81\xE2\x96\x82\n"});  // ab▁▂
  Pieces want = {{"ab", LineEnd::kCut}, {"▁", LineEnd::kCut}, {"▂", LineEnd::kNewline}};
  EXPECT_EQ(got, want);
}

TEST(LogTailTest, KeepsTheLastLinesWithinBounds) {
  LogTail tail(LogTail::Options{.max_lines = 3, .max_bytes = 1000, .max_line_bytes = 100});
  for (int i = 0; i < 10; ++i) tail.AddLine("line " + std::to_string(i));
  EXPECT_EQ(tail.Lines(), (std::vector<std::string>{"line 7", "line 8", "line 9"}));
  EXPECT_EQ(tail.total_lines(), 10u);
  EXPECT_EQ(tail.Text(), "line 7\nline 8\nline 9");
}

TEST(LogTailTest, ByteBudgetDropsOldLines) {
  LogTail tail(LogTail::Options{.max_lines = 100, .max_bytes = 64, .max_line_bytes = 16});
  for (int i = 0; i < 20; ++i) tail.AddLine(std::string(16, 'a' + i));
  size_t bytes = 0;
  for (const std::string& line : tail.Lines()) bytes += line.size();
  EXPECT_LE(bytes, 64u);
  EXPECT_EQ(tail.Lines().back(), std::string(16, 'a' + 19));
}

TEST(LogTailTest, CleansLinesForReading) {
  LogTail tail(LogTail::Options{.max_lines = 10, .max_bytes = 10000, .max_line_bytes = 32});
  tail.AddLine("\x1b[31mred\x1b[0m text");
  tail.AddLine("bad \xFF\xFE utf8 \x01\x07 bell");
  tail.AddLine(" 10%|█ |\r 20%|██ |\r");
  tail.AddLine(std::string(100, 'x'));
  tail.AddLine(std::string(30, 'x') + "\xE2\x96\x81\xE2\x96\x81");
  auto lines = tail.Lines();
  EXPECT_EQ(lines[0], "red text");
  EXPECT_EQ(lines[1], "bad \xEF\xBF\xBD\xEF\xBF\xBD utf8  bell");
  EXPECT_EQ(lines[2], " 20%|██ |");
  EXPECT_EQ(lines[3], std::string(28, 'x') + " …");
  EXPECT_EQ(lines[4], std::string(28, 'x') + " …");
}

TEST(LogTailTest, RedactsBeforeCuttingWhenGivenARedactor) {
  const Redactor redactor;
  const std::string token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
  const std::string line = std::string(20, 'x') + token;
  LogTail plain(LogTail::Options{.max_lines = 10, .max_bytes = 1000, .max_line_bytes = 32});
  plain.AddLine(line);
  EXPECT_NE(plain.Lines()[0].find("ghp_"), std::string::npos) << "the cut leaves a piece";
  LogTail safe(LogTail::Options{
      .max_lines = 10, .max_bytes = 1000, .max_line_bytes = 32, .redactor = &redactor});
  safe.AddLine(line);
  EXPECT_EQ(safe.Lines()[0], std::string(20, 'x') + "***");
}

// A job that prints a private key: the tail (and so the comment, the job page and the API's
// comment, which render it) masks the key whole, its body lines as well as its markers.
TEST(LogTailTest, PrivateKeyOverManyLinesIsMaskedWholeInEveryView) {
  const Redactor redactor;
  const std::vector<std::string> body = {
      "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
      "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK",
      "LxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo",
  };
  LogTail tail(LogTail::Options{.redactor = &redactor});
  tail.AddLine("writing the deploy key");
  tail.AddLine("-----BEGIN RSA PRIVATE KEY-----");
  for (const std::string& line : body) tail.AddLine(line);
  // A redraw inside the key is masked too, and does not end the block.
  tail.Add(body[0], LineEnd::kCarriageReturn);
  EXPECT_EQ(tail.Lines().back(), "***");
  tail.Add("", LineEnd::kNewline);
  tail.AddLine("-----END RSA PRIVATE KEY-----");
  tail.AddLine("key written");

  const std::vector<std::string> lines = tail.Lines();
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(lines.front(), "writing the deploy key");
  EXPECT_EQ(lines.back(), "key written");
  for (size_t i = 1; i + 1 < lines.size(); ++i) EXPECT_EQ(lines[i], "***") << i;

  JobView job;
  job.id = "j-1";
  job.state = JobState::kRunning;
  const std::string comment = RenderComment(job, JobMetrics(), tail, GpuStats(), Links{}, redactor);
  const std::string page =
      RenderJobPage(job, JobMetrics(), tail, GpuStats(), JobPageLinks{}, redactor);
  for (const std::string& view : {tail.Text(), comment, page}) {
    EXPECT_NE(view.find("key written"), std::string::npos) << view;
    for (const std::string& line : body) {
      EXPECT_EQ(view.find(line.substr(0, 16)), std::string::npos) << view;
    }
    EXPECT_EQ(view.find("PRIVATE KEY"), std::string::npos) << view;
  }
}

TEST(LogTailTest, RedrawsReplaceTheOpenLine) {
  LogTail tail;
  tail.Add("epoch 1", LineEnd::kNewline);
  tail.Add("", LineEnd::kCarriageReturn);
  tail.Add(" 10%", LineEnd::kCarriageReturn);
  tail.Add(" 50%", LineEnd::kCarriageReturn);
  EXPECT_EQ(tail.Lines(), (std::vector<std::string>{"epoch 1", " 50%"}));
  EXPECT_EQ(tail.total_lines(), 1u);
  tail.Add("100%", LineEnd::kNewline);
  tail.Add("done", LineEnd::kCarriageReturn);
  tail.Add("", LineEnd::kNewline);  // "done\r\n"
  EXPECT_EQ(tail.Lines(), (std::vector<std::string>{"epoch 1", "100%", "done"}));
  EXPECT_EQ(tail.total_lines(), 3u);
  tail.Add("", LineEnd::kNewline);
  EXPECT_EQ(tail.Lines().back(), "");
}

TEST(GpuStatsTest, MeanMaxAndMemoryPerGpu) {
  GpuStats stats;
  EXPECT_TRUE(stats.empty());
  stats.Add({"0", 50, 4ull << 30, 80ull << 30});
  stats.Add({"1", 10, std::nullopt, std::nullopt});
  stats.Add({"0", 100, 8ull << 30, 80ull << 30});
  stats.Add({"0", 150, 2ull << 30, std::nullopt});                   // clamped to 100
  stats.Add({"0", std::numeric_limits<double>::quiet_NaN(), 1, 1});  // ignored
  auto summaries = stats.Summaries();
  ASSERT_EQ(summaries.size(), 2u);
  EXPECT_EQ(summaries[0].gpu, "0");
  EXPECT_EQ(summaries[0].samples, 3u);
  EXPECT_NEAR(summaries[0].mean_utilization, 250.0 / 3, 1e-9);
  EXPECT_EQ(summaries[0].max_utilization, 100);
  EXPECT_EQ(summaries[0].last_utilization, 100);
  EXPECT_EQ(*summaries[0].max_memory_used_bytes, 8ull << 30);
  EXPECT_EQ(*summaries[0].memory_total_bytes, 80ull << 30);
  EXPECT_FALSE(summaries[1].max_memory_used_bytes.has_value());
  EXPECT_EQ(stats.Utilization("0")->count(), 3u);
  EXPECT_EQ(stats.Utilization("7"), nullptr);
}

TEST(GpuStatsTest, BoundedNumberOfGpus) {
  GpuStats stats;
  for (int i = 0; i < 100; ++i) stats.Add({std::to_string(i), 1, std::nullopt, std::nullopt});
  EXPECT_EQ(stats.Summaries().size(), GpuStats::kMaxGpus);
  for (int i = 0; i < 100'000; ++i) stats.Add({"0", 42, std::nullopt, std::nullopt});
  EXPECT_LE(stats.Utilization("0")->bucket_count(), 64u);
}

}  // namespace
}  // namespace labelrun::report
