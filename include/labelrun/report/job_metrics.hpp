#pragma once
// A job's metrics: the series of every metric its log names, fed line by line.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "labelrun/report/metrics.hpp"
#include "labelrun/report/redact.hpp"
#include "labelrun/report/series.hpp"

namespace labelrun::report {

// Not thread-safe: the owner feeds it from one thread and synchronises readers. Memory
// is bounded: at most max_keys series of at most `buckets` buckets each.
class JobMetrics {
 public:
  struct Options {
    size_t max_keys = 32;
    size_t buckets = Series::kDefaultBuckets;
    // Keys that generic `key=value` pairs may use besides the metric vocabulary,
    // e.g. the job's configured metric.
    std::vector<std::string> extra_keys;
  };

  struct Entry {
    std::string key;
    Series series;
  };

  JobMetrics() : JobMetrics(Options{}) {}
  explicit JobMetrics(Options options);

  // One log line (`\r` redraws inside are read segment by segment). Lines count as the
  // arrival order for points whose line names no step.
  void OnLine(std::string_view line);
  // One point, e.g. from a structured source. A point equal to its series' last point
  // (a redrawn progress bar) is not added again. Points of new keys past max_keys are
  // dropped and counted. A new series takes its step label from its first point.
  void Add(const MetricPoint& point);

  // Series in the order their keys first appeared.
  const std::vector<Entry>& entries() const { return entries_; }
  const Series* Find(std::string_view key) const;
  // The series to draw for the wanted metric (one of JobView::metrics): that key, else the same
  // key in another case, else, when the wanted key contains "loss", the first key that
  // contains "loss" (train_loss for loss). nullptr when none.
  const Entry* CurveFor(std::string_view wanted) const;
  // CurveFor of each wanted metric, in the order given, each entry once.
  std::vector<const Entry*> CurvesFor(const std::vector<std::string>& wanted) const;

  // The last finite value of each metric, in first-appearance order, named as every view
  // shows it: redacted (a key that is a secret shows as "***"). When redaction makes two
  // names equal, the first one's value is kept.
  std::vector<std::pair<std::string, double>> LatestValues(const Redactor& redactor) const;

  uint64_t lines() const { return lines_; }
  uint64_t dropped_points() const { return dropped_points_; }

 private:
  Options options_;
  MetricExtractor extractor_;
  std::vector<Entry> entries_;
  std::vector<MetricPoint> scratch_;
  uint64_t lines_ = 0;
  uint64_t dropped_points_ = 0;
};

}  // namespace labelrun::report
