#include "labelrun/report/gpu_stats.hpp"

#include <algorithm>
#include <cmath>

#include "text.hpp"

namespace labelrun::report {

void GpuStats::Add(const GpuSample& sample) {
  if (!std::isfinite(sample.utilization_percent)) return;
  const double util = std::clamp(sample.utilization_percent, 0.0, 100.0);
  const std::string name(text::TruncateUtf8(sample.gpu, kMaxGpuNameBytes));
  auto it = std::find_if(gpus_.begin(), gpus_.end(),
                         [&](const PerGpu& g) { return g.summary.gpu == name; });
  if (it == gpus_.end()) {
    if (gpus_.size() >= kMaxGpus) return;
    gpus_.emplace_back();
    gpus_.back().summary.gpu = name;
    it = gpus_.end() - 1;
  }
  GpuSummary& s = it->summary;
  it->utilization.Add(static_cast<double>(s.samples), util);
  ++s.samples;
  it->sum += util;
  s.mean_utilization = it->sum / static_cast<double>(s.samples);
  s.max_utilization = s.samples == 1 ? util : std::max(s.max_utilization, util);
  s.last_utilization = util;
  if (sample.memory_used_bytes) {
    s.max_memory_used_bytes =
        std::max(s.max_memory_used_bytes.value_or(0), *sample.memory_used_bytes);
  }
  if (sample.memory_total_bytes) s.memory_total_bytes = sample.memory_total_bytes;
}

std::vector<GpuSummary> GpuStats::Summaries() const {
  std::vector<GpuSummary> out;
  out.reserve(gpus_.size());
  for (const PerGpu& g : gpus_) out.push_back(g.summary);
  return out;
}

const Series* GpuStats::Utilization(std::string_view gpu) const {
  for (const PerGpu& g : gpus_) {
    if (g.summary.gpu == gpu) return &g.utilization;
  }
  return nullptr;
}

}  // namespace labelrun::report
