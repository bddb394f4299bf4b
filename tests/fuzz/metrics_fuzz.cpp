// libFuzzer target: any log bytes, cut into lines the way the runtime's stream is, feed the
// metric extractor, the series, the log tail and the GPU stats; the comment rendered from
// them must stay under its limit, with balanced code fences, valid UTF-8, parseable Mermaid
// blocks of finite numbers, and no configured secret. Violations abort.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../report/chart_checks.hpp"
#include "labelrun/report/charts.hpp"
#include "labelrun/report/comment.hpp"
#include "labelrun/report/job_page.hpp"
#include "labelrun/report/line_buffer.hpp"
#include "labelrun/report/metrics.hpp"

using namespace labelrun;
using namespace labelrun::report;

namespace {

constexpr std::string_view kSecret = "fuzz-secret-value";

void Require(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  static const Redactor redactor({std::string(kSecret)});

  // The extractor alone, on the whole input as one line.
  const MetricExtractor extractor;
  for (const MetricPoint& p : extractor.Extract(input, 0)) {
    Require(!p.key.empty() && p.key.size() <= MetricExtractor::kMaxKeyLength);
  }
  Require(extractor.Extract(input, 0).size() <= MetricExtractor::kMaxPointsPerLine);

  JobMetrics metrics;
  LogTail tail(LogTail::Options{.max_lines = 200, .max_bytes = 64 * 1024, .max_line_bytes = 1024});
  GpuStats gpus;
  LineBuffer lines(4096);
  auto sink = [&](std::string_view text, LineEnd end) {
    metrics.OnLine(text);
    tail.Add(text, end);
    if (text.size() >= 2)
      gpus.Add(
          {std::string(text.substr(0, 1)), static_cast<double>(text[1]), text.size(), 1 << 20});
  };
  lines.Feed(input.substr(0, size / 2), sink);
  lines.Feed(input.substr(size / 2), sink);
  lines.Flush(sink);
  // Another chunking of the same bytes gives the same metrics.
  JobMetrics again;
  LineBuffer one(4096);
  auto again_sink = [&](std::string_view text, LineEnd) { again.OnLine(text); };
  one.Feed(input, again_sink);
  one.Flush(again_sink);
  Require(again.entries().size() == metrics.entries().size());
  for (size_t i = 0; i < again.entries().size(); ++i) {
    Require(again.entries()[i].key == metrics.entries()[i].key);
    Require(again.entries()[i].series.count() == metrics.entries()[i].series.count());
  }

  JobView job;
  job.id = "j-fuzz";
  job.state = static_cast<JobState>(size > 0 ? data[0] % 8 : 0);
  job.reason = std::string(input.substr(0, 300));
  job.rule = std::string(input.substr(size / 3, 40));
  job.host = std::string(kSecret);
  job.metrics = {size > 1 && data[1] % 2 ? "loss" : std::string(input.substr(0, 8))};
  if (size > 8 && data[2] % 2) job.metrics.push_back(std::string(input.substr(8, 8)));
  job.started_unix_ms = 1'700'000'000'000;
  if (IsFinal(job.state)) job.finished_unix_ms = 1'700'000'360'000;
  // Links are labelrun's own and are not redacted (their signatures would be); odd bytes
  // in them must still not break the body.
  std::string odd_link(input.substr(0, 64));
  if (odd_link.find(kSecret) != std::string::npos) odd_link.clear();
  const Links links{"https://labelrun.example/jobs/j-fuzz", odd_link, ""};

  for (size_t limit : {kGithubCommentLimit, kMinCommentLimit + size % 8192}) {
    const std::string body = RenderComment(job, metrics, tail, gpus, links, redactor, limit);
    Require(CommentLength(body) <= limit);
    Require(test::FenceProblem(body).empty());
    Require(test::ValidUtf8(body));
    Require(body.find(kSecret) == std::string::npos);
    Require(body.rfind(CommentMarker("j-fuzz") + "\n", 0) == 0);
    for (const std::string& block : test::MermaidBlocks(body)) {
      const test::MermaidFacts facts = test::ParseMermaid(block);
      Require(facts.ok && facts.points <= kMaxMermaidPoints);
    }
  }
  for (const JobMetrics::Entry& e : metrics.entries()) {
    Require(e.series.bucket_count() <= e.series.max_buckets());
    const std::string svg = RenderLossSvg(e.series, e.key);
    Require(test::TagsBalanced(svg));
  }
  const std::string page = RenderJobPage(job, metrics, tail, gpus, JobPageLinks{}, redactor);
  Require(page.find(kSecret) == std::string::npos);
  Require(test::TagsBalanced(page));
  return 0;
}
