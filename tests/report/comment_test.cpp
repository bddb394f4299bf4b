// The issue comment: golden files for every state (set LABELRUN_UPDATE_GOLDEN=1 to rewrite
// them after a deliberate change, and review the diff), the size limit, fences, markers,
// redaction and status labels.
#include "labelrun/report/comment.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "labelrun/report/charts.hpp"
#include "report/chart_checks.hpp"

namespace labelrun::report {
namespace {

constexpr int64_t kCreated = 1767268800000;  // 2026-01-01 12:00:00 UTC
const std::string kToken = "ghs_16C7e42F292c6912E7710c838347Ae178B4a";

void ExpectGolden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(LABELRUN_SOURCE_DIR) + "/tests/report/golden/" + name;
  if (const char* update = std::getenv("LABELRUN_UPDATE_GOLDEN"); update && *update == '1') {
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path << " is missing; run with LABELRUN_UPDATE_GOLDEN=1";
  std::ostringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str()) << "golden " << name;
}

JobView View(JobState state) {
  JobView v;
  v.id = "j-1f3a9c";
  v.repo = "acme/vision";
  v.issue = 42;
  v.rule = "train-on-gpu";
  v.state = state;
  v.image = "pytorch/pytorch:2.8.0-cuda12.8-cudnn9-runtime";
  v.commit = "3f2a9c1";
  v.created_unix_ms = kCreated;
  if (state == JobState::kQueued) {
    v.queue_position = 3;
    return v;
  }
  v.host = "gpu-box-1";
  v.gpus = {"0", "1"};
  if (state == JobState::kPulling) return v;
  v.image_digest = "sha256:4f6b3c2d1e0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c";
  v.started_unix_ms = kCreated + 95'000;
  if (state == JobState::kStarting || state == JobState::kRunning) return v;
  v.finished_unix_ms = *v.started_unix_ms + 3'725'000;
  switch (state) {
    case JobState::kSucceeded:
      v.exit_code = 0;
      break;
    case JobState::kFailed:
      v.exit_code = 137;
      v.reason = "killed: out of memory (limit 16 GiB)";
      break;
    case JobState::kCancelled:
      v.exit_code = 143;
      v.reason = "cancelled by @alice";
      break;
    case JobState::kTimedOut:
      v.exit_code = 137;
      v.reason = "stopped: ran past the rule's timeout of 1h";
      break;
    default:
      break;
  }
  return v;
}

struct Fixture {
  JobMetrics metrics;
  LogTail tail;
  GpuStats gpus;
  Links links{"https://labelrun.example.com/jobs/j-1f3a9c?exp=1767873600&sig=ab12",
              "https://labelrun.example.com/jobs/j-1f3a9c/log?exp=1767873600&sig=cd34", ""};
  Redactor redactor{{"hunter2-db-password"}};

  explicit Fixture(int steps) {
    for (int step = 1; step <= steps; ++step) {
      const double loss = 2.3 * std::exp(-step / 60.0) + 0.35 + 0.02 * std::sin(step);
      char line[256];
      if (step % 10 == 0) {
        std::snprintf(line, sizeof line,
                      "{'loss': %.4f, 'grad_norm': %.3f, 'learning_rate': %.3g, 'epoch': %.2f}",
                      loss, 1.5 / std::sqrt(step), 5e-05 * (1 - step / 400.0), step / 100.0);
        tail.AddLine(line);
      } else {
        std::snprintf(line, sizeof line, " %d%%|     | %d/400 [00:%02d<01:00, 7.1it/s]", step / 4,
                      step, step % 60);
        tail.AddLine(line);
      }
      metrics.OnLine(line);
      if (step % 20 == 0) {
        metrics.OnLine("{'eval_loss': " + std::to_string(loss + 0.1) +
                       ", 'eval_accuracy': " + std::to_string(0.5 + step / 1000.0) +
                       ", 'epoch': " + std::to_string(step / 100.0) + "}");
      }
      if (step % 25 == 0) {
        gpus.Add({"0", 80.0 + step % 20, (12ull << 30) + step * (1ull << 20), 80ull << 30});
        gpus.Add({"1", 60.0 + step % 30, 10ull << 30, 80ull << 30});
      }
    }
    tail.AddLine("```python");
    tail.AddLine("print('a log line with a fence in it')");
    tail.AddLine("````");
    tail.AddLine("connecting with password hunter2-db-password and token " + kToken);
  }
};

void CheckInvariants(const std::string& body, size_t limit = kGithubCommentLimit) {
  EXPECT_LE(CommentLength(body), limit);
  EXPECT_EQ(test::FenceProblem(body), "") << body;
  EXPECT_TRUE(test::ValidUtf8(body));
  for (const std::string& block : test::MermaidBlocks(body)) {
    const test::MermaidFacts facts = test::ParseMermaid(block);
    EXPECT_TRUE(facts.ok) << facts.problem << "\n" << block;
    EXPECT_LE(facts.points, kMaxMermaidPoints);
  }
}

TEST(CommentGoldenTest, EveryState) {
  const std::vector<std::pair<JobState, int>> states = {
      {JobState::kQueued, 0},     {JobState::kPulling, 0},     {JobState::kStarting, 0},
      {JobState::kRunning, 150},  {JobState::kSucceeded, 400}, {JobState::kFailed, 230},
      {JobState::kCancelled, 40}, {JobState::kTimedOut, 400},
  };
  for (const auto& [state, steps] : states) {
    Fixture f(steps);
    const std::string body =
        RenderComment(View(state), f.metrics, f.tail, f.gpus, f.links, f.redactor);
    SCOPED_TRACE(std::string(JobStateName(state)));
    ExpectGolden("comment_" + std::string(JobStateName(state)) + ".md", body);
    CheckInvariants(body);
    EXPECT_EQ(body.rfind("<!-- labelrun:job=j-1f3a9c -->\n", 0), 0u);
    EXPECT_EQ(body.find("hunter2-db-password"), std::string::npos);
    EXPECT_EQ(body.find(kToken), std::string::npos);
  }
}

TEST(CommentTest, StatusLinesSayWhy) {
  Fixture f(0);
  auto render = [&](const JobView& v) {
    return RenderComment(v, f.metrics, f.tail, f.gpus, f.links, f.redactor);
  };
  EXPECT_NE(render(View(JobState::kQueued)).find("**Queued** (position 3 in the queue)"),
            std::string::npos);
  EXPECT_NE(render(View(JobState::kFailed))
                .find("**Failed**: out of memory (the container hit its memory limit) after "
                      "1h 02m — limit 16 GiB\n"),
            std::string::npos);
  EXPECT_NE(
      render(View(JobState::kCancelled)).find("**Cancelled** after 1h 02m — cancelled by @alice"),
      std::string::npos);
  JobView no_runtime = View(JobState::kFailed);
  no_runtime.reason = "the host has no NVIDIA runtime";
  EXPECT_NE(render(no_runtime).find("— the host has no NVIDIA runtime"), std::string::npos);
  JobView bare = View(JobState::kFailed);
  bare.reason.clear();
  EXPECT_NE(render(bare).find("**Failed** after 1h 02m — exit code 137"), std::string::npos);
  JobView idle = View(JobState::kCancelled);
  idle.reason = "stopped: GPU idle below 5% for 10 min";
  EXPECT_NE(render(idle).find("— stopped: GPU idle below 5% for 10 min"), std::string::npos);
}

TEST(CommentTest, LogTailShrinksFromTheTopToFitTheLimit) {
  Fixture f(400);
  LogTail big(LogTail::Options{.max_lines = 5000, .max_bytes = 1 << 20, .max_line_bytes = 2048});
  for (int i = 0; i < 3000; ++i)
    big.AddLine("line " + std::to_string(i) + " " + std::string(60, 'x'));
  const JobView view = View(JobState::kSucceeded);
  const std::string full = RenderComment(view, f.metrics, big, f.gpus, f.links, f.redactor);
  CheckInvariants(full);
  EXPECT_GT(CommentLength(full), kGithubCommentLimit - 200);
  EXPECT_NE(full.find("line 2999 "), std::string::npos) << "the newest line is kept";
  EXPECT_EQ(full.find("line 0 "), std::string::npos);
  EXPECT_NE(full.find("Log: last "), std::string::npos);
  // The summary is whole at any limit: only the tail shrinks.
  for (size_t limit : {60000u, 20000u, 8000u}) {
    const std::string body =
        RenderComment(view, f.metrics, big, f.gpus, f.links, f.redactor, limit);
    CheckInvariants(body, limit);
    EXPECT_NE(body.find("xychart-beta"), std::string::npos) << limit;
    EXPECT_NE(body.find("#### GPU utilisation"), std::string::npos) << limit;
    EXPECT_NE(body.find("[Full log]"), std::string::npos) << limit;
    EXPECT_NE(body.find("line 2999 "), std::string::npos) << limit;
  }
}

TEST(CommentTest, MultiByteLogsCannotPushItOver) {
  Fixture f(100);
  LogTail tail(LogTail::Options{.max_lines = 2000, .max_bytes = 1 << 20, .max_line_bytes = 4096});
  // Astral characters count two UTF-16 units each: 4 bytes, 2 units, 1 code point.
  std::string emoji;
  for (int i = 0; i < 400; ++i) emoji += "\xF0\x9F\x94\xA5";
  for (int i = 0; i < 500; ++i) tail.AddLine(emoji);
  const std::string body =
      RenderComment(View(JobState::kRunning), f.metrics, tail, f.gpus, f.links, f.redactor);
  CheckInvariants(body);
  EXPECT_GT(CommentLength(body), 60000u);
}

TEST(CommentTest, FenceOutgrowsBackticksInTheLog) {
  Fixture f(0);
  LogTail tail;
  tail.AddLine("```");
  tail.AddLine("   `````` closing attempt");
  tail.AddLine("text with ```````````` inside");
  const std::string body =
      RenderComment(View(JobState::kRunning), f.metrics, tail, f.gpus, f.links, f.redactor);
  CheckInvariants(body);
  EXPECT_NE(body.find("\n`````````````text\n"), std::string::npos) << body;
}

TEST(CommentTest, UserStringsCannotBreakTheLayout) {
  Fixture f(50);
  JobView v = View(JobState::kFailed);
  v.id = "j--> <b>x</b>";
  v.rule = "a|b`c\nd";
  v.reason = "bad `code` | <details> **bold** token " + kToken + "\nsecond line";
  v.host = "<script>alert(1)</script>";
  v.gpus = {"0|1", "`"};
  const std::string body = RenderComment(v, f.metrics, f.tail, f.gpus, f.links, f.redactor);
  CheckInvariants(body);
  EXPECT_EQ(body.rfind("<!-- labelrun:job=j-____b_x__b_ -->\n", 0), 0u) << body.substr(0, 80);
  EXPECT_EQ(body.find(kToken), std::string::npos);
  // Raw HTML only inside code spans, where it is text.
  EXPECT_EQ(test::Count(body, "<script>"), 1u);
  EXPECT_NE(body.find("`<script>alert(1)</script>`"), std::string::npos);
  EXPECT_EQ(body.find("<details> **"), std::string::npos);
  EXPECT_NE(body.find("`a\\|b'c d`"), std::string::npos) << body;
}

// The whole body passes the redactor on its way out; only the signature of labelrun's own
// signed links stays, since a reader needs it to open the page.
TEST(CommentTest, RedactCommentKeepsOnlyOwnLinkSignatures) {
  const Redactor r({"s3cr3t-value-for-tests"});
  const std::string sig(64, 'a');
  const std::string own = "https://lr.example.com/jobs/j1?exp=17&sig=" + sig;
  const std::string body = "**Failed** s3cr3t-value-for-tests\n[Job page](<" + own +
                           ">) · [Other](<https://evil.example/jobs/j1?exp=17&sig=" + sig +
                           ">) · [Leaky](<" + own + "&password=hunter2hunter2>)\n";
  const std::string out = RedactComment(r, body, "https://lr.example.com");
  EXPECT_EQ(out, "**Failed** ***\n[Job page](<" + own +
                     ">) · [Other](<https://evil.example/jobs/j1?exp=17&sig=***) · [Leaky](<" +
                     "https://lr.example.com/jobs/j1?exp=17&sig=***&password=***)\n");
  // (The redactor's value of a secret-named key runs to the '>' as well.) Without a public
  // URL nothing is exempt.
  EXPECT_EQ(RedactComment(r, body, ""), r.Redact(body));
  // A link that only looks like ours (a prefix of another host) is redacted.
  const std::string lookalike = "[x](<https://lr.example.com.evil/jobs/j?sig=" + sig + ">)";
  EXPECT_EQ(RedactComment(r, lookalike, "https://lr.example.com"),
            "[x](<https://lr.example.com.evil/jobs/j?sig=***)");
}

TEST(CommentTest, MarkerRoundTrip) {
  EXPECT_EQ(CommentMarker("j-1f3a9c"), "<!-- labelrun:job=j-1f3a9c -->");
  EXPECT_EQ(FindJobMarker("text\n<!-- labelrun:job=j-1f3a9c -->\nmore"), "j-1f3a9c");
  EXPECT_EQ(FindJobMarker(CommentMarker("a-->b")), "a-__b");
  EXPECT_EQ(FindJobMarker("<!-- labelrun:job= -->"), std::nullopt);
  EXPECT_EQ(FindJobMarker("no marker"), std::nullopt);
}

TEST(CommentTest, LengthCountsLikeGithubOnTheSafeSide) {
  EXPECT_EQ(CommentLength("abc"), 3u);
  EXPECT_EQ(CommentLength("a\nb"), 4u);              // "\n" may become "\r\n"
  EXPECT_EQ(CommentLength("日本"), 2u);              // 6 bytes, 2 characters
  EXPECT_EQ(CommentLength("\xF0\x9F\x94\xA5"), 2u);  // one astral character: 2 UTF-16 units
  EXPECT_EQ(CommentLength("\xFF\xFE"), 2u);
}

TEST(CommentTest, StatusLabelsFollowLabelsMd) {
  EXPECT_EQ(StatusLabel(JobState::kQueued), "status:queued");
  EXPECT_EQ(StatusLabel(JobState::kPulling), "status:queued");
  EXPECT_EQ(StatusLabel(JobState::kStarting), "status:queued");
  EXPECT_EQ(StatusLabel(JobState::kRunning), "status:in-progress");
  EXPECT_EQ(StatusLabel(JobState::kSucceeded), "status:done");
  EXPECT_EQ(StatusLabel(JobState::kFailed), "status:failed");
  EXPECT_EQ(StatusLabel(JobState::kCancelled), "status:failed");
  EXPECT_EQ(StatusLabel(JobState::kTimedOut), "status:failed");
  // Each is defined in the repository's LABELS.md.
  std::ifstream in(std::string(LABELRUN_SOURCE_DIR) + "/LABELS.md");
  std::ostringstream labels;
  labels << in.rdbuf();
  for (std::string_view label : kStatusLabels) {
    EXPECT_NE(labels.str().find("### `" + std::string(label) + "`"), std::string::npos) << label;
  }
}

TEST(CommentTest, EmptyLinksAreLeftOut) {
  Fixture f(0);
  Links none;
  const std::string body =
      RenderComment(View(JobState::kQueued), f.metrics, LogTail(), f.gpus, none, f.redactor);
  EXPECT_EQ(body.find("]("), std::string::npos);
  EXPECT_EQ(body.find("<details>"), std::string::npos);
  Links odd{"https://x.example/a b<c>", "", "https://x.example/out"};
  const std::string with =
      RenderComment(View(JobState::kQueued), f.metrics, LogTail(), f.gpus, odd, f.redactor);
  EXPECT_NE(
      with.find(
          "[Job page](<https://x.example/a%20b%3Cc%3E>) · [Outputs](<https://x.example/out>)"),
      std::string::npos)
      << with;
}

}  // namespace
}  // namespace labelrun::report
