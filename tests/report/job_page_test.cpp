#include "labelrun/report/job_page.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "report/chart_checks.hpp"

namespace labelrun::report {
namespace {

const std::string kToken = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";

JobView Running() {
  JobView v;
  v.id = "j-7";
  v.repo = "acme/vision";
  v.issue = 42;
  v.rule = "train-on-gpu";
  v.state = JobState::kRunning;
  v.image = "pytorch/pytorch:2.8.0-cuda12.8-cudnn9-runtime";
  v.host = "gpu-box-1";
  v.gpus = {"0"};
  v.created_unix_ms = 1767268800000;
  v.started_unix_ms = 1767268900000;
  return v;
}

void ExpectWellFormed(const std::string& html) {
  EXPECT_EQ(html.rfind("<!DOCTYPE html>\n<html lang=\"en\">", 0), 0u);
  std::string why;
  EXPECT_TRUE(test::TagsBalanced(html, &why)) << why;
  EXPECT_TRUE(test::ValidUtf8(html));
  EXPECT_NE(html.find("<meta charset=\"utf-8\">"), std::string::npos);
  EXPECT_NE(html.find("<link rel=\"icon\" href=\"data:,\">"), std::string::npos);
  // Nothing is loaded from elsewhere.
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html.find("<script>"), std::string::npos);  // the page's script is a file
  EXPECT_EQ(html.find("<link rel=\"stylesheet\""), std::string::npos);
}

TEST(JobPageTest, RunningJobRefreshesItsLog) {
  JobMetrics metrics;
  LogTail tail;
  GpuStats gpus;
  for (int i = 1; i <= 60; ++i) {
    const std::string line = "step " + std::to_string(i) + " loss=" + std::to_string(3.0 / i);
    metrics.OnLine(line);
    tail.AddLine(line);
  }
  tail.AddLine("<b>not bold</b> & token " + kToken);
  gpus.Add({"0", 91, 10ull << 30, 80ull << 30});
  JobPageLinks links;
  links.list = "/jobs";
  links.log = "/jobs/j-7/log?exp=1&sig=a";
  links.log_tail = "/jobs/j-7/log?exp=1&sig=a&tail=500";
  links.loss_svg = "/jobs/j-7/loss.svg?exp=1&sig=b";
  links.live = "/jobs/j-7/live.json?exp=1&sig=c";
  links.script = "/assets/labelrun.js";
  const std::string html = RenderJobPage(Running(), metrics, tail, gpus, links, Redactor());
  ExpectWellFormed(html);
  EXPECT_NE(html.find("<main data-live=\"/jobs/j-7/live.json?exp=1&amp;sig=c\">"),
            std::string::npos);
  EXPECT_NE(html.find("<script src=\"/assets/labelrun.js\"></script>"), std::string::npos);
  EXPECT_NE(PageScript().find("fetch(src"), std::string_view::npos);
  // The live JSON carries the same parts, redacted and escaped.
  const std::string live = RenderJobLiveJson(Running(), metrics, tail, gpus, links, Redactor());
  EXPECT_NE(live.find("\"state\":\"running\""), std::string::npos);
  EXPECT_NE(live.find("\"final\":false"), std::string::npos);
  EXPECT_NE(live.find("token ***"), std::string::npos);
  EXPECT_EQ(live.find(kToken), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;not bold&lt;/b&gt; &amp; token ***"), std::string::npos);
  EXPECT_EQ(html.find(kToken), std::string::npos);
  EXPECT_EQ(test::Count(html, "<svg "), 1u);
  EXPECT_EQ(test::Count(html, "<circle class=\"pt\""), 60u);
  EXPECT_NE(html.find("<span class=\"state state-running\">running</span>"), std::string::npos);
  EXPECT_NE(html.find(">Full log</a>"), std::string::npos);
  EXPECT_EQ(html.find(">Outputs</a>"), std::string::npos);
  EXPECT_NE(html.find("<h2>GPU utilisation</h2>"), std::string::npos);
}

TEST(JobPageTest, FinishedJobHasNoScript) {
  JobView v = Running();
  v.state = JobState::kTimedOut;
  v.finished_unix_ms = *v.started_unix_ms + 7'200'000;
  v.reason = "stopped: ran past the rule's timeout of 2h";
  JobPageLinks links;
  links.list = "/jobs";
  links.log = "/jobs/j-7/log";
  links.log_tail = "/jobs/j-7/log?tail=1";
  links.outputs = "/out";
  links.live = "/jobs/j-7/live.json";
  links.script = "/assets/labelrun.js";
  const std::string html = RenderJobPage(v, JobMetrics(), LogTail(), GpuStats(), links, Redactor());
  ExpectWellFormed(html);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("data-src"), std::string::npos);
  EXPECT_NE(html.find("Timed out. stopped: ran past the rule&#39;s timeout of 2h"),
            std::string::npos);
  EXPECT_NE(html.find("timed out</span>"), std::string::npos);
  EXPECT_NE(html.find("No metrics in the log yet."), std::string::npos);
}

TEST(JobPageTest, HostileFieldsAreEscaped) {
  JobView v = Running();
  v.id = "<img src=x onerror=alert(1)>";
  v.repo = "\"><script>alert(1)</script>";
  v.rule = "rule\xFF";
  JobPageLinks links;
  links.list = "/jobs\"><x";
  const std::string html = RenderJobPage(v, JobMetrics(), LogTail(), GpuStats(), links, Redactor());
  ExpectWellFormed(html);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_NE(html.find("href=\"/jobs&quot;&gt;&lt;x\""), std::string::npos);
}

TEST(JobListTest, TableWithStateFilters) {
  std::vector<JobListEntry> jobs;
  for (JobState s : {JobState::kRunning, JobState::kFailed, JobState::kRunning}) {
    JobView v = Running();
    v.state = s;
    v.id = "j-" + std::to_string(jobs.size());
    jobs.push_back({v, "/jobs/" + v.id + "?exp=1&sig=x"});
  }
  const std::string all = RenderJobList(jobs, std::nullopt, "/jobs", Redactor());
  ExpectWellFormed(all);
  EXPECT_EQ(test::Count(all, "<tr><td><a href="), 3u);
  EXPECT_NE(all.find("<a href=\"/jobs\" aria-current=\"page\">all</a>"), std::string::npos);
  EXPECT_NE(all.find("<a href=\"/jobs?state=timed_out\">timed_out</a>"), std::string::npos);
  EXPECT_NE(all.find("href=\"/jobs/j-0?exp=1&amp;sig=x\""), std::string::npos);
  const std::string failed = RenderJobList(jobs, JobState::kFailed, "/jobs", Redactor());
  ExpectWellFormed(failed);
  EXPECT_EQ(test::Count(failed, "<tr><td><a href="), 1u);
  EXPECT_NE(failed.find("<a href=\"/jobs?state=failed\" aria-current=\"page\">failed</a>"),
            std::string::npos);
  const std::string none = RenderJobList({}, JobState::kQueued, "/jobs", Redactor());
  ExpectWellFormed(none);
  EXPECT_NE(none.find("<p>No jobs.</p>"), std::string::npos);
}

}  // namespace
}  // namespace labelrun::report
