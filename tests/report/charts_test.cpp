#include "labelrun/report/charts.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <sstream>
#include <string>

#include "report/chart_checks.hpp"

namespace labelrun::report {
namespace {

TEST(MermaidChartTest, LossCurve) {
  Series loss;
  for (int step = 0; step <= 5000; step += 50) loss.Add(step, 2.5 * std::exp(-step / 1500.0) + 0.3);
  const std::string chart = MermaidChart(loss, "loss");
  SCOPED_TRACE(chart);
  EXPECT_EQ(chart.rfind("```mermaid\n%%{init: ", 0), 0u);
  EXPECT_NE(chart.find("}%%\nxychart-beta\n"), std::string::npos);
  EXPECT_NE(chart.find("    title \"loss\"\n"), std::string::npos);
  EXPECT_NE(chart.find("    x-axis \"step\" "), std::string::npos);
  EXPECT_NE(chart.find("    y-axis \"loss\" "), std::string::npos);
  const test::MermaidFacts facts = test::ParseMermaid(chart);
  ASSERT_TRUE(facts.ok) << facts.problem;
  // 101 points, one too many: the printed points picked by min/max keep first and last.
  EXPECT_LE(facts.values.size(), 100u);
  EXPECT_GE(facts.values.size(), 96u);
  EXPECT_LE(facts.y_lo, 0.3);
  EXPECT_GE(facts.y_hi, 2.8);
  ASSERT_EQ(facts.x_categories.size(), facts.values.size());
  EXPECT_EQ(facts.x_categories.front(), "0");
  EXPECT_EQ(facts.x_categories.back(), "5000");
  for (double v : facts.values) {
    EXPECT_GE(v, facts.y_lo);
    EXPECT_LE(v, facts.y_hi);
  }
  EXPECT_GT(facts.values.front(), facts.values.back());
}

TEST(MermaidChartTest, OnlyFiniteFixedPointNumbers) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  Series lr;
  for (int i = 0; i < 1000; ++i) {
    lr.Add(i, i % 7 == 0 ? nan : (i % 11 == 0 ? inf : 5e-05 * (1.0 - i / 1000.0) + 1e-7));
  }
  const std::string chart = MermaidChart(lr, "learning_rate");
  const test::MermaidFacts facts = test::ParseMermaid(chart);
  ASSERT_TRUE(facts.ok) << facts.problem << "\n" << chart;
  EXPECT_LE(facts.values.size(), kMaxMermaidPoints);
  EXPECT_EQ(chart.find('e', chart.find("line [") + 6), std::string::npos) << "no exponents";
  EXPECT_EQ(chart.find("nan"), std::string::npos);
  EXPECT_EQ(chart.find("inf"), std::string::npos);
  // Small values keep their variation.
  EXPECT_GT(facts.values.front(), facts.values.back());
}

TEST(MermaidChartTest, NotEnoughPointsAndHostileNames) {
  Series empty;
  EXPECT_EQ(MermaidChart(empty, "loss"), "");
  Series one;
  one.Add(1, 1);
  EXPECT_EQ(MermaidChart(one, "loss"), "");
  Series only_nan;
  only_nan.Add(1, std::numeric_limits<double>::quiet_NaN());
  only_nan.Add(2, std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(MermaidChart(only_nan, "loss"), "");
  Series flat;
  flat.Add(1, 3);
  flat.Add(2, 3);
  const std::string chart = MermaidChart(flat, "a\"b%%c\n```d");
  const test::MermaidFacts facts = test::ParseMermaid(chart);
  ASSERT_TRUE(facts.ok) << facts.problem << "\n" << chart;
  EXPECT_LT(facts.y_lo, 3);
  EXPECT_GT(facts.y_hi, 3);
  EXPECT_NE(chart.find("title \"a_b__c____d\""), std::string::npos) << chart;
}

TEST(MermaidChartTest, RandomSeriesAlwaysParse) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> exponent(-300, 300);
  for (int round = 0; round < 200; ++round) {
    Series s(Goal::kMinimize, 4 + rng() % 100);
    const int n = static_cast<int>(rng() % 500);
    for (int i = 0; i < n; ++i) {
      double v = (rng() % 2 ? 1 : -1) * std::pow(10.0, exponent(rng) * (round % 3 == 0));
      if (rng() % 13 == 0) v = std::numeric_limits<double>::quiet_NaN();
      s.Add(rng() % 3 == 0 ? i : static_cast<double>(rng() % 1000) / 7.0, v);
    }
    const std::string chart = MermaidChart(s, "m");
    if (chart.empty()) continue;
    const test::MermaidFacts facts = test::ParseMermaid(chart);
    ASSERT_TRUE(facts.ok) << facts.problem << "\n" << chart;
    EXPECT_LE(facts.values.size(), kMaxMermaidPoints);
  }
}

TEST(SparklineTest, Levels) {
  EXPECT_EQ(Sparkline(std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8}), "▁▂▃▄▅▆▇█");
  EXPECT_EQ(Sparkline(std::vector<double>{5, 5, 5}), "▄▄▄");
  EXPECT_EQ(Sparkline(std::vector<double>{0, std::numeric_limits<double>::quiet_NaN(), 1}), "▁█");
  EXPECT_EQ(Sparkline(std::vector<double>{}), "");
}

TEST(SparklineTest, LineWithFirstLastAndBest) {
  Series loss;
  for (int i = 0; i <= 10; ++i) loss.Add(i * 100, 3.0 - 0.25 * i + (i == 8 ? -0.5 : 0));
  EXPECT_EQ(SparklineLine("loss", loss, 11), "`loss` `█▇▇▆▅▅▄▃▁▂▁` 3 → 0.5 (min 0.5 @ step 800)");
  Series acc(Goal::kMaximize);
  acc.Add(1, 0.5);
  acc.Add(2, 0.9);
  acc.Add(3, std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(SparklineLine("acc", acc, 10), "`acc` `▁█` 0.5 → nan (max 0.9 @ step 2)");
}

TEST(LossSvgTest, OneCirclePerPlottedPoint) {
  Series loss;
  for (int i = 0; i < 50; ++i) loss.Add(i, 1.0 / (i + 1));
  const std::string svg = RenderLossSvg(loss, "loss");
  EXPECT_EQ(test::Count(svg, "<circle class=\"pt\""), 50u);
  EXPECT_NE(svg.find("data-points=\"50\""), std::string::npos);
  EXPECT_NE(svg.find("<polyline class=\"curve\""), std::string::npos);
  EXPECT_NE(svg.find(">step</text>"), std::string::npos);
  EXPECT_NE(svg.find(">loss</text>"), std::string::npos);
  EXPECT_GE(test::Count(svg, "text-anchor=\"end\">"), 3u) << "y tick labels";
  EXPECT_TRUE(test::TagsBalanced(svg)) << svg;
  EXPECT_EQ(svg.find("nan"), std::string::npos);
}

TEST(LossSvgTest, LongSeriesAreCappedAndKeepExtremes) {
  Series loss(Goal::kMinimize, 128);
  for (int i = 0; i < 100'000; ++i) loss.Add(i, i == 4242 ? 50.0 : 1.0);
  SvgOptions options;
  options.max_points = 120;
  const std::string svg = RenderLossSvg(loss, "loss", options);
  const size_t circles = test::Count(svg, "<circle class=\"pt\"");
  EXPECT_LE(circles, 120u);
  EXPECT_GT(circles, 10u);
  EXPECT_NE(svg.find("data-points=\"" + std::to_string(circles) + "\""), std::string::npos);
  // The spike survives as the one point near the top; every other point lies at the bottom.
  size_t high = 0, low = 0;
  for (size_t at = svg.find(" cy=\""); at != std::string::npos; at = svg.find(" cy=\"", at + 1)) {
    const double cy = std::strtod(svg.c_str() + at + 5, nullptr);
    (cy < 60 ? high : low) += 1;
    if (cy >= 60) {
      EXPECT_GT(cy, 300);
    }
  }
  EXPECT_EQ(high, 1u);
  EXPECT_EQ(low, circles - 1);
}

TEST(LossSvgTest, EscapesTextAndHandlesEmptySeries) {
  Series empty;
  const std::string svg = RenderLossSvg(empty, "<script>&\"");
  EXPECT_EQ(svg.find("<script>"), std::string::npos);
  EXPECT_NE(svg.find("&lt;script&gt;&amp;&quot;"), std::string::npos);
  EXPECT_EQ(test::Count(svg, "<circle"), 0u);
  EXPECT_NE(svg.find("data-points=\"0\""), std::string::npos);
  EXPECT_TRUE(test::TagsBalanced(svg)) << svg;
}

}  // namespace
}  // namespace labelrun::report
