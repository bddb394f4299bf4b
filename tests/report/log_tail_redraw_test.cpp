// The log tail shows what a terminal shows: a Hugging Face Trainer run, as its bytes reach
// labelrun through Docker's log frames split anywhere, is its metrics lines and its
// progress bar once, in its last state.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "labelrun/report/job_metrics.hpp"
#include "labelrun/report/log_tail.hpp"
#include "labelrun/runtime/log_decoder.hpp"
#include "support/trainer_log.hpp"

namespace labelrun::report {
namespace {

using testing::HuggingFaceTrainerLog;
using testing::TrainerLog;

constexpr std::string_view kTimestamp = "2026-12-04T22:40:00.000000001Z";

std::string Frame(std::string_view payload) {
  std::string out = {1, 0, 0, 0};
  const uint32_t n = static_cast<uint32_t>(payload.size() + kTimestamp.size() + 1);
  for (int shift : {24, 16, 8, 0}) out += static_cast<char>((n >> shift) & 0xff);
  out += std::string(kTimestamp) + " " + std::string(payload);
  return out;
}

// What `docker logs` sends for a container's stdout: Docker's copier makes one message of
// each line (up to and with its '\n', '\r's and all), cut into 16 KiB partial messages.
std::string DockerStream(std::string_view bytes) {
  std::string out;
  while (!bytes.empty()) {
    size_t end = std::min(bytes.find('\n'), bytes.size() - 1) + 1;
    end = std::min<size_t>(end, 16 * 1024);
    out += Frame(bytes.substr(0, end));
    bytes.remove_prefix(end);
  }
  return out;
}

// Decodes `stream` fed in the given chunk sizes (cycled) and hands each line to the tail
// and the metrics as the job's log file stores it (a redraw keeps its '\r').
void Follow(const std::string& stream, const std::vector<size_t>& chunks, LogTail& tail,
            JobMetrics* metrics = nullptr) {
  runtime::LogDecoder decoder;
  runtime::LogCallback on_line = [&](const runtime::LogLine& line) {
    if (metrics) metrics->OnLine(line.text);
    tail.AddStored(std::string(line.text) + (line.redraw ? "\r" : ""));
    return true;
  };
  size_t at = 0;
  for (size_t i = 0; at < stream.size(); ++i) {
    const size_t n = chunks.empty() ? stream.size() : chunks[i % chunks.size()];
    ASSERT_TRUE(decoder.Feed(std::string_view(stream).substr(at, n), on_line));
    at += n;
  }
  ASSERT_TRUE(decoder.Finish(on_line));
}

TEST(LogTailRedrawTest, ATrainerRunShowsAsOnATerminalWhereverItsBytesAreSplit) {
  const TrainerLog log = HuggingFaceTrainerLog();
  const std::string stream = DockerStream(log.bytes);
  // Whole, byte by byte, sizes that fall inside the bar's 3-byte characters, and random.
  std::vector<std::vector<size_t>> splits = {{}, {1}, {2}, {7}, {4096}, {16 * 1024 + 3}};
  std::mt19937 random(20261204);
  for (int i = 0; i < 8; ++i) {
    std::vector<size_t> sizes;
    for (int j = 0; j < 64; ++j) sizes.push_back(1 + random() % 97);
    splits.push_back(sizes);
  }
  for (const std::vector<size_t>& chunks : splits) {
    SCOPED_TRACE(::testing::PrintToString(chunks));
    LogTail tail;
    JobMetrics metrics;
    Follow(stream, chunks, tail, &metrics);
    EXPECT_EQ(tail.Lines(), log.screen);
    EXPECT_EQ(tail.total_lines(), log.screen.size());
    // Every metrics line, each printed right after a redraw, is a point of the curve.
    const Series* loss = metrics.Find("loss");
    ASSERT_NE(loss, nullptr);
    EXPECT_EQ(loss->count(), log.losses.size());
    ASSERT_TRUE(loss->last());
    EXPECT_DOUBLE_EQ(loss->last()->value, log.losses.back());
  }
}

TEST(LogTailRedrawTest, AnOpenBarShowsItsLatestStateAndABlankRedrawClearsIt) {
  LogTail tail;
  tail.AddStored("epoch 1");
  tail.AddStored(" 10%|█         | 10/100\r");
  tail.AddStored(" 20%|██        | 20/100\r");
  EXPECT_EQ(tail.Lines(), (std::vector<std::string>{"epoch 1", " 20%|██        | 20/100"}));
  tail.AddStored("                      \r");  // tqdm's clear
  EXPECT_EQ(tail.Lines(), (std::vector<std::string>{"epoch 1"}));
  tail.AddStored("\r");  // a bare '\r' changes nothing
  tail.AddStored("{'loss': 1.5}");
  tail.AddStored(" 30%|███       | 30/100\r");
  tail.AddStored("");  // "\r\r\n": the bar stays, its line ends
  EXPECT_EQ(tail.Lines(),
            (std::vector<std::string>{"epoch 1", "{'loss': 1.5}", " 30%|███       | 30/100"}));
}

TEST(LogTailRedrawTest, AnEndlessRedrawWithoutNewlineStaysBounded) {
  // A bar redrawn a million times and never ended: one line.
  std::string redraws;
  for (int i = 0; i < 1000; ++i) redraws += "\r" + std::to_string(i) + "%|" + std::string(40, '#');
  std::string once = Frame(redraws);
  LogTail tail(LogTail::Options{.max_lines = 10, .max_bytes = 4096, .max_line_bytes = 2048});
  runtime::LogDecoder decoder(runtime::LogDecoder::Options{.max_line_bytes = 4096});
  size_t lines = 0;
  runtime::LogCallback on_line = [&](const runtime::LogLine& line) {
    ++lines;
    EXPECT_TRUE(line.redraw);
    tail.AddStored(std::string(line.text) + "\r");
    return true;
  };
  for (int round = 0; round < 1000; ++round) ASSERT_TRUE(decoder.Feed(once, on_line));
  // Every redraw came out as it arrived: nothing piles up in the decoder...
  EXPECT_GE(lines, 1000u * 1000u - 1);
  // ...nor in the tail, which holds the last state only (the very last is still open in
  // the decoder: its end has not come).
  EXPECT_EQ(tail.total_lines(), 0u);
  ASSERT_EQ(tail.Lines().size(), 1u);
  EXPECT_EQ(tail.Lines()[0], "998%|" + std::string(40, '#'));
}

}  // namespace
}  // namespace labelrun::report
