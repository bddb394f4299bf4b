#include "labelrun/report/series.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "text.hpp"

namespace labelrun::report {
namespace {

constexpr std::array<std::string_view, 17> kMaximize = {
    "acc",  "accuracy", "f1",  "bleu", "auc",  "auroc",  "precision", "recall", "iou",
    "miou", "map",      "top", "top1", "top5", "reward", "return",    "score",
};

bool MaximizeWord(std::string_view part) {
  for (std::string_view w : kMaximize) {
    if (text::IEqualsAscii(part, w)) return true;
  }
  while (!part.empty() && text::IsDigit(part.back())) part.remove_suffix(1);
  if (part.size() >= 5 && text::IEqualsAscii(part.substr(0, 5), "rouge")) return true;
  for (std::string_view w : kMaximize) {
    if (text::IEqualsAscii(part, w)) return true;
  }
  return false;
}

}  // namespace

Goal GoalFor(std::string_view key) {
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = start;
    while (end < key.size() && text::IsAlnum(key[end])) ++end;
    if (end > start && MaximizeWord(key.substr(start, end - start))) return Goal::kMaximize;
    start = end + 1;
  }
  return Goal::kMinimize;
}

void Series::Bucket::Merge(const Bucket& other) {
  if (other.min.value < min.value) min = other.min;
  if (other.max.value > max.value) max = other.max;
  step_sum += other.step_sum;
  value_sum += other.value_sum;
  step_lo = std::min(step_lo, other.step_lo);
  step_hi = std::max(step_hi, other.step_hi);
  n += other.n;
}

Series::Series(Goal goal, size_t max_buckets)
    : goal_(goal), max_buckets_(std::max<size_t>(4, max_buckets + (max_buckets % 2))) {
  buckets_.reserve(max_buckets_);
}

void Series::Add(double step, double value) {
  ++count_;
  const Sample sample{step, value};
  if (!first_) first_ = sample;
  last_ = sample;
  if (!std::isfinite(value) || !std::isfinite(step)) {
    ++non_finite_;
    return;
  }
  if (!min_ || value < min_->value) min_ = sample;
  if (!max_ || value > max_->value) max_ = sample;
  if (buckets_.empty() || buckets_.back().n >= span_) {
    if (buckets_.size() == max_buckets_) Compact();
  }
  if (buckets_.empty() || buckets_.back().n >= span_) {
    buckets_.push_back(Bucket{sample, sample, 0, 0, step, step, 0});
  }
  Bucket& b = buckets_.back();
  if (value < b.min.value) b.min = sample;
  if (value > b.max.value) b.max = sample;
  b.step_sum += step;
  b.value_sum += value;
  b.step_lo = std::min(b.step_lo, step);
  b.step_hi = std::max(b.step_hi, step);
  ++b.n;
}

void Series::Compact() {
  size_t out = 0;
  for (size_t i = 0; i < buckets_.size(); i += 2) {
    Bucket merged = buckets_[i];
    if (i + 1 < buckets_.size()) merged.Merge(buckets_[i + 1]);
    buckets_[out++] = merged;
  }
  buckets_.resize(out);
  span_ *= 2;
}

namespace {

void EmitMinMax(const Sample& lo, const Sample& hi, std::vector<Sample>& out) {
  if (lo.step == hi.step && lo.value == hi.value) {
    out.push_back(lo);
  } else if (lo.step <= hi.step) {
    out.push_back(lo);
    out.push_back(hi);
  } else {
    out.push_back(hi);
    out.push_back(lo);
  }
}

}  // namespace

std::vector<Sample> Series::Envelope() const {
  std::vector<Sample> out;
  out.reserve(2 * buckets_.size());
  for (const Bucket& b : buckets_) EmitMinMax(b.min, b.max, out);
  return out;
}

std::vector<Sample> Series::Envelope(size_t max_points) const {
  const size_t groups = std::max<size_t>(1, max_points / 2);
  const size_t per_group = (buckets_.size() + groups - 1) / groups;
  if (per_group <= 1) return Envelope();
  std::vector<Sample> out;
  out.reserve(2 * groups);
  for (size_t i = 0; i < buckets_.size(); i += per_group) {
    Bucket merged = buckets_[i];
    for (size_t j = i + 1; j < std::min(buckets_.size(), i + per_group); ++j) {
      merged.Merge(buckets_[j]);
    }
    EmitMinMax(merged.min, merged.max, out);
  }
  return out;
}

std::vector<Sample> Series::Resample(size_t bins) const {
  std::vector<Sample> out;
  if (buckets_.empty() || bins == 0) return out;
  double lo = buckets_.front().step_lo, hi = buckets_.front().step_hi;
  for (const Bucket& b : buckets_) {
    lo = std::min(lo, b.step_lo);
    hi = std::max(hi, b.step_hi);
  }
  const size_t n = std::min(bins, buckets_.size());
  const double width = (hi - lo) / static_cast<double>(n);
  if (!(width > 0) || !std::isfinite(width)) {
    double sum = 0;
    uint64_t count = 0;
    for (const Bucket& b : buckets_) sum += b.value_sum, count += b.n;
    const double mean = sum / static_cast<double>(count);
    if (std::isfinite(mean)) out.push_back({lo, mean});
    return out;
  }
  std::vector<double> sums(n, 0.0);
  std::vector<uint64_t> counts(n, 0);
  for (const Bucket& b : buckets_) {
    const double mean_step = b.step_sum / static_cast<double>(b.n);
    double at = std::floor((mean_step - lo) / width);
    size_t idx = at <= 0 ? 0 : std::min(n - 1, static_cast<size_t>(at));
    sums[idx] += b.value_sum;
    counts[idx] += b.n;
  }
  out.resize(n);
  for (size_t i = 0; i < n; ++i) {
    out[i].step = lo + (static_cast<double>(i) + 0.5) * width;
    if (counts[i] == 0) continue;
    out[i].value = sums[i] / static_cast<double>(counts[i]);
    // Sums of huge values can overflow; such a bin counts as empty.
    if (!std::isfinite(out[i].value)) counts[i] = 0;
  }
  // Fill empty bins from their neighbours.
  size_t prev = n;  // last filled bin
  for (size_t i = 0; i < n; ++i) {
    if (counts[i] == 0) continue;
    if (prev == n) {
      for (size_t j = 0; j < i; ++j) out[j].value = out[i].value;
    } else {
      for (size_t j = prev + 1; j < i; ++j) {
        const double t = static_cast<double>(j - prev) / static_cast<double>(i - prev);
        out[j].value = (1 - t) * out[prev].value + t * out[i].value;
      }
    }
    prev = i;
  }
  if (prev == n) return {};
  for (size_t j = prev + 1; j < n; ++j) out[j].value = out[prev].value;
  return out;
}

}  // namespace labelrun::report
