// The backlog in front of a LogTail: whatever the lines, the tail reads the same
// after Drain as when every line is added to it directly, and a private key whose
// BEGIN line has long scrolled out of the tail is still masked whole.
#include "labelrun/report/tail_backlog.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

namespace labelrun::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "hunter2-secret-value";

std::string RandomLine(std::mt19937& rng) {
  static const std::vector<std::string> kPieces = {
      "epoch 1 loss=0.5",
      "-----BEGIN RSA PRIVATE KEY-----",
      "-----END RSA PRIVATE KEY-----",
      "MIIEowIBAAKCAQEA",
      kSecret,
      "--",
      "---",
      "\x1b[31m",
      "\r",
      "\t",
      "\x01",
      "é",
      "\xff",
      "token=ghp_0123456789abcdefghijABCDEFGHIJ",
      " ",
      "progress 10%",
      std::string(300, 'x'),
  };
  std::string line;
  const int n = static_cast<int>(rng() % 5);
  for (int i = 0; i < n; ++i) line += kPieces[rng() % kPieces.size()];
  return line;
}

struct Pair {
  explicit Pair(const Redactor& redactor, size_t max_lines, size_t backlog_bytes)
      : direct(LogTail::Options{max_lines, 4096, 256, &redactor}),
        deferred(LogTail::Options{max_lines, 4096, 256, &redactor}),
        backlog(TailBacklog::Options{max_lines, backlog_bytes}) {}
  void Add(std::string_view line) {
    direct.AddStored(line);
    backlog.Add(line, deferred);
  }
  LogTail direct, deferred;
  TailBacklog backlog;
};

TEST(TailBacklogTest, TheTailReadsAsIfEveryLineWereAddedDirectly) {
  const Redactor redactor({kSecret});
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    std::mt19937 rng(seed);
    const size_t max_lines = 1 + rng() % 12;
    Pair p(redactor, max_lines, 64 + rng() % 2048);
    const int lines = static_cast<int>(rng() % 200);
    for (int i = 0; i < lines; ++i) {
      p.Add(RandomLine(rng));
      if (rng() % 17 == 0) {  // read now and then, as the reporter does
        p.backlog.Drain(p.deferred);
        ASSERT_EQ(p.deferred.Text(), p.direct.Text()) << "seed " << seed << " line " << i;
      }
    }
    p.backlog.Drain(p.deferred);
    ASSERT_EQ(p.deferred.Text(), p.direct.Text()) << "seed " << seed;
    ASSERT_EQ(p.deferred.total_lines(), p.direct.total_lines()) << "seed " << seed;
    ASSERT_EQ(p.backlog.held(), 0u);
  }
}

TEST(TailBacklogTest, PlainLinesThatScrollOutAreNeverCleaned) {
  const Redactor redactor({kSecret});
  Pair p(redactor, 5, 1 << 20);
  for (int i = 0; i < 1000; ++i) p.Add("step " + std::to_string(i) + " loss=0.5");
  EXPECT_EQ(p.backlog.skipped(), 995u);
  EXPECT_EQ(p.backlog.held(), 5u);
  p.backlog.Drain(p.deferred);
  EXPECT_EQ(p.deferred.Text(), p.direct.Text());
  EXPECT_EQ(p.deferred.total_lines(), 1000u);
}

TEST(TailBacklogTest, AKeyWhoseBeginScrolledOutIsStillMasked) {
  const Redactor redactor;
  Pair p(redactor, 3, 1 << 20);
  p.Add("loading weights");
  p.Add("-----BEGIN OPENSSH PRIVATE KEY-----");
  for (int i = 0; i < 50; ++i)
    p.Add("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ" + std::to_string(i));
  p.backlog.Drain(p.deferred);
  EXPECT_EQ(p.deferred.Text(), p.direct.Text());
  EXPECT_THAT(p.deferred.Text(), Not(HasSubstr("b3BlbnNzaC1rZXkt")));
  // Dashes split by a colour code join into a marker once cleaned: not skipped either.
  Pair q(redactor, 2, 1 << 20);
  q.Add("--\x1b[0m---BEGIN RSA PRIVATE KEY-----");
  for (int i = 0; i < 10; ++i) q.Add("MIIEowIBAAKCAQEAsecretkeybody" + std::to_string(i));
  q.backlog.Drain(q.deferred);
  EXPECT_EQ(q.deferred.Text(), q.direct.Text());
  EXPECT_THAT(q.deferred.Text(), Not(HasSubstr("secretkeybody")));
}

TEST(TailBacklogTest, HeldBytesStayBounded) {
  const Redactor redactor;
  Pair p(redactor, 500, 10000);
  const std::string big(4000, 'y');
  for (int i = 0; i < 100; ++i) p.Add(big);
  EXPECT_LE(p.backlog.held(), 3u);
  p.backlog.Drain(p.deferred);
  EXPECT_EQ(p.deferred.Text(), p.direct.Text());
}

}  // namespace
}  // namespace labelrun::report
