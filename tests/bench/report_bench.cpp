// Throughput of the reporting hot paths against baselines measured in the same run, with
// the ratios printed at the end:
//   BM_Extract          metric extraction over a realistic training log (lines/s)
//   BM_Redact           redaction of the same bytes, with configured secrets (MB/s)
//   BM_MemchrBaseline   memchr for '\n' over the same bytes: the memory-speed ceiling
//   BM_RegexExtract / BM_RegexRedact
//                       the same jobs done the obvious way, with std::regex
//
//   cmake --preset release && ninja -C build/release report_bench && ./build/release/report_bench
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "labelrun/report/metrics.hpp"
#include "labelrun/report/redact.hpp"

namespace labelrun::report {
namespace {

struct Log {
  std::string text;
  std::vector<std::string_view> lines;

  Log() {
    std::mt19937 rng(1);
    char buf[256];
    for (int i = 0; i < 20000; ++i) {
      const int kind = static_cast<int>(rng() % 10);
      if (kind < 6) {
        std::snprintf(buf, sizeof buf,
                      "Epoch %d:  %2d%%|█████     | %d/1000 [00:10<00:10, 48.30it/s, v_num=0, "
                      "train_loss=%.4f]",
                      i / 1000, (i % 1000) / 10, i % 1000, 2.0 / (1 + i / 500.0));
      } else if (kind < 7) {
        std::snprintf(buf, sizeof buf,
                      "{'loss': %.4f, 'grad_norm': %.3f, 'learning_rate': %.3g, 'epoch': %.2f}",
                      2.0 / (1 + i / 500.0), 1.0 + (rng() % 100) / 100.0, 5e-05, i / 1000.0);
      } else if (kind < 8) {
        std::snprintf(buf, sizeof buf, "step %d | loss %.4f | lr 3e-4 | tokens/s 81234", i,
                      2.0 / (1 + i / 500.0));
      } else {
        std::snprintf(buf, sizeof buf,
                      "2026-01-01 12:%02d:%02d INFO dataloader worker %d prefetched shard "
                      "/data/shard-%05d.tar (%d samples)",
                      i / 60 % 60, i % 60, i % 8, i, 1000 + i % 7);
      }
      text += buf;
      text += '\n';
    }
    size_t start = 0;
    while (start < text.size()) {
      const size_t nl = text.find('\n', start);
      lines.emplace_back(text.data() + start, nl - start);
      start = nl + 1;
    }
  }
};

const Log& GetLog() {
  static const Log log;
  return log;
}

const Redactor& GetRedactor() {
  static const Redactor redactor({"hunter2-db-password", "s3cr3t-webhook-value", "AbCdEfGh1234"});
  return redactor;
}

void BM_Extract(benchmark::State& state) {
  const Log& log = GetLog();
  const MetricExtractor extractor;
  std::vector<MetricPoint> points;
  size_t found = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < log.lines.size(); ++i) {
      points.clear();
      found += extractor.Extract(log.lines[i], i, points);
    }
    benchmark::DoNotOptimize(found);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(log.lines.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(log.text.size()));
  state.SetLabel(std::to_string(found / state.iterations()) + " points per pass");
}
BENCHMARK(BM_Extract)->Unit(benchmark::kMillisecond);

void BM_Redact(benchmark::State& state) {
  const Log& log = GetLog();
  const Redactor& redactor = GetRedactor();
  std::string out;
  for (auto _ : state) {
    out.clear();
    redactor.RedactTo(log.text, out);
    benchmark::DoNotOptimize(out.data());
  }
  if (out != log.text) state.SkipWithError("a clean log was changed");
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(log.lines.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(log.text.size()));
}
BENCHMARK(BM_Redact)->Unit(benchmark::kMillisecond);

void BM_MemchrBaseline(benchmark::State& state) {
  const Log& log = GetLog();
  for (auto _ : state) {
    size_t lines = 0;
    const char* p = log.text.data();
    const char* end = p + log.text.size();
    while ((p = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p))))) {
      ++lines;
      ++p;
    }
    benchmark::DoNotOptimize(lines);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(log.lines.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(log.text.size()));
}
BENCHMARK(BM_MemchrBaseline)->Unit(benchmark::kMillisecond);

// The regex from the design notes for generic pairs (one pass per line, no objects or bars).
void BM_RegexExtract(benchmark::State& state) {
  const Log& log = GetLog();
  const std::regex pair(
      R"(\b(loss|train_loss|val_loss|eval_loss|lr|learning_rate|acc|accuracy|ppl|grad_norm)\b)"
      R"(['"]?\s*[:=]?\s*['"]?([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?))");
  size_t found = 0;
  for (auto _ : state) {
    for (std::string_view line : log.lines) {
      for (std::cregex_iterator it(line.data(), line.data() + line.size(), pair), end; it != end;
           ++it) {
        ++found;
      }
    }
    benchmark::DoNotOptimize(found);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(log.lines.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(log.text.size()));
}
BENCHMARK(BM_RegexExtract)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_RegexRedact(benchmark::State& state) {
  const Log& log = GetLog();
  const std::regex secrets(
      R"((gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|\b(AKIA|ASIA)[A-Z0-9]{16}\b|)"
      R"(xox[abprs]-[A-Za-z0-9-]{10,}|hunter2-db-password|s3cr3t-webhook-value|AbCdEfGh1234))");
  std::string out;
  for (auto _ : state) {
    out.clear();
    for (std::string_view line : log.lines) {
      out += std::regex_replace(std::string(line), secrets, "***");
      out += '\n';
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(log.lines.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(log.text.size()));
}
BENCHMARK(BM_RegexRedact)->Unit(benchmark::kMillisecond)->Iterations(3);

// Remembers each benchmark's time per iteration so that main can print the ratios.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.run_type == Run::RT_Iteration)
        times_[run.benchmark_name()] = run.GetAdjustedCPUTime();
    }
    ConsoleReporter::ReportRuns(runs);
  }
  double Time(const std::string& name) const {
    auto it = times_.find(name);
    return it == times_.end() ? 0 : it->second;
  }

 private:
  std::map<std::string, double> times_;
};

}  // namespace
}  // namespace labelrun::report

int main(int argc, char** argv) {
  using labelrun::report::GetLog;
  benchmark::Initialize(&argc, argv);
  labelrun::report::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  const double extract = reporter.Time("BM_Extract"), redact = reporter.Time("BM_Redact");
  const double memchr = reporter.Time("BM_MemchrBaseline");
  const double regex_extract = reporter.Time("BM_RegexExtract/iterations:3");
  const double regex_redact = reporter.Time("BM_RegexRedact/iterations:3");
  const double mb = static_cast<double>(GetLog().text.size()) / 1e6;
  const double lines = static_cast<double>(GetLog().lines.size());
  // CPU times, in the benchmarks' unit (milliseconds): steadier than wall time on a busy host.
  if (extract > 0) {
    std::printf("\nextractor: %.2f M lines/s, %.0f MB/s\n", lines / extract / 1e3,
                mb / extract * 1e3);
  }
  if (redact > 0) std::printf("redactor:  %.0f MB/s\n", mb / redact * 1e3);
  if (memchr > 0 && extract > 0 && redact > 0) {
    std::printf("memchr baseline: %.0f MB/s; extractor at 1/%.1f, redactor at 1/%.1f of it\n",
                mb / memchr * 1e3, extract / memchr, redact / memchr);
  }
  if (regex_extract > 0 && extract > 0) {
    std::printf("std::regex extraction takes %.1fx the extractor's time\n",
                regex_extract / extract);
  }
  if (regex_redact > 0 && redact > 0) {
    std::printf("std::regex redaction takes %.1fx the redactor's time\n", regex_redact / redact);
  }
  benchmark::Shutdown();
  return 0;
}
