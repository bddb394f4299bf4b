#include "labelrun/report/tail_backlog.hpp"

#include <algorithm>

namespace labelrun::report {
namespace {

// True when the line may change the stream redactor's state, or may not be a line
// of its own in the tail (see the header): a blank line after a redraw only
// clears the redrawn line.
bool MustReachTheTailAtOnce(std::string_view line) {
  bool blank = true;
  for (char c : line) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return true;
    blank = blank && (c == ' ' || c == '\t');
  }
  return blank || line.find("-----") != std::string_view::npos;
}

}  // namespace

TailBacklog::TailBacklog(Options options) : options_(options) {
  options_.max_lines = std::max<size_t>(1, options_.max_lines);
}

void TailBacklog::Add(std::string_view line, LogTail& tail) {
  if (MustReachTheTailAtOnce(line)) {
    Drain(tail);
    tail.AddStored(line);
    return;
  }
  lines_.emplace_back(line);
  bytes_ += line.size();
  while (lines_.size() > options_.max_lines) {
    bytes_ -= lines_.front().size();
    lines_.pop_front();
    ++skipped_;
    tail.CountSkipped(1);
  }
  while (bytes_ > options_.max_bytes && !lines_.empty()) {
    tail.AddStored(lines_.front());
    bytes_ -= lines_.front().size();
    lines_.pop_front();
  }
}

void TailBacklog::Drain(LogTail& tail) {
  for (const std::string& line : lines_) tail.AddStored(line);
  lines_.clear();
  bytes_ = 0;
}

}  // namespace labelrun::report
