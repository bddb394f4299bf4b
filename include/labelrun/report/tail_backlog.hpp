#pragma once
// Defers a LogTail's per-line work (cleaning, redaction, cutting) until the tail
// is read, and skips it for lines that scroll out of the tail before that.
//
// A job prints far more lines than its comment shows between two edits; cleaning
// and redacting each one as it arrives was most of labelrun's cost per log line.
// The backlog holds the newest lines as printed and hands them to the tail when it
// is read (Drain). A line is dropped unseen only when it could neither be in the
// tail (max_lines newer lines follow it) nor change how the tail's stream redactor
// reads later lines: a line holding "-----" (a PEM marker) or a control byte (which
// cleaning removes, so that dashes around it could join into a marker) is handed
// to the tail at once, with every line before it; so is a line that may not be a
// line of its own there (a redraw ending in '\r', a blank line that only clears a
// redrawn one). So the tail reads the same after
// Drain as if each line had been added to it directly. Memory: at most max_lines
// lines and about max_bytes bytes. Not thread-safe (the owner's lock covers it).

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "labelrun/report/log_tail.hpp"

namespace labelrun::report {

class TailBacklog {
 public:
  struct Options {
    size_t max_lines = 500;         // the tail's max_lines
    size_t max_bytes = 256 * 1024;  // held before the oldest lines go to the tail
  };
  TailBacklog() : TailBacklog(Options{}) {}
  explicit TailBacklog(Options options);

  // One line as the job's log file stores it (LogTail::AddStored's argument: a
  // trailing '\r' marks a redraw, which reaches the tail at once).
  void Add(std::string_view line, LogTail& tail);
  // Hands every held line to `tail`, oldest first. Call before reading the tail.
  void Drain(LogTail& tail);
  // Lines dropped without reaching the tail, because newer ones scrolled them out.
  uint64_t skipped() const { return skipped_; }
  size_t held() const { return lines_.size(); }

 private:
  Options options_;
  std::deque<std::string> lines_;
  size_t bytes_ = 0;
  uint64_t skipped_ = 0;
};

}  // namespace labelrun::report
