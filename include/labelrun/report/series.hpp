#pragma once
// One metric's points in bounded space: a faithful curve for a million-step run.
//
// Finite points go into at most `max_buckets` buckets of consecutive points (in arrival
// order). Each bucket keeps its minimum and maximum with their steps, and the sums needed
// for means. When every bucket is full, neighbouring buckets merge in pairs and each
// bucket then holds twice as many points, so memory stays fixed however long the run and
// no extreme is ever averaged away. First, last, best, minimum, maximum and counts are
// exact. NaN and ±inf are counted and may be the first or last value, but are never put
// into a bucket, so they are never plotted.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace labelrun::report {

struct Sample {
  double step = 0;
  double value = 0;
};

// Which way is better for a metric.
enum class Goal { kMinimize, kMaximize };

// kMaximize when the key, or one of its parts split on `_ . / -` (with or without its
// trailing digits), is acc, accuracy, f1, bleu, rouge*, auc, auroc, precision, recall, iou, miou,
// map, top1, top5, reward, return or score; kMinimize otherwise (loss, perplexity, error
// rates, and also lr, for which "best" means little).
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
  // Finite only; for ties the earliest point wins.
  std::optional<Sample> best() const { return goal_ == Goal::kMinimize ? min_ : max_; }
  std::optional<Sample> min() const { return min_; }
  std::optional<Sample> max() const { return max_; }

  // The kept curve: for each bucket its minimum and maximum in step order (one point when
  // they are the same point). At most 2 * max_buckets points, all finite.
  std::vector<Sample> Envelope() const;
  // The same with at most max_points (at least 2): neighbouring buckets are grouped so that
  // each group's minimum and maximum survive.
  std::vector<Sample> Envelope(size_t max_points) const;
  // At most `bins` points at evenly spaced steps from the lowest to the highest finite
  // step, each the mean of the points in its bin; an empty bin takes the value interpolated
  // between its neighbours. Fewer points when there are fewer buckets than bins; one point
  // when every step is the same. All finite.
  std::vector<Sample> Resample(size_t bins) const;

 private:
  struct Bucket {
    Sample min;
    Sample max;
    double step_sum = 0;
    double value_sum = 0;
    double step_lo = 0;
    double step_hi = 0;
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
  std::optional<Sample> min_;
  std::optional<Sample> max_;
};

}  // namespace labelrun::report
