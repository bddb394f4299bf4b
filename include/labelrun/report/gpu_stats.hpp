#pragma once
// GPU utilisation and memory of a job, from periodic samples (nvidia-smi, NVML, DCGM).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "labelrun/report/series.hpp"

namespace labelrun::report {

struct GpuSample {
  std::string gpu;  // device id or index as the host names it, e.g. "0" or "GPU-3f2a..."
  double utilization_percent = 0;
  std::optional<uint64_t> memory_used_bytes;
  std::optional<uint64_t> memory_total_bytes;
};

struct GpuSummary {
  std::string gpu;
  uint64_t samples = 0;
  double mean_utilization = 0;  // percent
  double max_utilization = 0;
  double last_utilization = 0;
  std::optional<uint64_t> max_memory_used_bytes;
  std::optional<uint64_t> memory_total_bytes;
};

// Running sums per GPU (at most kMaxGpus, in the order first seen) plus a bounded
// utilisation series for charts: fixed memory however long the job. Not thread-safe.
class GpuStats {
 public:
  static constexpr size_t kMaxGpus = 16;
  static constexpr size_t kMaxGpuNameBytes = 64;

  // A utilisation that is not finite is ignored; others are clamped to [0, 100]. Samples
  // of GPUs past kMaxGpus are dropped. The GPU name is cut to kMaxGpuNameBytes.
  void Add(const GpuSample& sample);

  bool empty() const { return gpus_.empty(); }
  std::vector<GpuSummary> Summaries() const;
  // Utilisation (percent) over sample number; nullptr for an unknown GPU.
  const Series* Utilization(std::string_view gpu) const;

 private:
  struct PerGpu {
    GpuSummary summary;
    double sum = 0;
    Series utilization{Goal::kMaximize, 64};
  };
  std::vector<PerGpu> gpus_;
};

}  // namespace labelrun::report
