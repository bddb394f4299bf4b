#include "labelrun/report/charts.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include "text.hpp"

namespace labelrun::report {
namespace {

constexpr std::array<std::string_view, 8> kBlocks = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};

std::string ChartName(std::string_view metric) {
  std::string out;
  for (char c : metric.substr(0, 64)) {
    const bool keep = text::IsAlnum(c) || c == ' ' || c == '_' || c == '.' || c == '/' || c == '-';
    out += keep ? c : '_';
  }
  if (out.empty()) out = "value";
  return out;
}

// Digits enough that values `span` apart in a range reaching `magnitude` stay apart.
int DigitsFor(double magnitude, double span) {
  int digits = 4;
  if (span > 0 && magnitude > span) {
    digits += static_cast<int>(std::floor(std::log10(magnitude / span)));
  }
  return std::clamp(digits, 4, 15);
}

struct Range {
  double lo;
  double hi;
};

// The values' range padded by 5% (and never below zero for non-negative data). A flat
// series (or one whose spread vanishes next to its size) gets 10% of its size around it.
Range PaddedRange(double min, double max) {
  const double magnitude = std::max(std::fabs(min), std::fabs(max));
  double pad = (max - min) * 0.05;
  if (!(pad > magnitude * 1e-9)) pad = magnitude > 0 ? magnitude * 0.1 : 1.0;
  Range r{min - pad, max + pad};
  if (min >= 0 && r.lo < 0) r.lo = 0;
  return r;
}

std::string Coord(double v) {
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 1);
  return ec == std::errc() ? std::string(buf, ptr) : "0";
}

// About `count` round tick values (1, 2 or 5 times a power of ten) inside [lo, hi].
std::vector<double> Ticks(double lo, double hi, int count) {
  std::vector<double> out;
  const double span = hi - lo;
  if (!(span > 0) || !std::isfinite(span)) return {lo};
  const double raw = span / count;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * power;
    if (step >= raw) break;
  }
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9 && out.size() < 20;
       t += step) {
    out.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  }
  return out;
}

}  // namespace

std::string MermaidChart(const Series& series, std::string_view metric, size_t max_points) {
  std::vector<Sample> points = series.Resample(std::min(max_points, kMaxMermaidPoints));
  if (points.size() < 2) return "";
  double min = points[0].value, max = points[0].value;
  for (const Sample& p : points) min = std::min(min, p.value), max = std::max(max, p.value);
  const Range y = PaddedRange(min, max);
  // Bins are evenly spaced: the axis runs from the first bin's start to the last one's end.
  const double half_bin = (points[1].step - points[0].step) / 2;
  const double x_lo = points.front().step - half_bin, x_hi = points.back().step + half_bin;
  // Mermaid numbers have no exponent: beyond these sizes the digits would swamp the chart.
  constexpr double kTooLarge = 1e12;
  if (std::max(std::fabs(y.lo), std::fabs(y.hi)) >= kTooLarge ||
      std::max(std::fabs(x_lo), std::fabs(x_hi)) >= kTooLarge) {
    return "";
  }
  const int digits = DigitsFor(std::max(std::fabs(y.lo), std::fabs(y.hi)), y.hi - y.lo);
  const int x_digits = DigitsFor(std::max(std::fabs(x_lo), std::fabs(x_hi)), x_hi - x_lo);
  const std::string y_lo = text::FormatFixed(y.lo, digits), y_hi = text::FormatFixed(y.hi, digits);
  const std::string x_from = text::FormatFixed(x_lo, x_digits);
  const std::string x_to = text::FormatFixed(x_hi, x_digits);
  // Values too small for 20 decimals would collapse the axis.
  if (y_lo == y_hi || x_from == x_to) return "";
  const std::string name = ChartName(metric);
  std::string out = "```mermaid\nxychart-beta\n";
  out += "    title \"" + name + "\"\n";
  out += "    x-axis \"step\" " + x_from + " --> " + x_to + "\n";
  out += "    y-axis \"" + name + "\" " + y_lo + " --> " + y_hi + "\n";
  out += "    line [";
  for (size_t i = 0; i < points.size(); ++i) {
    if (i) out += ", ";
    out += text::FormatFixed(points[i].value, digits);
  }
  out += "]\n```\n";
  return out;
}

std::string Sparkline(const std::vector<double>& values) {
  double min = 0, max = 0;
  bool any = false;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    min = any ? std::min(min, v) : v;
    max = any ? std::max(max, v) : v;
    any = true;
  }
  std::string out;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    size_t level = 3;
    const double span = max - min;
    if (span > 0 && std::isfinite(span)) {
      level = static_cast<size_t>(std::lround((v - min) / span * 7.0));
    }
    out += kBlocks[std::min<size_t>(level, 7)];
  }
  return out;
}

std::string Sparkline(const Series& series, size_t width) {
  std::vector<double> values;
  for (const Sample& s : series.Resample(width)) values.push_back(s.value);
  return Sparkline(values);
}

std::string SparklineLine(std::string_view key, const Series& series, size_t width) {
  std::string out = "`" + ChartName(key) + "`";
  const std::string spark = Sparkline(series, width);
  if (!spark.empty()) out += " `" + spark + "`";
  if (auto first = series.first()) {
    out += " " + text::FormatValue(first->value);
    out += " → " + text::FormatValue(series.last()->value);
  }
  if (auto best = series.best()) {
    out += series.goal() == Goal::kMinimize ? " (min " : " (max ";
    out += text::FormatValue(best->value) + " @ step " + text::FormatStep(best->step) + ")";
  }
  return out;
}

std::string RenderLossSvg(const Series& series, std::string_view metric,
                          const SvgOptions& options) {
  const double width = std::max(options.width, 160), height = std::max(options.height, 120);
  const double left = 64, right = 16, top = 28, bottom = 44;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  const std::vector<Sample> points = series.Envelope(std::max<size_t>(2, options.max_points));
  const std::string name = text::HtmlEscape(metric.empty() ? "value" : metric);
  std::string out;
  out.reserve(4096 + points.size() * 96);
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Coord(width) + "\" height=\"" +
         Coord(height) + "\" viewBox=\"0 0 " + Coord(width) + " " + Coord(height) +
         "\" role=\"img\" aria-label=\"" + name + " by step\" data-points=\"" +
         std::to_string(points.size()) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  out += "<title>" + name + " by step</title>\n";
  out += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  if (points.empty()) {
    out += "<text x=\"" + Coord(width / 2) + "\" y=\"" + Coord(height / 2) +
           "\" text-anchor=\"middle\" fill=\"#57606a\">no " + name + " values yet</text>\n";
    out += "</svg>\n";
    return out;
  }
  double x_min = points[0].step, x_max = points[0].step;
  double y_min = points[0].value, y_max = points[0].value;
  for (const Sample& p : points) {
    x_min = std::min(x_min, p.step), x_max = std::max(x_max, p.step);
    y_min = std::min(y_min, p.value), y_max = std::max(y_max, p.value);
  }
  if (!(x_max > x_min)) x_min -= 1, x_max += 1;
  const Range y = PaddedRange(y_min, y_max);
  const double x_span = x_max - x_min, y_span = y.hi - y.lo;
  auto px = [&](double step) { return left + (step - x_min) / x_span * plot_w; };
  auto py = [&](double value) { return top + (y.hi - value) / y_span * plot_h; };
  const std::string x0 = Coord(left), x1 = Coord(left + plot_w);
  const std::string y0 = Coord(top + plot_h), y1 = Coord(top);
  out += "<g class=\"axes\" stroke=\"#24292f\" stroke-width=\"1\">\n";
  out += "<line x1=\"" + x0 + "\" y1=\"" + y0 + "\" x2=\"" + x1 + "\" y2=\"" + y0 + "\"/>\n";
  out += "<line x1=\"" + x0 + "\" y1=\"" + y0 + "\" x2=\"" + x0 + "\" y2=\"" + y1 + "\"/>\n";
  out += "</g>\n<g class=\"ticks\" fill=\"#57606a\">\n";
  for (double t : Ticks(x_min, x_max, 6)) {
    const std::string x = Coord(px(t));
    out += "<line x1=\"" + x + "\" y1=\"" + y0 + "\" x2=\"" + x + "\" y2=\"" +
           Coord(top + plot_h + 4) + "\" stroke=\"#24292f\"/>";
    out += "<text x=\"" + x + "\" y=\"" + Coord(top + plot_h + 17) + "\" text-anchor=\"middle\">" +
           text::FormatStep(t) + "</text>\n";
  }
  for (double t : Ticks(y.lo, y.hi, 5)) {
    const std::string yy = Coord(py(t));
    out += "<line x1=\"" + Coord(left - 4) + "\" y1=\"" + yy + "\" x2=\"" + x0 + "\" y2=\"" + yy +
           "\" stroke=\"#24292f\"/>";
    out += "<text x=\"" + Coord(left - 7) + "\" y=\"" + Coord(py(t) + 4) +
           "\" text-anchor=\"end\">" + text::FormatValue(t) + "</text>\n";
  }
  out += "</g>\n";
  out += "<text class=\"axis-title\" x=\"" + Coord(left + plot_w / 2) + "\" y=\"" +
         Coord(height - 8) + "\" text-anchor=\"middle\">step</text>\n";
  out += "<text class=\"axis-title\" transform=\"translate(14 " + Coord(top + plot_h / 2) +
         ") rotate(-90)\" text-anchor=\"middle\">" + name + "</text>\n";
  std::string polyline, circles;
  for (const Sample& p : points) {
    const std::string cx = Coord(px(p.step)), cy = Coord(py(p.value));
    if (!polyline.empty()) polyline += ' ';
    polyline += cx + "," + cy;
    circles += "<circle class=\"pt\" cx=\"" + cx + "\" cy=\"" + cy + "\" r=\"2\"/>\n";
  }
  out +=
      "<polyline class=\"curve\" fill=\"none\" stroke=\"#0969da\" stroke-width=\"1.5\" "
      "points=\"" +
      polyline + "\"/>\n";
  out += "<g class=\"points\" fill=\"#0969da\">\n" + circles + "</g>\n";
  out += "</svg>\n";
  return out;
}

}  // namespace labelrun::report
