#pragma once
// Charts of a metric series: a Mermaid xychart for github.com, a Unicode sparkline for
// e-mail and API readers, and an SVG for labelrun's own job page.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "labelrun/report/series.hpp"

namespace labelrun::report {

constexpr size_t kMaxMermaidPoints = 100;

// A fenced ```mermaid block (ending in a newline) with an `xychart-beta` line chart of at
// most max_points (capped at kMaxMermaidPoints) values, the means of evenly spaced step
// bins (Mermaid spaces values evenly), with `x-axis "step" a --> b` and
// `y-axis "<metric>" lo --> hi` set. Values are finite and fixed-point (Mermaid's number
// grammar has no exponent), with enough digits to show the curve's variation. The metric
// name is reduced to letters, digits, space and `_ . / -`. Empty when the series has fewer
// than two distinct steps with finite values.
std::string MermaidChart(const Series& series, std::string_view metric,
                         size_t max_points = kMaxMermaidPoints);

// Eight-level block characters (U+2581..U+2588) scaled to the values' range; a flat
// series draws mid-height blocks. Non-finite values are skipped.
std::string Sparkline(const std::vector<double>& values);
// The series resampled to at most `width` characters; empty when it has no finite value.
std::string Sparkline(const Series& series, size_t width = 40);
// "`loss` `▇▆▄▃▂▁▁` 2.31 → 0.412 (min 0.398 @ step 4800)": sparkline, first and last value
// (NaN and inf shown as such), and the best value with its step ("min" for metrics to
// minimise, "max" for the others). Markdown; key is shown as inline code.
std::string SparklineLine(std::string_view key, const Series& series, size_t width = 40);

struct SvgOptions {
  int width = 720;
  int height = 360;
  size_t max_points = 200;
};

// A standalone SVG document of the series: axes, tick labels, axis titles ("step" and the
// metric), the curve as a <polyline class="curve">, and every plotted point as one
// <circle class="pt"> (at most options.max_points, from Series::Envelope so that minima
// and maxima survive; the root carries data-points="N"). Text is XML-escaped. A series
// without finite points gives a small SVG that says so.
std::string RenderLossSvg(const Series& series, std::string_view metric,
                          const SvgOptions& options = {});

}  // namespace labelrun::report
