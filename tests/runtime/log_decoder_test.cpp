#include "labelrun/runtime/log_decoder.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace labelrun::runtime {
namespace {

std::string Frame(uint8_t type, std::string_view payload) {
  std::string out = {static_cast<char>(type), 0, 0, 0};
  uint32_t n = static_cast<uint32_t>(payload.size());
  out += static_cast<char>(n >> 24);
  out += static_cast<char>((n >> 16) & 0xff);
  out += static_cast<char>((n >> 8) & 0xff);
  out += static_cast<char>(n & 0xff);
  out += payload;
  return out;
}

std::string Out(std::string_view ts, std::string_view text) {
  return Frame(1, std::string(ts) + " " + std::string(text));
}
std::string Err(std::string_view ts, std::string_view text) {
  return Frame(2, std::string(ts) + " " + std::string(text));
}

constexpr std::string_view kT1 = "2026-11-26T15:45:25.833242966Z";
constexpr std::string_view kT2 = "2026-11-26T15:45:25.900000001Z";
constexpr std::string_view kT3 = "2026-11-26T15:45:26.000000000Z";

struct Line {
  char stream;  // 'o' or 'e'
  std::string timestamp;
  std::string text;
  bool truncated;
  bool redraw = false;
  bool operator==(const Line&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Line& l) {
  return os << l.stream << " [" << l.timestamp << "] \"" << l.text << "\""
            << (l.truncated ? " (truncated)" : "") << (l.redraw ? " (redraw)" : "");
}

struct Decoded {
  std::vector<Line> lines;
  Status feed;
  Status finish;
};

// Feeds `stream` in chunks of `chunk` bytes (0: all at once), then finishes.
Decoded Decode(const std::string& stream, size_t chunk = 0, LogDecoder::Options options = {}) {
  LogDecoder decoder(options);
  Decoded d;
  LogCallback collect = [&](const LogLine& l) {
    d.lines.push_back({l.stream == LogStream::kStdout ? 'o' : 'e', std::string(l.timestamp),
                       std::string(l.text), l.truncated, l.redraw});
    return true;
  };
  size_t step = chunk == 0 ? std::max<size_t>(stream.size(), 1) : chunk;
  for (size_t i = 0; i < stream.size() && d.feed; i += step) {
    d.feed = decoder.Feed(std::string_view(stream).substr(i, step), collect);
  }
  if (d.feed) d.finish = decoder.Finish(collect);
  return d;
}

TEST(FrameDemuxerTest, DocumentedTestVector) {
  std::string bytes("\x01\x00\x00\x00\x00\x00\x00\x0c", 8);
  bytes += "hello world\n";
  FrameDemuxer demuxer;
  std::vector<std::string> pieces;
  ASSERT_TRUE(
      demuxer.Feed(bytes, [&](FrameType type, std::string_view piece, bool first, bool last) {
        EXPECT_EQ(type, FrameType::kStdout);
        EXPECT_TRUE(first);
        EXPECT_TRUE(last);
        pieces.emplace_back(piece);
        return true;
      }));
  EXPECT_EQ(pieces, std::vector<std::string>{"hello world\n"});
  EXPECT_TRUE(demuxer.at_boundary());
}

TEST(FrameDemuxerTest, PiecesOfASplitFrameAreFlagged) {
  std::string bytes = Frame(2, "abcdef") + Frame(1, "");
  FrameDemuxer demuxer;
  std::vector<std::string> seen;
  for (char c : bytes) {
    ASSERT_TRUE(demuxer.Feed(std::string_view(&c, 1),
                             [&](FrameType type, std::string_view piece, bool first, bool last) {
                               seen.push_back(std::to_string(int(type)) + (first ? "F" : "-") +
                                              (last ? "L" : "-") + std::string(piece));
                               return true;
                             }));
  }
  EXPECT_EQ(seen,
            (std::vector<std::string>{"2F-a", "2--b", "2--c", "2--d", "2--e", "2-Lf", "1FL"}));
  EXPECT_TRUE(demuxer.at_boundary());
  ASSERT_TRUE(demuxer.Feed(std::string("\x01\x00\x00", 3), [](auto...) { return true; }));
  EXPECT_FALSE(demuxer.at_boundary());
}

TEST(LogDecoderTest, DocumentedTestVectorWithoutTimestamps) {
  std::string bytes("\x01\x00\x00\x00\x00\x00\x00\x0c", 8);
  bytes += "hello world\n";
  Decoded d = Decode(bytes, 0, {.max_line_bytes = kDefaultMaxLogLineBytes, .timestamps = false});
  ASSERT_TRUE(d.feed);
  ASSERT_TRUE(d.finish);
  EXPECT_EQ(d.lines, (std::vector<Line>{{'o', "", "hello world", false}}));
}

TEST(LogDecoderTest, StripsTimestampsAndSplitsLines) {
  std::string bytes = Out(kT1, "one\n") + Out(kT2, "two\nthree\n") + Err(kT3, "oops\n");
  Decoded d = Decode(bytes);
  ASSERT_TRUE(d.feed);
  ASSERT_TRUE(d.finish);
  EXPECT_EQ(d.lines, (std::vector<Line>{{'o', std::string(kT1), "one", false},
                                        {'o', std::string(kT2), "two", false},
                                        {'o', std::string(kT2), "three", false},
                                        {'e', std::string(kT3), "oops", false}}));
}

TEST(LogDecoderTest, ByteByByteGivesTheSameLines) {
  std::string bytes = Out(kT1, "alpha\nbe") + Err(kT2, "gamma\r\n") + Out(kT3, "ta\r\n\n") +
                      Frame(2, "") + Err(kT3, "tail");
  Decoded whole = Decode(bytes);
  Decoded bytewise = Decode(bytes, 1);
  Decoded threes = Decode(bytes, 3);
  ASSERT_TRUE(whole.feed && whole.finish);
  ASSERT_TRUE(bytewise.feed && bytewise.finish);
  ASSERT_TRUE(threes.feed && threes.finish);
  std::vector<Line> want = {{'o', std::string(kT1), "alpha", false},
                            {'e', std::string(kT2), "gamma", false},
                            {'o', std::string(kT1), "beta", false},
                            {'o', std::string(kT3), "", false},
                            {'e', std::string(kT3), "tail", false}};
  EXPECT_EQ(whole.lines, want);
  EXPECT_EQ(bytewise.lines, want);
  EXPECT_EQ(threes.lines, want);
}

TEST(LogDecoderTest, InterleavedStreamsKeepSeparatePartialLines) {
  std::string bytes = Out(kT1, "abc") + Err(kT2, "err1\nerr") + Out(kT3, "def\n") + Err(kT3, "2\n");
  Decoded d = Decode(bytes);
  ASSERT_TRUE(d.feed && d.finish);
  EXPECT_EQ(d.lines, (std::vector<Line>{{'e', std::string(kT2), "err1", false},
                                        {'o', std::string(kT1), "abcdef", false},
                                        {'e', std::string(kT2), "err2", false}}));
}

struct BreakCase {
  std::string name;
  std::vector<std::string> payloads;  // stdout frames
  std::vector<std::string> want;
};

void PrintTo(const BreakCase& c, std::ostream* os) { *os << c.name; }

class LogDecoderBreaks : public ::testing::TestWithParam<BreakCase> {};

TEST_P(LogDecoderBreaks, Splits) {
  std::string bytes;
  for (const std::string& p : GetParam().payloads) bytes += Out(kT1, p);
  for (size_t chunk : {size_t{0}, size_t{1}}) {
    Decoded d = Decode(bytes, chunk);
    ASSERT_TRUE(d.feed && d.finish);
    std::vector<std::string> texts;
    for (const Line& l : d.lines) texts.push_back(l.text);
    EXPECT_EQ(texts, GetParam().want) << "chunk " << chunk;
  }
}

INSTANTIATE_TEST_SUITE_P(
    LineBreaks, LogDecoderBreaks,
    ::testing::Values(
        // tqdm: redraws with '\r', the first one at the start, '\n' at the end.
        BreakCase{
            "tqdm",
            {"\r  0%|          | 0/100\r 50%|#####     | 50/100\r100%|##########| 100/100\n"},
            {"  0%|          | 0/100", " 50%|#####     | 50/100", "100%|##########| 100/100"}},
        BreakCase{"tqdm_frames",
                  {"\r 10%|#", "\r 20%|##", "\r", " 30%|###\n"},
                  {" 10%|#", " 20%|##", " 30%|###"}},
        BreakCase{"crlf_is_one_break", {"a\r\nb\r\n"}, {"a", "b"}},
        BreakCase{"crlf_across_frames", {"a\r", "\nb\n"}, {"a", "b"}},
        BreakCase{"blank_lines_kept", {"a\n\nb\n"}, {"a", "", "b"}},
        BreakCase{"blank_crlf_lines_kept", {"a\r\n\r\nb\r\n"}, {"a", "", "b"}},
        BreakCase{"lone_cr_empty_lines_dropped", {"a\r\r\rb\r\r"}, {"a", "b"}},
        BreakCase{"unterminated_last_line", {"x\ny"}, {"x", "y"}},
        BreakCase{"empty_frames", {"", "a", "", "b\n"}, {"ab"}}),
    [](const auto& info) { return info.param.name; });

// A line that ends in a lone '\r' is a redraw; "\r\n" is an ordinary line end, also
// when the '\r' ends one chunk or frame and the '\n' starts the next.
TEST(LogDecoderTest, MarksRedrawsWhereverTheStreamIsSplit) {
  const std::vector<std::string> payloads = {"\r  0%|          | 0/9\r 11%|#",
                                             "         | 1/9\r",
                                             "          \r",
                                             "{'loss': 2.3}\n\r 22%|##        | 2/9\r\n",
                                             "dos\r\r\n",
                                             "last\r"};
  const std::vector<Line> want = {{'o', std::string(kT1), "  0%|          | 0/9", false, true},
                                  {'o', std::string(kT1), " 11%|#         | 1/9", false, true},
                                  {'o', std::string(kT1), "          ", false, true},
                                  {'o', std::string(kT1), "{'loss': 2.3}", false, false},
                                  {'o', std::string(kT1), " 22%|##        | 2/9", false, false},
                                  {'o', std::string(kT1), "dos", false, true},
                                  {'o', std::string(kT1), "", false, false},
                                  {'o', std::string(kT1), "last", false, true}};
  std::string bytes;
  for (const std::string& p : payloads) bytes += Out(kT1, p);
  for (size_t chunk = 0; chunk <= 13; ++chunk) {
    Decoded d = Decode(bytes, chunk);
    ASSERT_TRUE(d.feed && d.finish);
    EXPECT_EQ(d.lines, want) << "chunk " << chunk;
  }
}

TEST(LogDecoderTest, JoinsDockerPartialMessagesWithTheirOwnTimestamps) {
  // A 40 KiB line: Docker's copier sends 16 KiB, 16 KiB, then 8 KiB + '\n',
  // each message in its own frame with its own timestamp.
  std::string line;
  for (int i = 0; i < 40 * 1024; ++i) line += static_cast<char>('a' + i % 26);
  std::string bytes = Out(kT1, line.substr(0, 16384)) + Out(kT2, line.substr(16384, 16384)) +
                      Out(kT3, line.substr(32768) + "\n") + Out(kT3, "next\n");
  for (size_t chunk : {size_t{0}, size_t{1000}, size_t{7}}) {
    Decoded d = Decode(bytes, chunk);
    ASSERT_TRUE(d.feed && d.finish);
    ASSERT_EQ(d.lines.size(), 2u) << "chunk " << chunk;
    EXPECT_EQ(d.lines[0].text.size(), line.size());
    EXPECT_EQ(d.lines[0].text, line);
    EXPECT_EQ(d.lines[0].timestamp, kT1);
    EXPECT_FALSE(d.lines[0].truncated);
    EXPECT_EQ(d.lines[1], (Line{'o', std::string(kT3), "next", false}));
  }
}

TEST(LogDecoderTest, CutsALineAtTheCapOnceAndDropsTheRest) {
  LogDecoder::Options options{.max_line_bytes = 10, .timestamps = true};
  std::string bytes = Out(kT1, "0123456789abc") + Out(kT2, "defghij") + Out(kT2, "klm\nshort\n") +
                      Out(kT3, "0123456789\n");
  for (size_t chunk : {size_t{0}, size_t{1}, size_t{4}}) {
    Decoded d = Decode(bytes, chunk, options);
    ASSERT_TRUE(d.feed && d.finish);
    EXPECT_EQ(d.lines, (std::vector<Line>{{'o', std::string(kT1), "0123456789", true},
                                          {'o', std::string(kT2), "short", false},
                                          {'o', std::string(kT3), "0123456789", false}}))
        << "chunk " << chunk;
  }
}

TEST(LogDecoderTest, CapCutsAtACharacterBoundary) {
  // "aaaaaaaa" + "é" (2 bytes) + "z": a cap of 9 falls inside the "é".
  LogDecoder::Options options{.max_line_bytes = 9, .timestamps = true};
  Decoded d = Decode(Out(kT1, "aaaaaaaa\xc3\xa9z\nok\n"), 0, options);
  ASSERT_TRUE(d.feed && d.finish);
  ASSERT_EQ(d.lines.size(), 2u);
  EXPECT_EQ(d.lines[0].text, "aaaaaaaa");
  EXPECT_TRUE(d.lines[0].truncated);
  EXPECT_EQ(d.lines[1].text, "ok");
}

TEST(LogDecoderTest, AnUnterminatedOverlongLineIsReportedOnce) {
  LogDecoder::Options options{.max_line_bytes = 4, .timestamps = true};
  Decoded d = Decode(Out(kT1, "abcdefgh") + Out(kT2, "ijkl"), 0, options);
  ASSERT_TRUE(d.feed && d.finish);
  EXPECT_EQ(d.lines, (std::vector<Line>{{'o', std::string(kT1), "abcd", true}}));
}

TEST(LogDecoderTest, SystemErrorFrameIsAnErrorWithItsText) {
  std::string bytes = Out(kT1, "before\n") +
                      Frame(3, "Error grabbing logs: log file is corrupt\n") + Out(kT2, "after\n");
  for (size_t chunk : {size_t{0}, size_t{1}}) {
    Decoded d = Decode(bytes, chunk);
    ASSERT_FALSE(d.feed);
    EXPECT_EQ(d.feed.error().code(), ErrorCode::kInternal);
    EXPECT_EQ(d.feed.error().message(),
              "docker reported: Error grabbing logs: log file is corrupt");
    EXPECT_EQ(d.lines, (std::vector<Line>{{'o', std::string(kT1), "before", false}}));
  }
}

TEST(LogDecoderTest, RejectsACorruptHeader) {
  for (std::string bad : {std::string("\x05\x00\x00\x00\x00\x00\x00\x01x", 9),
                          std::string("\x01\x00\x01\x00\x00\x00\x00\x01x", 9),
                          std::string("2026-11-26T15:45:25Z plain text\n")}) {
    Decoded d = Decode(Out(kT1, "ok\n") + bad);
    ASSERT_FALSE(d.feed);
    EXPECT_EQ(d.feed.error().code(), ErrorCode::kInternal);
    EXPECT_NE(d.feed.error().message().find("corrupt docker stream: frame header"),
              std::string::npos)
        << d.feed.error().message();
    EXPECT_EQ(d.lines.size(), 1u);
  }
}

TEST(LogDecoderTest, RejectsAFrameWithoutTimestampPrefix) {
  Decoded d = Decode(Out(kT1, "ok\n") + Frame(1, std::string(100, 'x')));
  ASSERT_FALSE(d.feed);
  EXPECT_NE(d.feed.error().message().find("timestamp"), std::string::npos);
}

TEST(LogDecoderTest, StreamEndingInsideAFrameIsUnavailable) {
  std::string bytes = Out(kT1, "done\npartial") + Out(kT2, "lost");
  bytes.resize(bytes.size() - 2);
  Decoded d = Decode(bytes);
  ASSERT_TRUE(d.feed);
  ASSERT_FALSE(d.finish);
  EXPECT_EQ(d.finish.error().code(), ErrorCode::kUnavailable);
  std::vector<std::string> texts;
  for (const Line& l : d.lines) texts.push_back(l.text);
  EXPECT_EQ(texts, (std::vector<std::string>{"done", "partiallo"}));
}

TEST(LogDecoderTest, StopsWhenTheCallbackSaysSo) {
  LogDecoder decoder;
  int calls = 0;
  LogCallback two = [&](const LogLine&) { return ++calls < 2; };
  ASSERT_TRUE(decoder.Feed(Out(kT1, "1\n2\n3\n"), two));
  ASSERT_TRUE(decoder.Feed(Out(kT1, "4\n"), two));
  ASSERT_TRUE(decoder.Finish(two));
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(decoder.stopped());
}

}  // namespace
}  // namespace labelrun::runtime
