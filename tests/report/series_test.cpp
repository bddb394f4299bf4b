#include "labelrun/report/series.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "labelrun/report/job_metrics.hpp"

namespace labelrun::report {
namespace {

TEST(SeriesTest, MillionPointsStayBoundedAndKeepTheExtremes) {
  Series series(Goal::kMinimize, 128);
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0.0, 0.01);
  double true_min = 1e9, true_max = -1e9;
  double min_step = 0, max_step = 0;
  constexpr int kPoints = 1'000'000;
  for (int i = 0; i < kPoints; ++i) {
    double v = 3.0 * std::exp(-i / 200'000.0) + noise(rng);
    if (i == 123'457) v = 9.5;    // one spike
    if (i == 876'543) v = -0.25;  // one dip
    if (v < true_min) true_min = v, min_step = i;
    if (v > true_max) true_max = v, max_step = i;
    series.Add(i, v);
  }
  EXPECT_EQ(series.count(), static_cast<uint64_t>(kPoints));
  EXPECT_LE(series.bucket_count(), 128u);
  const std::vector<Sample> envelope = series.Envelope();
  EXPECT_LE(envelope.size(), 256u);
  EXPECT_GT(envelope.size(), 100u);
  // The spike and the dip survive downsampling exactly, with their steps.
  bool spike = false, dip = false;
  for (const Sample& s : envelope) {
    spike |= s.value == 9.5 && s.step == 123'457;
    dip |= s.value == -0.25 && s.step == 876'543;
  }
  EXPECT_TRUE(spike);
  EXPECT_TRUE(dip);
  EXPECT_EQ(series.min()->value, true_min);
  EXPECT_EQ(series.min()->step, min_step);
  EXPECT_EQ(series.max()->value, true_max);
  EXPECT_EQ(series.max()->step, max_step);
  EXPECT_EQ(series.best()->value, -0.25);
  EXPECT_EQ(series.first()->step, 0);
  EXPECT_EQ(series.last()->step, kPoints - 1);
  // The envelope follows the curve: steps in order, values near the decay.
  for (size_t i = 1; i < envelope.size(); ++i) EXPECT_LE(envelope[i - 1].step, envelope[i].step);
  // A hundred printed points: first, last, spike and dip among them, the rest near the decay.
  const std::vector<Sample> points = series.Points(100);
  ASSERT_LE(points.size(), 100u);
  ASSERT_GE(points.size(), 96u);
  EXPECT_EQ(points.front().step, 0);
  EXPECT_EQ(points.back().step, kPoints - 1);
  spike = dip = false;
  for (const Sample& s : points) {
    spike |= s.value == 9.5 && s.step == 123'457;
    dip |= s.value == -0.25 && s.step == 876'543;
    EXPECT_EQ(s.step, std::floor(s.step));
    if (s.step != 123'457 && s.step != 876'543) {
      EXPECT_NEAR(s.value, 3.0 * std::exp(-s.step / 200'000.0), 0.1) << "step " << s.step;
    }
  }
  EXPECT_TRUE(spike);
  EXPECT_TRUE(dip);
  for (size_t i = 1; i < points.size(); ++i) EXPECT_LT(points[i - 1].step, points[i].step);
}

TEST(SeriesTest, EnvelopeWithFewerPointsKeepsGroupExtremes) {
  Series series(Goal::kMinimize, 64);
  for (int i = 0; i < 1000; ++i) series.Add(i, i == 500 ? 100.0 : 1.0);
  for (size_t max_points : {2u, 10u, 33u, 100u}) {
    auto points = series.Envelope(max_points);
    EXPECT_LE(points.size(), max_points);
    bool peak = false;
    for (const Sample& s : points) peak |= s.value == 100.0 && s.step == 500;
    EXPECT_TRUE(peak) << max_points;
  }
}

TEST(SeriesTest, NonFiniteValuesAreCountedNotPlotted) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  Series series;
  series.Add(0, nan);
  series.Add(1, 2.0);
  series.Add(2, inf);
  series.Add(3, 1.0);
  series.Add(4, -inf);
  series.Add(5, nan);
  EXPECT_EQ(series.count(), 6u);
  EXPECT_EQ(series.non_finite_count(), 4u);
  EXPECT_TRUE(std::isnan(series.first()->value));
  EXPECT_TRUE(std::isnan(series.last()->value));
  EXPECT_EQ(series.best()->value, 1.0);
  EXPECT_EQ(series.best()->step, 3);
  for (const Sample& s : series.Envelope()) EXPECT_TRUE(std::isfinite(s.value));
  for (const Sample& s : series.Points(10)) EXPECT_TRUE(std::isfinite(s.value));
  EXPECT_EQ(series.Points(10).size(), 2u);
  EXPECT_EQ(series.Envelope().size(), 2u);
}

TEST(SeriesTest, HugeValuesArePlottedAsPrinted) {
  Series series(Goal::kMinimize, 4);
  for (int i = 0; i < 100; ++i) series.Add(i, i % 2 ? 1.7e308 : -1.7e308);
  const std::vector<Sample> points = series.Points(100);
  EXPECT_GE(points.size(), 2u);
  for (const Sample& s : points) EXPECT_EQ(std::fabs(s.value), 1.7e308);
}

TEST(SeriesTest, PointsOfFewPointsAndOneStep) {
  Series series;
  EXPECT_TRUE(series.Points(10).empty());
  series.Add(5, 1.0);
  series.Add(5, 3.0);
  auto both = series.Points(10);
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0].value, 1.0);
  EXPECT_EQ(both[1].value, 3.0);
  Series three;
  three.Add(0, 3);
  three.Add(10, 2);
  three.Add(20, 1);
  auto points = three.Points(100);
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points[0].value, 3);
  EXPECT_EQ(points[1].value, 2);
  EXPECT_EQ(points[2].value, 1);
}

TEST(SeriesTest, PointsNeverInventValues) {
  // Steps bunched at both ends: nothing may be drawn in the gap between them.
  for (size_t buckets : {4u, 8u, 128u}) {
    Series series(Goal::kMinimize, buckets);
    for (int i = 0; i < 40; ++i) series.Add(i, 10 + i % 3);
    for (int i = 0; i < 40; ++i) series.Add(1000 + i, i % 5);
    for (size_t max_points : {2u, 5u, 8u, 100u}) {
      const std::vector<Sample> points = series.Points(max_points);
      EXPECT_LE(points.size(), std::max<size_t>(2, max_points));
      EXPECT_EQ(points.front().step, 0);
      EXPECT_EQ(points.back().step, 1039);
      for (const Sample& s : points) {
        const bool early = s.step < 40 && s.value == 10 + static_cast<int>(s.step) % 3;
        const bool late = s.step >= 1000 && s.value == static_cast<int>(s.step - 1000) % 5;
        EXPECT_TRUE(early || late) << s.step << " " << s.value;
      }
    }
  }
}

TEST(SeriesTest, GoalRule) {
  EXPECT_EQ(GoalFor("loss"), Goal::kMinimize);
  EXPECT_EQ(GoalFor("eval_loss"), Goal::kMinimize);
  EXPECT_EQ(GoalFor("ppl"), Goal::kMinimize);
  EXPECT_EQ(GoalFor("val_loss"), Goal::kMinimize);
  EXPECT_EQ(GoalFor("top1_err"), Goal::kMinimize);
  EXPECT_EQ(GoalFor("eval/wer"), Goal::kMinimize);
  EXPECT_EQ(GoalFor("RMSE"), Goal::kMinimize);
  EXPECT_EQ(GoalFor("f1_loss"), Goal::kMinimize) << "a loss-like word wins";
  EXPECT_EQ(GoalFor("val_dice"), Goal::kMaximize);
  EXPECT_EQ(GoalFor("mAP50"), Goal::kMaximize);
  EXPECT_EQ(GoalFor("rougeLsum"), Goal::kMaximize);
  EXPECT_EQ(GoalFor("bleu_score"), Goal::kMaximize);
  for (const char* none : {"lr", "learning_rate", "grad_norm", "epoch", "temperature", "kl",
                           "entropy", "throughput", "lossy_ratio", "terror"}) {
    EXPECT_EQ(GoalFor(none), Goal::kNone) << none;
  }
  Series lr(Goal::kNone);
  lr.Add(1, 0.1);
  lr.Add(2, 0.3);
  EXPECT_FALSE(lr.best().has_value());
  EXPECT_EQ(lr.min()->value, 0.1);
  EXPECT_EQ(lr.max()->value, 0.3);
  EXPECT_EQ(GoalFor("accuracy"), Goal::kMaximize);
  EXPECT_EQ(GoalFor("val_acc"), Goal::kMaximize);
  EXPECT_EQ(GoalFor("eval/f1"), Goal::kMaximize);
  EXPECT_EQ(GoalFor("rougeL"), Goal::kMaximize);
  EXPECT_EQ(GoalFor("top1"), Goal::kMaximize);
  EXPECT_EQ(GoalFor("mean_reward"), Goal::kMaximize);
  Series acc(Goal::kMaximize);
  acc.Add(1, 0.5);
  acc.Add(2, 0.9);
  acc.Add(3, 0.8);
  EXPECT_EQ(acc.best()->value, 0.9);
  EXPECT_EQ(acc.best()->step, 2);
}

TEST(JobMetricsTest, FeedsSeriesPerKeyInFirstSeenOrder) {
  JobMetrics metrics;
  metrics.OnLine("{'loss': 2.0, 'learning_rate': 5e-05, 'epoch': 0.5}");
  metrics.OnLine("some text");
  metrics.OnLine("{'loss': 1.0, 'learning_rate': 4e-05, 'epoch': 1.0}");
  metrics.OnLine("{'eval_loss': 1.2, 'eval_accuracy': 0.7, 'epoch': 1.0}");
  ASSERT_EQ(metrics.entries().size(), 4u);
  EXPECT_EQ(metrics.entries()[0].key, "loss");
  EXPECT_EQ(metrics.entries()[3].key, "eval_accuracy");
  EXPECT_EQ(metrics.entries()[3].series.goal(), Goal::kMaximize);
  EXPECT_EQ(metrics.Find("loss")->count(), 2u);
  EXPECT_EQ(metrics.Find("loss")->best()->step, 1.0);
  EXPECT_EQ(metrics.lines(), 4u);
  EXPECT_EQ(metrics.Find("nope"), nullptr);
}

TEST(JobMetricsTest, RedrawnPointsAreNotCountedTwice) {
  JobMetrics metrics;
  for (int i = 0; i < 5; ++i) metrics.OnLine(" 50%|█  | 5/10 [00:01<00:01, 5it/s, loss=0.5]");
  metrics.OnLine(" 60%|█  | 6/10 [00:01<00:01, 5it/s, loss=0.4]");
  EXPECT_EQ(metrics.Find("loss")->count(), 2u);
}

TEST(JobMetricsTest, KeysAreCapped) {
  JobMetrics metrics(JobMetrics::Options{.max_keys = 3, .buckets = 16, .extra_keys = {}});
  for (int i = 0; i < 10; ++i) metrics.OnLine("{\"m" + std::to_string(i) + "\": 1}");
  EXPECT_EQ(metrics.entries().size(), 3u);
  EXPECT_EQ(metrics.dropped_points(), 7u);
}

TEST(JobMetricsTest, CurveChoice) {
  JobMetrics metrics;
  metrics.OnLine("{\"train_loss\": 1, \"acc\": 0.5, \"Val_BPB\": 2}");
  EXPECT_EQ(metrics.CurveFor("loss")->key, "train_loss");
  EXPECT_EQ(metrics.CurveFor("acc")->key, "acc");
  EXPECT_EQ(metrics.CurveFor("val_bpb")->key, "Val_BPB");
  EXPECT_EQ(metrics.CurveFor("f1"), nullptr);
  metrics.OnLine("{\"loss\": 1}");
  EXPECT_EQ(metrics.CurveFor("loss")->key, "loss");
}

TEST(JobMetricsTest, StepLabelIsWhatTheLogCounts) {
  JobMetrics metrics;
  metrics.OnLine("{'loss': 2.0, 'learning_rate': 5e-05, 'epoch': 0.5}");
  metrics.OnLine("{\"global_step\": 10, \"step\": 3, \"val_loss\": 1.5}");
  metrics.OnLine("Iter 40 | acc 0.5");
  metrics.OnLine("Epoch 2:  50%|###  | 5/10 [00:01<00:01, 5it/s, train_loss=0.4]");
  metrics.OnLine("ppl=12.5");
  EXPECT_EQ(metrics.Find("loss")->step_label(), "epoch");
  EXPECT_EQ(metrics.Find("val_loss")->step_label(), "global_step");
  EXPECT_EQ(metrics.Find("acc")->step_label(), "Iter");
  EXPECT_EQ(metrics.Find("train_loss")->step_label(), "step");
  EXPECT_EQ(metrics.Find("train_loss")->first()->step, 25);
  EXPECT_EQ(metrics.Find("ppl")->step_label(), "line");
  EXPECT_EQ(Series().step_label(), "step");
}

TEST(JobMetricsTest, CurvesForEachWantedMetricOnce) {
  JobMetrics metrics;
  metrics.OnLine("{\"train_loss\": 1, \"val_loss\": 2, \"acc\": 0.5}");
  auto curves = metrics.CurvesFor({"val_loss", "loss", "train_loss", "acc", "f1"});
  ASSERT_EQ(curves.size(), 3u);
  EXPECT_EQ(curves[0]->key, "val_loss");
  EXPECT_EQ(curves[1]->key, "train_loss");
  EXPECT_EQ(curves[2]->key, "acc");
  EXPECT_TRUE(metrics.CurvesFor({}).empty());
}

TEST(JobMetricsTest, ArrivalOrderIsTheStepWhenTheLineHasNone) {
  JobMetrics metrics;
  metrics.OnLine("loss=3");
  metrics.OnLine("noise");
  metrics.OnLine("loss=2");
  const Series* loss = metrics.Find("loss");
  ASSERT_NE(loss, nullptr);
  EXPECT_EQ(loss->first()->step, 0);
  EXPECT_EQ(loss->last()->step, 2);
}

}  // namespace
}  // namespace labelrun::report
