#pragma once
// The last lines of a job's log, as a person reads them in the comment and on the page.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "labelrun/report/line_buffer.hpp"
#include "labelrun/report/log_error.hpp"
#include "labelrun/report/redact.hpp"

namespace labelrun::report {

// A bounded ring of cleaned lines. Not thread-safe: one writer, readers synchronised by
// the owner. Lines are stored as shown: ANSI colour codes removed, invalid UTF-8 replaced
// by U+FFFD, control characters but tab dropped, `\r` redraws reduced to what a terminal
// leaves on screen (the last non-empty segment), long lines cut at max_line_bytes with
// " …" appended. A line redrawn in place (a progress bar: tqdm, the Hugging Face Trainer)
// is one line in its last state; a blank redraw (spaces that clear the line) clears it.
// The renderers redact what they show; with Options::redactor set, each
// line is also redacted before it is cut, so that a cut never leaves part of a secret, and
// redacted as a line of the whole stream (StreamRedactor, as the full log is): a private
// key printed over many lines is masked whole, its body lines included.
class LogTail {
 public:
  struct Options {
    size_t max_lines = 500;
    size_t max_bytes = 128 * 1024;  // the sum of the kept lines' sizes
    size_t max_line_bytes = 2048;
    // Not owned; must outlive the tail. Redactor is safe to share between threads.
    const Redactor* redactor = nullptr;
  };

  LogTail() : LogTail(Options{}) {}
  explicit LogTail(Options options);

  // One complete line (without its '\n').
  void AddLine(std::string_view line);
  // A piece as LineBuffer hands it out: kCarriageReturn pieces are kept as an open line
  // that the next non-empty piece replaces (a blank one only clears it); other ends commit.
  void Add(std::string_view text, LineEnd end);
  // A line as the job's log file stores it: a trailing '\r' marks a redraw
  // (kCarriageReturn); anything else is a line of its own.
  void AddStored(std::string_view line);

  // The kept lines, oldest first, with the open redraw line (if any) last.
  std::vector<std::string> Lines() const;
  // Lines() joined with '\n'.
  std::string Text() const;
  size_t size() const { return lines_.size() + (open_ ? 1 : 0); }
  // Lines ever committed (kept or not).
  uint64_t total_lines() const { return total_; }
  // Counts `n` lines that scrolled out before they were added (TailBacklog).
  void CountSkipped(uint64_t n) { total_ += n; }
  // The Python exception the log ends in, if any (see TracebackFinder), found in the
  // committed lines as kept (so redacted as the tail is, with Options::redactor set);
  // renderers redact what they show of it again, as they do the lines.
  std::optional<LogError> error() const { return traceback_.Last(); }

 private:
  void Commit(std::string line);
  std::string Clean(std::string_view line) const;
  // The cleaned line redacted (moving the stream's key state on when `advance`) and cut.
  std::string Shown(const std::string& cleaned, bool advance);

  Options options_;
  std::optional<StreamRedactor> stream_;  // set with options_.redactor
  std::deque<std::string> lines_;
  size_t bytes_ = 0;
  uint64_t total_ = 0;
  bool open_ = false;
  std::string open_line_;  // as shown
  std::string open_raw_;   // cleaned, not yet redacted: the stream sees it when it commits
  TracebackFinder traceback_;
};

}  // namespace labelrun::report
