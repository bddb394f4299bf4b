#include "labelrun/core/units.hpp"

#include <cctype>
#include <cstdio>
#include <limits>

namespace labelrun {
namespace {

bool ReadNumber(std::string_view& s, uint64_t& out) {
  size_t i = 0;
  uint64_t v = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    uint64_t digit = static_cast<uint64_t>(s[i] - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - digit) / 10) return false;
    v = v * 10 + digit;
    ++i;
  }
  if (i == 0) return false;
  out = v;
  s.remove_prefix(i);
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool MulNoOverflow(uint64_t a, uint64_t b, uint64_t& out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return false;
  out = a * b;
  return true;
}

}  // namespace

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Unexpected(ErrorCode::kInvalidArgument, "invalid duration '" + std::string(text) +
                                                       "': " + std::string(why) +
                                                       " (examples: 30s, 10m, 1h30m, 500ms)");
  };
  std::string_view s = text;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty()) return bad("empty");
  uint64_t total_ms = 0;
  bool first = true;
  while (!s.empty()) {
    uint64_t n = 0;
    if (!ReadNumber(s, n)) return bad(first ? "expected a number" : "expected a number after unit");
    size_t u = 0;
    while (u < s.size() && std::isalpha(static_cast<unsigned char>(s[u]))) ++u;
    std::string unit = Lower(s.substr(0, u));
    s.remove_prefix(u);
    uint64_t scale = 0;
    if (unit == "ms")
      scale = 1;
    else if (unit == "s" || (unit.empty() && first && s.empty()))
      scale = 1000;
    else if (unit == "m" || unit == "min")
      scale = 60'000;
    else if (unit == "h")
      scale = 3'600'000;
    else if (unit == "d")
      scale = 86'400'000;
    else
      return bad(unit.empty() ? "missing unit" : "unknown unit '" + unit + "'");
    uint64_t part = 0;
    if (!MulNoOverflow(n, scale, part) || total_ms > std::numeric_limits<int64_t>::max() - part) {
      return bad("too large");
    }
    total_ms += part;
    first = false;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(total_ms));
}

Result<uint64_t> ParseSize(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Unexpected(ErrorCode::kInvalidArgument, "invalid size '" + std::string(text) +
                                                       "': " + std::string(why) +
                                                       " (examples: 512MiB, 16GiB, 64m)");
  };
  std::string_view s = text;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  uint64_t n = 0;
  if (!ReadNumber(s, n)) return bad("expected a number");
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  std::string unit = Lower(s);
  uint64_t scale = 0;
  if (unit.empty() || unit == "b")
    scale = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib")
    scale = 1ULL << 10;
  else if (unit == "m" || unit == "mb" || unit == "mib")
    scale = 1ULL << 20;
  else if (unit == "g" || unit == "gb" || unit == "gib")
    scale = 1ULL << 30;
  else if (unit == "t" || unit == "tb" || unit == "tib")
    scale = 1ULL << 40;
  else
    return bad("unknown unit '" + unit + "'");
  uint64_t out = 0;
  if (!MulNoOverflow(n, scale, out)) return bad("too large");
  return out;
}

std::string FormatBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024.0 && unit < 5) {
    v /= 1024.0;
    ++unit;
  }
  char buf[32];
  if (unit == 0 || v >= 100.0 || v == static_cast<double>(static_cast<uint64_t>(v))) {
    std::snprintf(buf, sizeof buf, "%.0f %s", v, kUnits[unit]);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
  }
  return buf;
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms < 0) ms = 0;
  char buf[48];
  if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(ms));
  } else if (ms < 60'000) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(ms / 1000));
  } else if (ms < 3'600'000) {
    std::snprintf(buf, sizeof buf, "%lldm %02llds", static_cast<long long>(ms / 60'000),
                  static_cast<long long>(ms / 1000 % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldh %02lldm", static_cast<long long>(ms / 3'600'000),
                  static_cast<long long>(ms / 60'000 % 60));
  }
  return buf;
}

}  // namespace labelrun
