// Property test: whatever the log and the metrics, the comment stays under the limit, its
// code fences balance, its Mermaid blocks hold only finite numbers (at most 100), it is
// valid UTF-8, and configured secrets never reach it.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "labelrun/report/charts.hpp"
#include "labelrun/report/comment.hpp"
#include "report/chart_checks.hpp"

namespace labelrun::report {
namespace {

class Random {
 public:
  explicit Random(uint64_t seed) : rng_(seed) {}
  size_t Below(size_t n) { return n == 0 ? 0 : rng_() % n; }
  bool OneIn(size_t n) { return Below(n) == 0; }

  std::string Bytes(size_t max) {
    std::string s(Below(max + 1), '\0');
    for (char& c : s) c = static_cast<char>(Below(256));
    return s;
  }

  // Pieces that stress the renderer: backtick runs, multi-byte characters, secrets,
  // Markdown and HTML punctuation, metric-looking text, controls and invalid bytes.
  std::string Text(size_t max_pieces, const std::string& secret) {
    static const std::vector<std::string> kPieces = {"`",
                                                     "```",
                                                     "````````",
                                                     "\xF0\x9F\x94\xA5",
                                                     "日本語",
                                                     "é",
                                                     "|",
                                                     "<details>",
                                                     "</details>",
                                                     "-->",
                                                     "<!--",
                                                     "*",
                                                     "_",
                                                     "\n",
                                                     "\r",
                                                     "\t",
                                                     "\x1b[31m",
                                                     "\xFF",
                                                     "\xC3",
                                                     " ",
                                                     "loss=",
                                                     "0.5",
                                                     "nan",
                                                     "inf",
                                                     "1e308",
                                                     "{'loss': ",
                                                     "}",
                                                     "step ",
                                                     "42",
                                                     "/",
                                                     "[00:01<00:02, ",
                                                     "]",
                                                     "%|",
                                                     "-----BEGIN PRIVATE KEY-----",
                                                     "-----END PRIVATE KEY-----",
                                                     "ghp_",
                                                     "abcdefghijklmnopqrstuvwxyz0123456789",
                                                     "Bearer ",
                                                     "password=",
                                                     "\\",
                                                     "\"",
                                                     "'"};
    std::string out;
    const size_t n = Below(max_pieces + 1);
    for (size_t i = 0; i < n; ++i) {
      if (OneIn(50)) {
        out += secret;
      } else if (OneIn(40)) {
        out += Bytes(20);
      } else {
        out += kPieces[Below(kPieces.size())];
      }
    }
    return out;
  }

  double Value() {
    switch (Below(8)) {
      case 0:
        return std::numeric_limits<double>::quiet_NaN();
      case 1:
        return OneIn(2) ? std::numeric_limits<double>::infinity()
                        : -std::numeric_limits<double>::infinity();
      case 2:
        return (OneIn(2) ? 1 : -1) * std::pow(10.0, static_cast<double>(Below(600)) - 300);
      default:
        return static_cast<double>(Below(100000)) / 1000.0;
    }
  }

 private:
  std::mt19937_64 rng_;
};

TEST(CommentPropertyTest, RandomLogsAndMetricsNeverBreakTheComment) {
  const std::string secret = "s3cret-Value-99";
  const Redactor redactor({secret});
  constexpr JobState kStates[] = {JobState::kQueued,    JobState::kPulling,   JobState::kStarting,
                                  JobState::kRunning,   JobState::kSucceeded, JobState::kFailed,
                                  JobState::kCancelled, JobState::kTimedOut};
  for (uint64_t seed = 1; seed <= 150; ++seed) {
    Random r(seed);
    JobView job;
    job.id = r.Text(6, secret);
    job.rule = r.Text(6, secret);
    job.state = kStates[r.Below(8)];
    job.reason = r.Text(30, secret);
    job.queue_position = static_cast<int>(r.Below(20));
    job.image = r.Text(8, secret);
    job.image_digest = r.Text(4, secret);
    job.host = r.Text(4, secret);
    for (size_t i = r.Below(20); i > 0; --i) job.gpus.push_back(r.Text(3, secret));
    job.commit = r.Text(3, secret);
    job.metrics = {r.OneIn(2) ? "loss" : r.Text(2, secret)};
    if (r.OneIn(3)) job.metrics.push_back(r.OneIn(2) ? "eval_loss" : r.Text(2, secret));
    job.created_unix_ms = static_cast<int64_t>(r.Below(1ull << 42));
    if (r.OneIn(2))
      job.started_unix_ms = job.created_unix_ms + static_cast<int64_t>(r.Below(1 << 30));
    if (r.OneIn(2))
      job.finished_unix_ms = job.created_unix_ms + static_cast<int64_t>(r.Below(1 << 30));
    if (r.OneIn(2)) job.exit_code = static_cast<int64_t>(r.Below(300)) - 10;

    JobMetrics metrics;
    const size_t metric_lines = r.Below(3000);
    for (size_t i = 0; i < metric_lines; ++i) {
      const size_t key = r.Below(40);
      std::string line;
      switch (r.Below(4)) {
        case 0:
          line = "{\"k" + std::to_string(key) + "\": " + std::to_string(r.Value()) +
                 ", \"step\": " + std::to_string(i) + "}";
          break;
        case 1:
          line = "step " + std::to_string(i) + " loss=" + std::to_string(r.Value());
          break;
        case 2:
          line = r.Text(10, secret);
          break;
        default:
          metrics.Add({"loss", static_cast<double>(r.Below(100000)), r.Value()});
          continue;
      }
      metrics.OnLine(line);
    }

    LogTail tail;
    const size_t lines = r.Below(800);
    for (size_t i = 0; i < lines; ++i) {
      if (r.OneIn(100)) {
        tail.AddLine(r.Bytes(200'000));  // a huge line
      } else if (r.OneIn(10)) {
        tail.Add(r.Text(20, secret), LineEnd::kCarriageReturn);
      } else {
        tail.AddLine(r.Text(60, secret));
      }
    }

    GpuStats gpus;
    for (size_t i = r.Below(200); i > 0; --i) {
      gpus.Add({r.Text(2, secret), r.Value(), r.Below(1ull << 40), r.Below(1ull << 40)});
    }

    Links links{r.OneIn(2) ? "https://labelrun.example/jobs/x?exp=1&sig=2" : "",
                r.OneIn(2) ? r.Text(5, "") : "", r.OneIn(2) ? "https://o.example/x" : ""};
    const size_t limit =
        r.OneIn(3) ? kGithubCommentLimit : kMinCommentLimit + r.Below(kGithubCommentLimit);
    const std::string body = RenderComment(job, metrics, tail, gpus, links, redactor, limit);

    SCOPED_TRACE("seed " + std::to_string(seed) + " limit " + std::to_string(limit));
    ASSERT_LE(CommentLength(body), limit);
    ASSERT_EQ(test::FenceProblem(body), "");
    ASSERT_TRUE(test::ValidUtf8(body));
    ASSERT_EQ(body.find(secret), std::string::npos);
    ASSERT_EQ(body.rfind("<!-- labelrun:job=", 0), 0u);
    if (!job.id.empty()) {
      ASSERT_TRUE(FindJobMarker(body).has_value());
    }
    for (const std::string& block : test::MermaidBlocks(body)) {
      const test::MermaidFacts facts = test::ParseMermaid(block);
      ASSERT_TRUE(facts.ok) << facts.problem << "\n" << block;
      ASSERT_LE(facts.points, kMaxMermaidPoints);
    }
  }
}

}  // namespace
}  // namespace labelrun::report
