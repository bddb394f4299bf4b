#include "labelrun/report/series.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "text.hpp"

namespace labelrun::report {
namespace {

constexpr std::array<std::string_view, 13> kMinimize = {
    "loss", "error", "err", "mse", "mae", "rmse", "perplexity",
    "ppl",  "wer",   "cer", "nll", "bpb", "bpc",
};

constexpr std::array<std::string_view, 18> kMaximize = {
    "acc",   "accuracy", "f1",   "bleu", "auc",  "auroc", "map",    "precision", "recall",
    "score", "iou",      "miou", "dice", "top1", "top5",  "reward", "return",    "rouge",
};

// The part, or the part without its trailing digits, is a word of `words`; "rouge" also
// matches rougeL, rougeLsum and the like.
template <size_t N>
bool PartIn(std::string_view part, const std::array<std::string_view, N>& words) {
  for (int pass = 0; pass < 2; ++pass) {
    for (std::string_view w : words) {
      if (text::IEqualsAscii(part, w)) return true;
      if (w == "rouge" && part.size() >= 5 && text::IEqualsAscii(part.substr(0, 5), w)) {
        return true;
      }
    }
    while (!part.empty() && text::IsDigit(part.back())) part.remove_suffix(1);
  }
  return false;
}

// The parts of a key split on anything but letters and digits.
std::vector<std::string_view> Parts(std::string_view key) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = start;
    while (end < key.size() && text::IsAlnum(key[end])) ++end;
    if (end > start) out.push_back(key.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

Goal GoalFor(std::string_view key) {
  const std::vector<std::string_view> parts = Parts(key);
  // A loss-like word wins: top1_err and f1_loss are to be minimised.
  for (std::string_view part : parts) {
    if (PartIn(part, kMinimize)) return Goal::kMinimize;
  }
  for (std::string_view part : parts) {
    if (PartIn(part, kMaximize)) return Goal::kMaximize;
  }
  return Goal::kNone;
}

void Series::Bucket::Merge(const Bucket& other) {
  if (other.min.value < min.value) min = other.min;
  if (other.max.value > max.value) max = other.max;
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
  if (!first_finite_) first_finite_ = sample;
  last_finite_ = sample;
  if (!min_ || value < min_->value) min_ = sample;
  if (!max_ || value > max_->value) max_ = sample;
  if (buckets_.empty() || buckets_.back().n >= span_) {
    if (buckets_.size() == max_buckets_) Compact();
  }
  if (buckets_.empty() || buckets_.back().n >= span_) {
    buckets_.push_back(Bucket{sample, sample, 0});
  }
  Bucket& b = buckets_.back();
  if (value < b.min.value) b.min = sample;
  if (value > b.max.value) b.max = sample;
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

std::vector<Sample> Series::Points(size_t max_points) const {
  max_points = std::max<size_t>(2, max_points);
  if (!first_finite_) return {};
  auto same = [](const Sample& a, const Sample& b) {
    return a.step == b.step && a.value == b.value;
  };
  std::vector<Sample> all = Envelope();
  // With at most two points per bucket the envelope holds every point.
  if (span_ <= 2 && all.size() <= max_points) return all;
  if (all.size() + 2 <= max_points) {
    if (!same(all.front(), *first_finite_)) all.insert(all.begin(), *first_finite_);
    if (!same(all.back(), *last_finite_)) all.push_back(*last_finite_);
    return all;
  }
  if (max_points < 4) {
    std::vector<Sample> ends = {*first_finite_};
    if (!same(*last_finite_, ends.back())) ends.push_back(*last_finite_);
    return ends;
  }
  // Buckets in `groups` runs of neighbours (sizes differ by at most one), the minimum and
  // maximum of each, with the first and last points added.
  const size_t groups = std::max<size_t>(1, std::min(buckets_.size(), max_points / 2 - 1));
  std::vector<Sample> out;
  out.reserve(max_points);
  out.push_back(*first_finite_);
  for (size_t g = 0; g < groups; ++g) {
    const size_t begin = g * buckets_.size() / groups;
    const size_t end = (g + 1) * buckets_.size() / groups;
    Bucket merged = buckets_[begin];
    for (size_t j = begin + 1; j < end; ++j) merged.Merge(buckets_[j]);
    std::vector<Sample> pair;
    EmitMinMax(merged.min, merged.max, pair);
    for (const Sample& s : pair) {
      if (!same(s, out.back())) out.push_back(s);
    }
  }
  if (!same(*last_finite_, out.back())) out.push_back(*last_finite_);
  return out;
}

}  // namespace labelrun::report
