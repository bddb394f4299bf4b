// A failed job names its error: the last Python traceback in its log gives the status line
// ("Failed: CUDA out of memory (torch.OutOfMemoryError)") and the error lines shown above
// the log, in the comment and on the job page, redacted like everything else shown.
#include "labelrun/report/log_error.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "labelrun/report/comment.hpp"
#include "labelrun/report/job_page.hpp"
#include "labelrun/report/log_tail.hpp"

namespace labelrun::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The last line of a real run on an H200 that ran out of GPU memory.
const std::string kCudaOom =
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 16.00 GiB. GPU 0 has a total "
    "capacity of 139.72 GiB of which 2.31 GiB is free. Including non-PyTorch memory, this "
    "process has 137.40 GiB memory in use. Of the allocated memory 136.89 GiB is allocated by "
    "PyTorch, and 12.53 MiB is reserved by PyTorch but unallocated. If reserved but "
    "unallocated memory is large try setting PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True "
    "to avoid fragmentation.  See documentation for Memory Management  "
    "(https://pytorch.org/docs/stable/notes/cuda.html#environment-variables)";

// The log of that run's end: metrics, then the traceback as Python 3.11 prints it.
std::vector<std::string> OomLog(const std::string& prefix = "") {
  std::vector<std::string> lines = {
      "{'loss': 1.2031, 'grad_norm': 0.88, 'learning_rate': 4.9e-05, 'epoch': 0.02}",
  };
  for (const std::string& l : std::vector<std::string>{
           "Traceback (most recent call last):",
           "  File \"/workspace/train.py\", line 88, in <module>", "    main()",
           "  File \"/workspace/train.py\", line 81, in main", "    loss = step(model, batch)",
           "           ^^^^^^^^^^^^^^^^^^", "  File \"/workspace/train.py\", line 52, in step",
           "    scratch = torch.empty(4 * 1024**3, dtype=torch.float32, device=\"cuda\")",
           "              ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
           kCudaOom}) {
    lines.push_back(prefix + l);
  }
  return lines;
}

std::optional<LogError> Find(const std::vector<std::string>& lines) {
  TracebackFinder finder;
  for (const std::string& l : lines) finder.AddLine(l);
  return finder.Last();
}

std::string Summary(const std::vector<std::string>& lines, const Redactor& r = Redactor()) {
  std::optional<LogError> error = Find(lines);
  return error ? ErrorSummary(*error, r) : "(none)";
}

TEST(TracebackFinderTest, TheCudaOomOfAnH200Run) {
  std::optional<LogError> error = Find(OomLog());
  ASSERT_TRUE(error);
  EXPECT_EQ(error->type, "torch.OutOfMemoryError");
  EXPECT_EQ(error->message, kCudaOom.substr(kCudaOom.find(": ") + 2));
  EXPECT_EQ(error->lines, (std::vector<std::string>{
                              "  File \"/workspace/train.py\", line 52, in step",
                              "    scratch = torch.empty(4 * 1024**3, dtype=torch.float32, "
                              "device=\"cuda\")",
                              "              ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^"
                              "^^^^^^^^^^",
                              kCudaOom}));
  EXPECT_EQ(ErrorSummary(*error, Redactor()), "CUDA out of memory (torch.OutOfMemoryError)");
}

TEST(TracebackFinderTest, KnownKindsInPlainWords) {
  auto one = [](const std::string& exception_line) {
    return Summary({"Traceback (most recent call last):", "  File \"t.py\", line 3, in <module>",
                    "    f()", exception_line});
  };
  EXPECT_EQ(one("RuntimeError: CUDA error: out of memory"), "CUDA out of memory (RuntimeError)");
  EXPECT_EQ(one("torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"),
            "CUDA out of memory (torch.cuda.OutOfMemoryError)");
  EXPECT_EQ(one("ModuleNotFoundError: No module named 'wandb'"),
            "Python module 'wandb' is not installed (ModuleNotFoundError)");
  EXPECT_EQ(one("FileNotFoundError: [Errno 2] No such file or directory: 'data/train.csv'"),
            "file not found: 'data/train.csv' (FileNotFoundError)");
  EXPECT_EQ(one("MemoryError"), "out of memory (MemoryError)");
  // Anything else: the message's first sentence.
  EXPECT_EQ(one("ValueError: Expected 3 channels, got 1. Check the transforms."),
            "Expected 3 channels, got 1 (ValueError)");
  EXPECT_EQ(one("ZeroDivisionError: float division by zero"),
            "float division by zero (ZeroDivisionError)");
  EXPECT_EQ(one("AssertionError"), "AssertionError");
  EXPECT_EQ(one("AssertionError: "), "AssertionError");
  // Kept short: 100 characters at most, then "…".
  const std::string long_one = one("ValueError: " + std::string(300, 'x'));
  EXPECT_EQ(long_one, std::string(100, 'x') + "… (ValueError)");
  // Not an exception line: no error.
  EXPECT_EQ(one("Segmentation fault (core dumped)"), "(none)");
  EXPECT_EQ(one("  - indented to the end"), "(none)");
}

TEST(TracebackFinderTest, TheLastTracebackWinsAndAnInterruptIsNoError) {
  std::vector<std::string> chained = {
      "Traceback (most recent call last):",
      "  File \"t.py\", line 2, in <module>",
      "KeyError: 'labels'",
      "",
      "During handling of the above exception, another exception occurred:",
      "",
      "Traceback (most recent call last):",
      "  File \"t.py\", line 4, in <module>",
      "TypeError: bad batch"};
  EXPECT_EQ(Summary(chained), "bad batch (TypeError)");
  std::vector<std::string> interrupted = chained;
  interrupted.insert(interrupted.end(),
                     {"Traceback (most recent call last):", "  File \"t.py\", line 9, in <module>",
                      "KeyboardInterrupt"});
  EXPECT_EQ(Summary(interrupted), "(none)");
}

TEST(TracebackFinderTest, AHandledTracebackFarFromTheEndIsNotTheFailure) {
  std::vector<std::string> lines = OomLog();
  for (size_t i = 0; i < TracebackFinder::kMaxLinesAfter; ++i) lines.push_back("step");
  EXPECT_EQ(Summary(lines), "CUDA out of memory (torch.OutOfMemoryError)");
  lines.push_back("one step more");
  EXPECT_EQ(Summary(lines), "(none)");
}

TEST(TracebackFinderTest, TorchrunRankPrefixesAndInterleavedLines) {
  std::vector<std::string> lines = OomLog("[rank0]: ");
  lines.insert(lines.begin() + 4, "{'loss': 1.1} from another process");
  std::optional<LogError> error = Find(lines);
  ASSERT_TRUE(error);
  EXPECT_EQ(ErrorSummary(*error, Redactor()), "CUDA out of memory (torch.OutOfMemoryError)");
  EXPECT_EQ(error->lines.back(), kCudaOom);
}

TEST(TracebackFinderTest, StdoutLinesInsideTheTracebackAreSkipped) {
  // As Docker's log had it in a real run: the traceback went to stderr, the last metrics
  // line and the bar's end to stdout, and the two streams came back interleaved.
  std::vector<std::string> lines = OomLog();
  lines.insert(lines.begin() + 2, {"{'loss': 1.0000, 'epoch': 1.00}",
                                   "100%|██████████| 100/100 [00:00<00:00, 950.00it/s]",
                                   "loss: 0.5", "", "epoch 3 done"});
  EXPECT_EQ(Summary(lines), "CUDA out of memory (torch.OutOfMemoryError)");
  // Too many lines in between: that was no traceback being printed.
  std::vector<std::string> cut = OomLog();
  cut.insert(cut.begin() + 2, TracebackFinder::kMaxLinesBetween + 1, "step");
  EXPECT_EQ(Summary(cut), "(none)");
}

TEST(TracebackFinderTest, HostileInputStaysBounded) {
  TracebackFinder finder;
  finder.AddLine("Traceback (most recent call last):");
  const std::string huge(1 << 20, 'a');
  for (int i = 0; i < 100; ++i) finder.AddLine("  " + huge);
  finder.AddLine("E: " + huge);
  std::optional<LogError> error = finder.Last();
  ASSERT_TRUE(error);
  EXPECT_LE(error->lines.size(), 5u);
  for (const std::string& l : error->lines) EXPECT_LE(l.size(), TracebackFinder::kMaxLineBytes);
  EXPECT_LE(error->message.size(), TracebackFinder::kMaxLineBytes);
  EXPECT_LE(ErrorSummary(*error, Redactor()).size(), 200u);
}

// --- the comment and the job page ---

JobView Failed(std::string reason = "exited with code 1") {
  JobView v;
  v.id = "j0000000001";
  v.repo = "acme/vision";
  v.issue = 7;
  v.rule = "train";
  v.state = JobState::kFailed;
  v.host = "h200-1";
  v.created_unix_ms = 1'796'400'000'000;
  v.started_unix_ms = v.created_unix_ms + 1000;
  v.finished_unix_ms = *v.started_unix_ms + 95;
  v.exit_code = 1;
  v.reason = std::move(reason);
  return v;
}

LogTail TailOf(const std::vector<std::string>& lines, const Redactor* r = nullptr) {
  LogTail tail(LogTail::Options{.redactor = r});
  for (const std::string& l : lines) tail.AddStored(l);
  return tail;
}

std::string Comment(const JobView& v, const LogTail& tail, const Redactor& r) {
  return RenderComment(v, JobMetrics(), tail, GpuStats(), Links{}, r);
}

std::string Page(const JobView& v, const LogTail& tail, const Redactor& r) {
  return RenderJobPage(v, JobMetrics(), tail, GpuStats(), JobPageLinks{}, r);
}

TEST(FailureReportTest, TheCommentNamesTheErrorAndShowsItsLinesAboveTheLog) {
  const Redactor r;
  const std::string body = Comment(Failed(), TailOf(OomLog()), r);
  EXPECT_THAT(body, HasSubstr("\n**Failed**: CUDA out of memory (torch.OutOfMemoryError) "
                              "after 95ms — exited with code 1\n"));
  const size_t frame = body.find("File \"/workspace/train.py\", line 52, in step\n    scratch = ");
  const size_t exception = body.find(kCudaOom.substr(0, 80));
  const size_t log = body.find("<details>");
  ASSERT_NE(frame, std::string::npos) << body;
  ASSERT_NE(exception, std::string::npos) << body;
  ASSERT_NE(log, std::string::npos) << body;
  EXPECT_LT(frame, exception);
  EXPECT_LT(exception, log);
  // Only the last frame is shown above the log; the whole traceback is in the log.
  EXPECT_EQ(body.find("line 81, in main"), body.rfind("line 81, in main"));
}

TEST(FailureReportTest, TheJobPageShowsTheSameAtTheTopAndSaysEachThingOnce) {
  const Redactor r;
  const std::string page = Page(Failed(), TailOf(OomLog()), r);
  EXPECT_THAT(page, HasSubstr("<p class=\"status\">Failed: CUDA out of memory "
                              "(torch.OutOfMemoryError) — exited with code 1.</p></div>\n"
                              "<div id=\"error\" class=\"error-top\"><pre class=\"error\">"
                              "  File &quot;/workspace/train.py&quot;, "
                              "line 52, in step\n"));
  EXPECT_LT(page.find("<pre class=\"error\">"), page.find("<pre id=\"log\""));
  // Without a traceback: the reason, said once.
  const std::string plain = Page(Failed(), TailOf({"epoch 1"}), r);
  EXPECT_THAT(plain, HasSubstr("<p class=\"status\">Failed — exited with code 1.</p>"));
  EXPECT_THAT(plain, Not(HasSubstr("<pre class=\"error\">")));
  JobView bare = Failed("");
  EXPECT_THAT(Page(bare, TailOf({}), r),
              HasSubstr("<p class=\"status\">Failed with exit code 1.</p>"));
}

TEST(FailureReportTest, AContainerKilledAtItsMemoryLimit) {
  const Redactor r;
  JobView v = Failed("killed: out of memory (limit 16 GiB)");
  v.exit_code = 137;
  EXPECT_THAT(Comment(v, TailOf({"epoch 1"}), r),
              HasSubstr("\n**Failed**: out of memory (the container hit its memory limit) "
                        "after 95ms — limit 16 GiB\n"));
  EXPECT_THAT(Page(v, TailOf({"epoch 1"}), r),
              HasSubstr("<p class=\"status\">Failed: out of memory (the container hit its memory "
                        "limit) — limit 16 GiB.</p>"));
}

TEST(FailureReportTest, OnlyAFailedJobIsNamedByItsTraceback) {
  const Redactor r;
  for (JobState state :
       {JobState::kSucceeded, JobState::kCancelled, JobState::kTimedOut, JobState::kRunning}) {
    JobView v = Failed("");
    v.state = state;
    const std::string body = Comment(v, TailOf(OomLog()), r);
    EXPECT_THAT(body, Not(HasSubstr("CUDA out of memory (torch"))) << JobStateName(state);
    EXPECT_THAT(body, Not(HasSubstr("**Failed"))) << JobStateName(state);
  }
}

TEST(FailureReportTest, ASecretInTheExceptionIsMaskedEverywhere) {
  const std::string token = "ghp_" + std::string(36, 'Z');
  const std::string configured = "hunter2-db-password-xyzzy";
  const Redactor r({configured});
  // The token falls across the 100-character cut: redaction comes first.
  const std::vector<std::string> log = {
      "Traceback (most recent call last):", "  File \"t.py\", line 5, in <module>",
      "    login(\"" + configured + "\")",
      "PermissionError: " + std::string(90, 'm') + " " + token + " and " + configured};
  for (const Redactor* tail_redactor : {static_cast<const Redactor*>(nullptr), &r}) {
    const LogTail tail = TailOf(log, tail_redactor);
    const std::string body = Comment(Failed(), tail, r);
    const std::string page = Page(Failed(), tail, r);
    for (const std::string& secret : {token, configured, token.substr(0, 12)}) {
      EXPECT_THAT(body, Not(HasSubstr(secret)));
      EXPECT_THAT(page, Not(HasSubstr(secret)));
    }
    EXPECT_THAT(body, HasSubstr("**Failed**: mmmm"));
    EXPECT_THAT(body, HasSubstr("\n    login(\"***\")\n"));
  }
}

TEST(FailureReportTest, ATracebackInsideAPrivateKeyBlockShowsNothingOfIt) {
  // The tail masks everything after a BEGIN marker it has not seen the END of; the error
  // is found in the lines as the tail keeps them, so it shows nothing the tail hides.
  const Redactor r;
  std::vector<std::string> log = {
      "-----BEGIN OPENSSH PRIVATE KEY-----",
      "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtz"};
  const std::vector<std::string> oom = OomLog();
  log.insert(log.end(), oom.begin() + 1, oom.end());
  const LogTail tail = TailOf(log, &r);
  EXPECT_FALSE(tail.error());
  const std::string body = Comment(Failed(), tail, r);
  EXPECT_THAT(body, HasSubstr("**Failed** after 95ms — exited with code 1\n"));
  EXPECT_THAT(body, Not(HasSubstr("CUDA out of memory")));
  EXPECT_THAT(body, Not(HasSubstr("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ")));
}

}  // namespace
}  // namespace labelrun::report
