#pragma once
// One metric's points in bounded space: a faithful curve for a million-step run.
//
// Finite points go into at most `max_buckets` buckets of consecutive points (in arrival
// order). Each bucket keeps its minimum and maximum with their steps and its count.
// When every bucket is full, neighbouring buckets merge in pairs and each
// bucket then holds twice as many points, so memory stays fixed however long the run and
// no extreme is ever averaged away. Nothing is averaged at all: every point the series
// gives back is one that was added. First, last, best, minimum, maximum and counts are
// exact. NaN and ±inf are counted and may be the first or last value, but are never put
// into a bucket, so they are never plotted.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace labelrun::report {

struct Sample {
  double step = 0;
  double value = 0;
};

// Which way is better for a metric; kNone when "best" means nothing (lr, grad_norm, ...).
enum class Goal { kMinimize, kMaximize, kNone };

// By name: the key, or one of its parts split on `_ . / -` (with or without its trailing
// digits, any case). kMinimize when a part is loss, error, err, mse, mae, rmse, perplexity,
// ppl, wer, cer, nll, bpb or bpc (so val_loss, eval_loss, top1_err); else kMaximize when a
// part is acc, accuracy, f1, bleu, rouge*, auc, auroc, map, precision, recall, score, iou,
// miou, dice, top1, top5, reward or return; else kNone.
Goal GoalFor(std::string_view key);

// Not thread-safe: one writer, readers synchronised by the owner.
class Series {
 public:
  static constexpr size_t kDefaultBuckets = 128;

  // max_buckets is rounded up to an even number of at least 4.
  explicit Series(Goal goal = Goal::kMinimize, size_t max_buckets = kDefaultBuckets);

  void Add(double step, double value);

  Goal goal() const { return goal_; }
  uint64_t count() const { return count_; }  // every point, finite or not
  uint64_t non_finite_count() const { return non_finite_; }
  size_t bucket_count() const { return buckets_.size(); }
  size_t max_buckets() const { return max_buckets_; }

  std::optional<Sample> first() const { return first_; }  // may be NaN or ±inf
  std::optional<Sample> last() const { return last_; }    // may be NaN or ±inf
  // The lowest (kMinimize) or highest (kMaximize) finite value; for ties the earliest point
  // wins. None for kNone: such a metric has a minimum and a maximum but no best.
  std::optional<Sample> best() const {
    if (goal_ == Goal::kNone) return std::nullopt;
    return goal_ == Goal::kMinimize ? min_ : max_;
  }
  std::optional<Sample> min() const { return min_; }
  std::optional<Sample> max() const { return max_; }

  // What the steps count, as the log named it ("step", "epoch", "global_step", "iter",
  // "line" for the log line index); "step" unless set.
  const std::string& step_label() const { return step_label_; }
  void set_step_label(std::string label) { step_label_ = std::move(label); }

  // The kept curve: for each bucket its minimum and maximum in step order (one point when
  // they are the same point). At most 2 * max_buckets points, all finite.
  std::vector<Sample> Envelope() const;
  // The same with at most max_points (at least 2): neighbouring buckets are grouped so that
  // each group's minimum and maximum survive.
  std::vector<Sample> Envelope(size_t max_points) const;
  // Points the training printed, in arrival order: every finite point while there are at
  // most max_points (at least 2) of them in the kept curve; else the first and last finite
  // points and, between them, the minimum and maximum of each of max_points / 2 - 1 groups
  // of neighbouring buckets (none below 4). Never a mean, never an interpolation.
  std::vector<Sample> Points(size_t max_points) const;

 private:
  struct Bucket {
    Sample min;
    Sample max;
    uint64_t n = 0;
    void Merge(const Bucket& other);
  };

  void Compact();

  Goal goal_;
  size_t max_buckets_;
  uint64_t span_ = 1;  // points per full bucket
  std::vector<Bucket> buckets_;
  uint64_t count_ = 0;
  uint64_t non_finite_ = 0;
  std::optional<Sample> first_;
  std::optional<Sample> last_;
  std::optional<Sample> first_finite_;
  std::optional<Sample> last_finite_;
  std::optional<Sample> min_;
  std::optional<Sample> max_;
  std::string step_label_ = "step";
};

}  // namespace labelrun::report
