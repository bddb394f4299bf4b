// The charts show only what the training printed: no averaged or interpolated values, the
// log's own step word on the x axis, whole-number ticks for whole-number steps, line colours
// that read on GitHub's light and dark themes, and "best" only for metrics with a direction.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "labelrun/report/charts.hpp"
#include "labelrun/report/comment.hpp"
#include "labelrun/report/job_page.hpp"
#include "report/chart_checks.hpp"

namespace labelrun::report {
namespace {

// Every number of every `line [...]` of a chart, one vector per line.
std::vector<std::vector<double>> LineValues(std::string_view chart) {
  std::vector<std::vector<double>> out;
  for (const std::string& line : test::Lines(chart)) {
    if (line.rfind("    line [", 0) != 0) continue;
    out.emplace_back();
    std::string_view list = std::string_view(line).substr(10, line.size() - 11);
    size_t start = 0;
    while (start < list.size()) {
      size_t comma = list.find(", ", start);
      if (comma == std::string_view::npos) comma = list.size();
      out.back().push_back(std::stod(std::string(list.substr(start, comma - start))));
      start = comma + 2;
    }
  }
  return out;
}

// The line of `text` that starts with `prefix`, or "".
std::string LineStarting(std::string_view text, std::string_view prefix) {
  for (const std::string& line : test::Lines(text)) {
    if (line.rfind(prefix, 0) == 0) return line;
  }
  return "";
}

// True when `v` is one of `printed` as the chart writes it (4 significant digits or more).
bool Printed(double v, const std::vector<double>& printed) {
  return std::any_of(printed.begin(), printed.end(), [&](double p) {
    return std::fabs(v - p) <= 1e-3 * std::max(1.0, std::fabs(p));
  });
}

TEST(ChartTruthTest, UnevenStepsPlotOnlyPrintedValues) {
  // JSON losses at steps 1-8, then one at step 100.
  JobMetrics metrics;
  std::vector<double> printed;
  for (int step = 1; step <= 8; ++step) {
    const double loss = 3.0 - 0.3 * step;
    printed.push_back(loss);
    metrics.OnLine("{\"step\": " + std::to_string(step) + ", \"loss\": " + std::to_string(loss) +
                   "}");
  }
  printed.push_back(0.2);
  metrics.OnLine("{\"step\": 100, \"loss\": 0.2}");
  const Series& loss = *metrics.Find("loss");
  const std::string chart = MermaidChart(loss, "loss");
  SCOPED_TRACE(chart);
  const auto lines = LineValues(chart);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].size(), printed.size());
  for (double v : lines[0]) EXPECT_TRUE(Printed(v, printed)) << v << " was never printed";
  // The x axis names the real steps, since Mermaid spaces values evenly.
  EXPECT_EQ(
      LineStarting(chart, "    x-axis "),
      "    x-axis \"step\" [\"1\", \"2\", \"3\", \"4\", \"5\", \"6\", \"7\", \"8\", \"100\"]");
  // The sparkline draws the same nine printed values.
  std::vector<double> values = printed;
  EXPECT_EQ(Sparkline(loss, 40), Sparkline(values));
}

TEST(ChartTruthTest, LongRunsKeepRealPointsWithFirstLastAndExtremes) {
  Series loss;
  std::vector<double> printed;
  for (int step = 0; step < 5000; ++step) {
    // Uneven steps (squares), a dip and a spike that averaging would flatten.
    double v = 2.0 + std::sin(step * 0.37);
    if (step == 1234) v = -7.5;
    if (step == 4321) v = 9.25;
    printed.push_back(v);
    loss.Add(static_cast<double>(step) * step, v);
  }
  const std::string chart = MermaidChart(loss, "loss");
  SCOPED_TRACE(chart);
  const auto lines = LineValues(chart);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_LE(lines[0].size(), kMaxMermaidPoints);
  EXPECT_GE(lines[0].size(), kMaxMermaidPoints - 4);
  for (double v : lines[0]) EXPECT_TRUE(Printed(v, printed)) << v;
  EXPECT_TRUE(Printed(lines[0].front(), {printed.front()}));
  EXPECT_TRUE(Printed(lines[0].back(), {printed.back()}));
  EXPECT_TRUE(Printed(*std::min_element(lines[0].begin(), lines[0].end()), {-7.5}));
  EXPECT_TRUE(Printed(*std::max_element(lines[0].begin(), lines[0].end()), {9.25}));
  const std::string x_axis = LineStarting(chart, "    x-axis ");
  EXPECT_EQ(x_axis.rfind("    x-axis \"step\" [\"0\", ", 0), 0u) << x_axis;
  EXPECT_NE(x_axis.find(", \"24990001\"]"), std::string::npos) << x_axis;
}

// WCAG 2 relative luminance and contrast ratio of "#rrggbb" colours.
double Luminance(const std::string& hex) {
  double out = 0;
  const double weights[3] = {0.2126, 0.7152, 0.0722};
  for (int i = 0; i < 3; ++i) {
    const double c = std::stoi(hex.substr(1 + 2 * i, 2), nullptr, 16) / 255.0;
    out += weights[i] * (c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4));
  }
  return out;
}

double Contrast(const std::string& a, const std::string& b) {
  const double la = Luminance(a), lb = Luminance(b);
  return (std::max(la, lb) + 0.05) / (std::min(la, lb) + 0.05);
}

TEST(ChartTruthTest, LineColoursReadOnLightAndDarkThemes) {
  Series loss;
  for (int step = 0; step < 10; ++step) loss.Add(step, 1.0 / (step + 1));
  const std::string chart = MermaidChart(loss, "loss");
  SCOPED_TRACE(chart);
  const std::vector<std::string> lines = test::Lines(chart);
  ASSERT_GE(lines.size(), 3u);
  ASSERT_EQ(lines[0], "```mermaid");
  const std::string& init = lines[1];
  ASSERT_EQ(init.rfind("%%{init: ", 0), 0u) << init;
  ASSERT_GE(init.size(), 13u);
  ASSERT_EQ(init.substr(init.size() - 3), "}%%");
  const auto config = nlohmann::json::parse(init.substr(9, init.size() - 12), nullptr, false);
  ASSERT_FALSE(config.is_discarded()) << "not JSON: " << init;
  const auto palette = config["themeVariables"]["xyChart"]["plotColorPalette"];
  ASSERT_TRUE(palette.is_string());
  std::vector<std::string> colours;
  std::string text = palette.get<std::string>();
  for (size_t start = 0; start < text.size();) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string c = text.substr(start, comma - start);
    c.erase(0, c.find_first_not_of(' '));
    colours.push_back(c);
    start = comma + 1;
  }
  ASSERT_GE(colours.size(), 2u);
  for (const std::string& c : colours) {
    ASSERT_EQ(c.size(), 7u) << c;
    ASSERT_EQ(c[0], '#') << c;
    EXPECT_GE(Contrast(c, "#ffffff"), 3.0) << c << " on white";
    EXPECT_GE(Contrast(c, "#0d1117"), 3.0) << c << " on GitHub dark";
  }
  EXPECT_EQ(lines[2], "xychart-beta");
}

// The x tick labels of an SVG chart (text-anchor middle, inside the ticks group).
std::vector<std::string> XTickLabels(const std::string& svg) {
  std::vector<std::string> out;
  const size_t ticks = svg.find("<g class=\"ticks\"");
  const size_t end = svg.find("</g>", ticks);
  const std::string needle = "text-anchor=\"middle\">";
  for (size_t at = svg.find(needle, ticks); at != std::string::npos && at < end;
       at = svg.find(needle, at + 1)) {
    const size_t from = at + needle.size();
    out.push_back(svg.substr(from, svg.find('<', from) - from));
  }
  return out;
}

TEST(ChartTruthTest, StepsAreLabelledByWhatTheLogCounts) {
  JobMetrics metrics;
  for (int epoch = 1; epoch <= 3; ++epoch) {
    metrics.OnLine("{\"epoch\": " + std::to_string(epoch) +
                   ", \"loss\": " + std::to_string(1.0 / epoch) + "}");
  }
  const Series& loss = *metrics.Find("loss");
  const std::string svg = RenderLossSvg(loss, "loss");
  EXPECT_NE(svg.find(">epoch</text>"), std::string::npos) << svg;
  EXPECT_EQ(svg.find(">step</text>"), std::string::npos);
  const std::vector<std::string> ticks = XTickLabels(svg);
  EXPECT_GE(ticks.size(), 2u);
  for (const std::string& t : ticks) {
    EXPECT_EQ(t.find('.'), std::string::npos) << "fractional tick " << t << " on an epoch axis";
  }
  const std::string chart = MermaidChart(loss, "loss");
  SCOPED_TRACE(chart);
  const std::string x_axis = LineStarting(chart, "    x-axis ");
  EXPECT_EQ(x_axis, "    x-axis \"epoch\" [\"1\", \"2\", \"3\"]");

  JobView view;
  view.id = "j-1";
  view.state = JobState::kSucceeded;
  const std::string body = RenderComment(view, metrics, LogTail(), GpuStats(), Links(), Redactor());
  EXPECT_NE(body.find("0.3333 @ epoch 3"), std::string::npos) << body;
  EXPECT_EQ(body.find("@ step"), std::string::npos) << body;
}

TEST(ChartTruthTest, WholeNumberStepsOverAWideRangeKeepANumericAxis) {
  Series loss;
  for (int step = 0; step < 5000; step += 50) loss.Add(step, 1.0 + 100.0 / (step + 10));
  const std::string chart = MermaidChart(loss, "loss");
  EXPECT_EQ(LineStarting(chart, "    x-axis "), "    x-axis \"step\" 0 --> 4950") << chart;
  EXPECT_EQ(LineValues(chart)[0].size(), 100u);
}

TEST(ChartTruthTest, BestOnlyWhereItMeansSomething) {
  JobMetrics metrics;
  metrics.OnLine("{\"step\": 1, \"loss\": 2.5, \"accuracy\": 0.4, \"lr\": 0.001, \"temp\": 3}");
  metrics.OnLine("{\"step\": 2, \"loss\": 1.5, \"accuracy\": 0.7, \"lr\": 0.002, \"temp\": 5}");
  metrics.OnLine("{\"step\": 3, \"loss\": 1.75, \"accuracy\": 0.6, \"lr\": 0.0005, \"temp\": 4}");
  JobView view;
  view.id = "j-1";
  view.state = JobState::kSucceeded;
  const std::string body = RenderComment(view, metrics, LogTail(), GpuStats(), Links(), Redactor());
  SCOPED_TRACE(body);
  EXPECT_NE(LineStarting(body, "| Metric |").find("| Min | Max |"), std::string::npos);
  const std::string loss = LineStarting(body, "| `loss` |");
  EXPECT_NE(loss.find("1.5 @ step 2 (best)"), std::string::npos) << loss;
  EXPECT_NE(loss.find("2.5 @ step 1 |"), std::string::npos) << loss;
  const std::string acc = LineStarting(body, "| `accuracy` |");
  EXPECT_NE(acc.find("0.7 @ step 2 (best)"), std::string::npos) << acc;
  for (const char* name : {"| `lr` |", "| `temp` |"}) {
    const std::string row = LineStarting(body, name);
    ASSERT_FALSE(row.empty()) << name;
    EXPECT_EQ(row.find("best"), std::string::npos) << row;
  }
  const std::string lr = LineStarting(body, "| `lr` |");
  EXPECT_NE(lr.find("0.0005 @ step 3"), std::string::npos) << lr;
  EXPECT_NE(lr.find("0.002 @ step 2"), std::string::npos) << lr;

  JobView lr_view = view;
  lr_view.metrics = {"lr"};
  const std::string lr_body =
      RenderComment(lr_view, metrics, LogTail(), GpuStats(), Links(), Redactor());
  const std::string spark = LineStarting(lr_body, "`lr` `");
  EXPECT_NE(spark.find("(min 0.0005 @ step 3, max 0.002 @ step 2)"), std::string::npos) << spark;

  const std::string page = RenderJobPage(view, metrics, LogTail(), GpuStats(), {}, Redactor());
  size_t rows = 0;
  for (const std::string& line : test::Lines(page)) {
    if (line.find("<tr><td><code>") == std::string::npos) continue;
    ++rows;
    const bool directed =
        line.find(">loss<") != std::string::npos || line.find(">accuracy<") != std::string::npos;
    EXPECT_EQ(line.find("best") != std::string::npos, directed) << line;
  }
  EXPECT_EQ(rows, 4u);
}

TEST(ChartTruthTest, SeveralMetricsShareAxesWhereTheyFit) {
  JobMetrics metrics;
  for (int epoch = 1; epoch <= 12; ++epoch) {
    const double loss = 2.0 / epoch + 0.3;
    metrics.OnLine("{\"epoch\": " + std::to_string(epoch) + ", \"loss\": " + std::to_string(loss) +
                   ", \"val_loss\": " + std::to_string(loss + 0.2) +
                   ", \"lr\": " + std::to_string(1e-4 / epoch) + "}");
    if (epoch % 4 == 0) {
      metrics.OnLine("{\"epoch\": " + std::to_string(epoch) +
                     ", \"accuracy\": " + std::to_string(0.5 + epoch / 40.0) + "}");
    }
  }
  // loss and val_loss: same epochs, ranges that fit: one chart with two lines.
  // lr: a scale 10,000 times smaller: its own chart. accuracy: other epochs: its own chart.
  const std::vector<NamedSeries> named = {{"loss", metrics.Find("loss")},
                                          {"val_loss", metrics.Find("val_loss")},
                                          {"lr", metrics.Find("lr")},
                                          {"accuracy", metrics.Find("accuracy")}};
  const std::string charts = MermaidCharts(named);
  SCOPED_TRACE(charts);
  const std::vector<std::string> blocks = test::MermaidBlocks(charts);
  ASSERT_EQ(blocks.size(), 3u);
  std::vector<test::MermaidFacts> facts;
  for (const std::string& block : blocks) {
    facts.push_back(test::ParseMermaid(block));
    ASSERT_TRUE(facts.back().ok) << facts.back().problem << "\n" << block;
    EXPECT_EQ(facts.back().x_title, "epoch");
  }
  EXPECT_EQ(LineStarting(blocks[0], "    title "), "    title \"loss (blue), val_loss (orange)\"");
  ASSERT_EQ(facts[0].lines.size(), 2u);
  EXPECT_NEAR(facts[0].lines[0].front(), 2.3, 1e-3);
  EXPECT_NEAR(facts[0].lines[1].front(), 2.5, 1e-3);
  EXPECT_EQ(facts[0].x_lo, 1);
  EXPECT_EQ(facts[0].x_hi, 12);
  EXPECT_EQ(LineStarting(blocks[1], "    title "), "    title \"lr\"");
  ASSERT_EQ(facts[1].lines.size(), 1u);
  EXPECT_NEAR(facts[1].lines[0].front(), 1e-4, 1e-7);
  EXPECT_EQ(LineStarting(blocks[2], "    title "), "    title \"accuracy\"");
  EXPECT_EQ(facts[2].x_categories, (std::vector<std::string>{"4", "8", "12"}));
  // In the same order as the palette's names in the title.
  EXPECT_EQ(facts[0].palette.rfind(
                std::string(kLinePalette[0].hex) + ", " + std::string(kLinePalette[1].hex), 0),
            0u);
}

TEST(ChartTruthTest, CommentChartsEveryConfiguredMetricAndListsEach) {
  JobMetrics metrics;
  for (int step = 10; step <= 300; step += 10) {
    metrics.OnLine("step " + std::to_string(step) + " | loss " +
                   std::to_string(3.0 - step / 150.0) + " | lr " + std::to_string(step * 1e-6));
    if (step % 50 == 0) {
      metrics.OnLine("{\"step\": " + std::to_string(step) +
                     ", \"val_loss\": " + std::to_string(2.9 - step / 160.0) + "}");
    }
  }
  JobView view;
  view.id = "j-1";
  view.state = JobState::kRunning;
  view.metrics = {"loss", "val_loss", "nope"};
  const std::string body = RenderComment(view, metrics, LogTail(), GpuStats(), Links(), Redactor());
  SCOPED_TRACE(body);
  const std::vector<std::string> blocks = test::MermaidBlocks(body);
  ASSERT_EQ(blocks.size(), 2u) << "val_loss has other steps than loss";
  for (const std::string& block : blocks) {
    const test::MermaidFacts facts = test::ParseMermaid(block);
    EXPECT_TRUE(facts.ok) << facts.problem;
  }
  EXPECT_NE(blocks[0].find("title \"loss\""), std::string::npos);
  EXPECT_NE(blocks[1].find("title \"val_loss\""), std::string::npos);
  EXPECT_NE(blocks[1].find("x-axis \"step\" 50 --> 300"), std::string::npos);
  EXPECT_FALSE(LineStarting(body, "`loss` `").empty());
  EXPECT_FALSE(LineStarting(body, "`val_loss` `").empty());
  EXPECT_TRUE(LineStarting(body, "`lr` `").empty()) << "lr was not asked for";
  for (const char* row : {"| `loss` |", "| `lr` |", "| `val_loss` |"}) {
    EXPECT_FALSE(LineStarting(body, row).empty()) << row;
  }
}

TEST(ChartTruthTest, JobPageDrawsEachConfiguredMetric) {
  JobMetrics metrics;
  for (int epoch = 1; epoch <= 5; ++epoch) {
    metrics.OnLine("{\"epoch\": " + std::to_string(epoch) +
                   ", \"loss\": " + std::to_string(1.0 / epoch) +
                   ", \"accuracy\": " + std::to_string(0.5 + epoch / 20.0) + "}");
  }
  JobView view;
  view.id = "j-1";
  view.state = JobState::kSucceeded;
  view.metrics = {"loss", "accuracy"};
  const std::string page = RenderJobPage(view, metrics, LogTail(), GpuStats(), {}, Redactor());
  EXPECT_EQ(test::Count(page, "<svg "), 2u);
  EXPECT_NE(page.find("aria-label=\"loss by epoch\""), std::string::npos);
  EXPECT_NE(page.find("aria-label=\"accuracy by epoch\""), std::string::npos);
  EXPECT_EQ(test::Count(page, "<circle class=\"pt\""), 10u);
  std::string why;
  EXPECT_TRUE(test::TagsBalanced(page, &why)) << why;
}

TEST(ChartTruthTest, RepeatedAndHostileStepsStayDistinctCategories) {
  Series loss;
  // A restart from a checkpoint repeats steps 3-5; the later values stand.
  for (int step : {1, 2, 3, 4, 5, 3, 4, 5, 6, 9}) loss.Add(step, step * 0.5 + (step > 5 ? 1 : 0));
  loss.Add(4, 7.0);
  const std::string chart = MermaidChart(loss, "loss");
  const test::MermaidFacts facts = test::ParseMermaid(chart);
  ASSERT_TRUE(facts.ok) << facts.problem << "\n" << chart;
  EXPECT_EQ(facts.x_categories, (std::vector<std::string>{"1", "2", "3", "4", "5", "6", "9"}));
  EXPECT_EQ(facts.lines[0][3], 7.0);
  // A step label with quotes or %% cannot break out of the axis title.
  Series odd;
  odd.set_step_label("a\"]%%{init}%%\n");
  odd.Add(0.5, 1);
  odd.Add(1.5, 2);
  const std::string odd_chart = MermaidChart(odd, "m");
  const test::MermaidFacts odd_facts = test::ParseMermaid(odd_chart);
  ASSERT_TRUE(odd_facts.ok) << odd_facts.problem << "\n" << odd_chart;
  EXPECT_EQ(odd_facts.x_title, "a_____init____");
  EXPECT_EQ(odd_facts.x_lo, 0.5);
  EXPECT_EQ(odd_facts.x_hi, 1.5);
}

}  // namespace
}  // namespace labelrun::report
