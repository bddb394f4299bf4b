#include "labelrun/report/charts.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <optional>
#include <utility>

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

// About `count` round tick values (1, 2 or 5 times a power of ten, at least 1 when
// `whole`) inside [lo, hi].
std::vector<double> Ticks(double lo, double hi, int count, bool whole = false) {
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
  if (whole) step = std::max(step, 1.0);
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9 && out.size() < 20;
       t += step) {
    out.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  }
  return out;
}

}  // namespace

namespace {

// Mermaid numbers have no exponent: beyond this size the digits would swamp the chart.
constexpr double kTooLarge = 1e12;

// A metric's plotted points: printed values in step order, one per step label.
struct Plot {
  std::string name;
  std::string step_label;
  std::vector<Sample> points;
  std::vector<std::string> labels;  // FormatStep of each point's step
  double min = 0;
  double max = 0;
};

std::vector<Sample> InStepOrder(const Series& series, size_t max_points,
                                std::vector<std::string>* labels = nullptr) {
  std::vector<Sample> points = series.Points(max_points);
  std::stable_sort(points.begin(), points.end(),
                   [](const Sample& a, const Sample& b) { return a.step < b.step; });
  // Steps that print alike would be one category: the later point stands.
  std::vector<Sample> out;
  std::vector<std::string> names;
  for (const Sample& p : points) {
    std::string name = text::FormatStep(p.step);
    if (!names.empty() && names.back() == name) {
      out.back() = p;
      continue;
    }
    out.push_back(p);
    names.push_back(std::move(name));
  }
  if (labels) *labels = std::move(names);
  return out;
}

std::optional<Plot> MakePlot(const NamedSeries& metric, size_t max_points) {
  if (metric.series == nullptr) return std::nullopt;
  Plot plot;
  plot.name = ChartName(metric.name);
  plot.step_label = ChartName(metric.series->step_label());
  plot.points = InStepOrder(*metric.series, max_points, &plot.labels);
  if (plot.points.size() < 2) return std::nullopt;
  plot.min = plot.max = plot.points[0].value;
  for (const Sample& p : plot.points) {
    plot.min = std::min(plot.min, p.value);
    plot.max = std::max(plot.max, p.value);
  }
  const Range y = PaddedRange(plot.min, plot.max);
  if (std::max(std::fabs(y.lo), std::fabs(y.hi)) >= kTooLarge) return std::nullopt;
  return plot;
}

double Span(double min, double max) {
  const Range r = PaddedRange(min, max);
  return r.hi - r.lo;
}

bool SameSteps(const Plot& a, const Plot& b) {
  if (a.step_label != b.step_label || a.points.size() != b.points.size()) return false;
  for (size_t i = 0; i < a.points.size(); ++i) {
    if (a.points[i].step != b.points[i].step) return false;
  }
  return true;
}

// The plots share one y axis without any of them shrinking below a tenth of it.
bool ScalesFit(const std::vector<const Plot*>& plots) {
  double min = plots[0]->min, max = plots[0]->max;
  for (const Plot* p : plots) min = std::min(min, p->min), max = std::max(max, p->max);
  const double shared = Span(min, max);
  for (const Plot* p : plots) {
    if (!(shared <= 10 * Span(p->min, p->max))) return false;
  }
  return true;
}

std::string PaletteInit() {
  std::string colours;
  for (const LineColour& c : kLinePalette) {
    if (!colours.empty()) colours += ", ";
    colours += c.hex;
  }
  return "%%{init: {\"themeVariables\": {\"xyChart\": {\"plotColorPalette\": \"" + colours +
         "\"}}}}%%\n";
}

// The x axis line: numeric where Mermaid's even spacing is the truth, else categories.
std::string XAxis(const Plot& plot) {
  const std::vector<Sample>& p = plot.points;
  const double first = p.front().step, last = p.back().step, span = last - first;
  const double gap = span / static_cast<double>(p.size() - 1);
  bool even = std::max(std::fabs(first), std::fabs(last)) < kTooLarge && span > 0;
  bool whole = true;
  for (size_t i = 0; i < p.size(); ++i) {
    whole = whole && p[i].step == std::floor(p[i].step);
    if (i > 0) even = even && std::fabs(p[i].step - p[i - 1].step - gap) <= gap * 1e-6;
  }
  const std::string head = "    x-axis \"" + plot.step_label + "\" ";
  if (even && (!whole || span >= 10)) {
    const int digits = DigitsFor(std::max(std::fabs(first), std::fabs(last)), gap);
    const std::string from = text::FormatFixed(first, digits), to = text::FormatFixed(last, digits);
    if (from != to) return head + from + " --> " + to + "\n";
  }
  std::string out = head + "[";
  for (size_t i = 0; i < plot.labels.size(); ++i) {
    if (i) out += ", ";
    out += "\"" + plot.labels[i] + "\"";
  }
  return out + "]\n";
}

std::string Chart(const std::vector<const Plot*>& plots) {
  double min = plots[0]->min, max = plots[0]->max, smallest = Span(min, max);
  for (const Plot* p : plots) {
    min = std::min(min, p->min), max = std::max(max, p->max);
    smallest = std::min(smallest, Span(p->min, p->max));
  }
  const Range y = PaddedRange(min, max);
  const int digits = DigitsFor(std::max(std::fabs(y.lo), std::fabs(y.hi)), smallest);
  const std::string y_lo = text::FormatFixed(y.lo, digits), y_hi = text::FormatFixed(y.hi, digits);
  // Values too small for 20 decimals would collapse the axis.
  if (y_lo == y_hi) return "";
  std::string title, y_name;
  for (size_t i = 0; i < plots.size(); ++i) {
    if (i) title += ", ", y_name += ", ";
    title += plots[i]->name;
    y_name += plots[i]->name;
    if (plots.size() > 1) title += " (" + std::string(kLinePalette[i].name) + ")";
  }
  std::string out = "```mermaid\n" + PaletteInit() + "xychart-beta\n";
  out += "    title \"" + title + "\"\n";
  out += XAxis(*plots[0]);
  out += "    y-axis \"" + y_name + "\" " + y_lo + " --> " + y_hi + "\n";
  for (const Plot* plot : plots) {
    out += "    line [";
    for (size_t i = 0; i < plot->points.size(); ++i) {
      if (i) out += ", ";
      out += text::FormatFixed(plot->points[i].value, digits);
    }
    out += "]\n";
  }
  return out + "```\n";
}

}  // namespace

std::string MermaidCharts(const std::vector<NamedSeries>& metrics, size_t max_points) {
  max_points = std::min(max_points, kMaxMermaidPoints);
  std::vector<Plot> plots;
  for (const NamedSeries& m : metrics) {
    if (auto plot = MakePlot(m, max_points)) plots.push_back(std::move(*plot));
  }
  // Each plot joins the first group it fits, in the order given.
  std::vector<std::vector<const Plot*>> groups;
  for (const Plot& plot : plots) {
    bool placed = false;
    for (auto& group : groups) {
      if (group.size() >= kLinePalette.size() || !SameSteps(*group[0], plot)) continue;
      group.push_back(&plot);
      if (ScalesFit(group)) {
        placed = true;
        break;
      }
      group.pop_back();
    }
    if (!placed) groups.push_back({&plot});
  }
  std::string out;
  for (const auto& group : groups) {
    const std::string chart = Chart(group);
    if (chart.empty()) continue;
    if (!out.empty()) out += "\n";
    out += chart;
  }
  return out;
}

std::string MermaidChart(const Series& series, std::string_view metric, size_t max_points) {
  return MermaidCharts({NamedSeries{metric, &series}}, max_points);
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
  for (const Sample& s : InStepOrder(series, width)) values.push_back(s.value);
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
  const std::string at = " @ " + ChartName(series.step_label()) + " ";
  auto point = [&](const Sample& s) {
    return text::FormatValue(s.value) + at + text::FormatStep(s.step);
  };
  if (auto best = series.best()) {
    out += series.goal() == Goal::kMinimize ? " (min " : " (max ";
    out += point(*best) + ")";
  } else if (series.min() && series.max()) {
    out += " (min " + point(*series.min()) + ", max " + point(*series.max()) + ")";
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
  const std::string step_name = text::HtmlEscape(text::CleanUtf8(series.step_label()));
  std::string out;
  out.reserve(4096 + points.size() * 96);
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Coord(width) + "\" height=\"" +
         Coord(height) + "\" viewBox=\"0 0 " + Coord(width) + " " + Coord(height) +
         "\" role=\"img\" aria-label=\"" + name + " by " + step_name + "\" data-points=\"" +
         std::to_string(points.size()) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  out += "<title>" + name + " by " + step_name + "</title>\n";
  out += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  if (points.empty()) {
    out += "<text x=\"" + Coord(width / 2) + "\" y=\"" + Coord(height / 2) +
           "\" text-anchor=\"middle\" fill=\"#57606a\">no " + name + " values yet</text>\n";
    out += "</svg>\n";
    return out;
  }
  double x_min = points[0].step, x_max = points[0].step;
  double y_min = points[0].value, y_max = points[0].value;
  bool whole_steps = true;
  for (const Sample& p : points) {
    whole_steps = whole_steps && p.step == std::floor(p.step);
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
  for (double t : Ticks(x_min, x_max, 6, whole_steps)) {
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
         Coord(height - 8) + "\" text-anchor=\"middle\">" + step_name + "</text>\n";
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
