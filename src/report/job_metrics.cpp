#include "labelrun/report/job_metrics.hpp"

#include <algorithm>
#include <cmath>

#include "text.hpp"

namespace labelrun::report {
namespace {

bool SameValue(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

bool ContainsLoss(std::string_view key) {
  for (size_t i = 0; i + 4 <= key.size(); ++i) {
    if (text::IEqualsAscii(key.substr(i, 4), "loss")) return true;
  }
  return false;
}

}  // namespace

JobMetrics::JobMetrics(Options options)
    : options_(std::move(options)), extractor_(options_.extra_keys) {}

void JobMetrics::OnLine(std::string_view line) {
  scratch_.clear();
  extractor_.Extract(line, lines_++, scratch_);
  for (const MetricPoint& p : scratch_) Add(p);
}

void JobMetrics::Add(const MetricPoint& point) {
  for (Entry& e : entries_) {
    if (e.key != point.key) continue;
    auto last = e.series.last();
    if (last && last->step == point.step && SameValue(last->value, point.value)) return;
    e.series.Add(point.step, point.value);
    return;
  }
  if (entries_.size() >= options_.max_keys || point.key.empty()) {
    ++dropped_points_;
    return;
  }
  entries_.push_back(Entry{point.key, Series(GoalFor(point.key), options_.buckets)});
  entries_.back().series.set_step_label(point.step_label);
  entries_.back().series.Add(point.step, point.value);
}

const Series* JobMetrics::Find(std::string_view key) const {
  for (const Entry& e : entries_) {
    if (e.key == key) return &e.series;
  }
  return nullptr;
}

const JobMetrics::Entry* JobMetrics::CurveFor(std::string_view wanted) const {
  for (const Entry& e : entries_) {
    if (e.key == wanted) return &e;
  }
  for (const Entry& e : entries_) {
    if (text::IEqualsAscii(e.key, wanted)) return &e;
  }
  if (ContainsLoss(wanted)) {
    for (const Entry& e : entries_) {
      if (ContainsLoss(e.key)) return &e;
    }
  }
  return nullptr;
}

std::vector<const JobMetrics::Entry*> JobMetrics::CurvesFor(
    const std::vector<std::string>& wanted) const {
  std::vector<const Entry*> out;
  for (const std::string& w : wanted) {
    const Entry* e = CurveFor(w);
    if (e != nullptr && std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
  }
  return out;
}

std::vector<std::pair<std::string, double>> JobMetrics::LatestValues(
    const Redactor& redactor) const {
  std::vector<std::pair<std::string, double>> out;
  for (const Entry& e : entries_) {
    auto last = e.series.last();
    if (!last || !std::isfinite(last->value)) continue;
    std::string name = redactor.Redact(text::CleanUtf8(e.key));
    bool seen = false;
    for (const auto& [n, v] : out) seen = seen || n == name;
    if (!seen) out.emplace_back(std::move(name), last->value);
  }
  return out;
}

}  // namespace labelrun::report
