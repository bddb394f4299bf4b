#pragma once
// Human-written durations and sizes, as they appear in config and rules.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "labelrun/core/result.hpp"

namespace labelrun {

// "500ms", "30s", "10m", "2h", "1d", and sums such as "1h30m". A bare number is
// seconds. Negative, empty or overflowing values are errors.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

// "1024", "512k"/"512KB"/"512KiB", "64m"/"64MiB", "16g"/"16GiB", "1t". Units are
// binary (1k = 1024), as Docker reads them. Overflow is an error.
Result<uint64_t> ParseSize(std::string_view text);

// "16 GiB", "512 MiB", "100 B": the largest unit that keeps at most one decimal.
std::string FormatBytes(uint64_t bytes);

// "1h 02m", "3m 05s", "42s", "850ms".
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace labelrun
