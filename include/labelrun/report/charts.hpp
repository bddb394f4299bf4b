#pragma once
// Charts of a metric series: a Mermaid xychart for github.com, a Unicode sparkline for
// e-mail and API readers, and an SVG for labelrun's own job page.

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "labelrun/report/series.hpp"

namespace labelrun::report {

constexpr size_t kMaxMermaidPoints = 100;

// The Mermaid line colours, in plot order, each with a contrast ratio of at least 3:1
// against both GitHub's light (#ffffff) and dark (#0d1117) backgrounds, and the colour's
// name that chart titles use to tell the lines apart (xychart draws no legend).
struct LineColour {
  std::string_view hex;
  std::string_view name;
};
inline constexpr std::array<LineColour, 6> kLinePalette = {{
    {"#1f6feb", "blue"},
    {"#d1590f", "orange"},
    {"#008a7e", "teal"},
    {"#e0338e", "pink"},
    {"#8250df", "purple"},
    {"#9a6700", "brown"},
}};

// One metric to chart: its name as shown, and its series.
struct NamedSeries {
  std::string_view name;
  const Series* series = nullptr;
};

// Fenced ```mermaid blocks (each ending in a newline, separated by an empty line) with an
// `xychart-beta` line chart per group of metrics. Each block starts with an `%%{init}%%`
// line that sets kLinePalette as the plot colours.
//
// Every plotted value is one the training printed: Series::Points(max_points) (capped at
// kMaxMermaidPoints), in step order, one per step label (the later one when a step
// repeats). Mermaid spaces a line's values evenly, so the x axis is numeric
// (`x-axis "<label>" first --> last`) only when the steps are evenly spaced, and, for
// whole-number steps, at least 10 apart end to end (Mermaid's own ticks then fall on whole
// numbers); otherwise the real steps are the x axis's categories (`x-axis "<label>" ["1",
// "2", "100"]`). The x axis title is the series' step label, the y axis title the metric.
// Values and ranges are finite and fixed-point (Mermaid's number grammar has no exponent),
// with enough digits to show the curve's variation.
//
// Metrics share one chart (one line each, named with their colour in the title: "loss
// (blue), val_loss (orange)") when they have the same step label and plotted steps and their
// scales fit: the shared y range spans at most 10 times any one metric's own range. Else each
// gets its own chart. At most kLinePalette.size() lines per chart. Names are reduced to
// letters, digits, space and `_ . / -`. A metric with fewer than two distinct steps with
// finite values, or values of 1e12 or more, is not charted; empty when none is.
std::string MermaidCharts(const std::vector<NamedSeries>& metrics,
                          size_t max_points = kMaxMermaidPoints);
// MermaidCharts of one metric.
std::string MermaidChart(const Series& series, std::string_view metric,
                         size_t max_points = kMaxMermaidPoints);

// Eight-level block characters (U+2581..U+2588) scaled to the values' range; a flat
// series draws mid-height blocks. Non-finite values are skipped.
std::string Sparkline(const std::vector<double>& values);
// The printed values of Series::Points(width) in step order, as MermaidCharts picks them;
// empty when the series has no finite value.
std::string Sparkline(const Series& series, size_t width = 40);
// "`loss` `▇▆▄▃▂▁▁` 2.31 → 0.412 (min 0.398 @ step 4800)": sparkline, first and last value
// (NaN and inf shown as such), and the best value with its step ("min" for metrics to
// minimise, "max" for metrics to maximise, both "min …, max …" for metrics without a best;
// see GoalFor). Steps are named by the series' step label. Markdown; key is inline code.
std::string SparklineLine(std::string_view key, const Series& series, size_t width = 40);

struct SvgOptions {
  int width = 720;
  int height = 360;
  size_t max_points = 200;
};

// A standalone SVG document of the series: axes, tick labels (whole numbers only on the x
// axis when every step is one), axis titles (the series' step label and the metric), the curve as a
// <polyline class="curve">, and every plotted point as one <circle class="pt"> (at most
// options.max_points, from Series::Envelope so that minima and maxima survive; the root carries
// data-points="N"). Text is XML-escaped. A series without finite points gives a small SVG that says
// so.
std::string RenderLossSvg(const Series& series, std::string_view metric,
                          const SvgOptions& options = {});

}  // namespace labelrun::report
