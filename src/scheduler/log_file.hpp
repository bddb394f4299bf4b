#pragma once
// A job's log on disk: one line per log line, "<docker timestamp> <o|e> <text>", where
// the text of a redraw (a line the container ended with a lone '\r') keeps its '\r'.
// The timestamps let a restarted labelrun resume following a container exactly
// where the file ends, without losing or repeating a line. Private to scheduler/.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include "labelrun/core/result.hpp"
#include "labelrun/runtime/runtime.hpp"

namespace labelrun::scheduler {

// Where the file ends: the newest timestamp in it, and how many lines are
// stamped in the same whole second. A stream asked for lines since that second
// (Docker's `since` has whole seconds) starts with exactly those lines again, in
// the order they were stored, before any new one.
struct LogPosition {
  std::string timestamp;  // empty: the file is empty
  int64_t lines_in_second = 0;
  int64_t SinceUnix() const;  // whole seconds of `timestamp`; 0 when empty
};

// Reads the end of the file, first cutting off a partial last line (a crash in
// the middle of a write). A missing file is an empty position.
Result<LogPosition> ReadLogPosition(const std::filesystem::path& path);

class LogWriter {
 public:
  LogWriter() = default;
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  Status Open(const std::filesystem::path& path, LogPosition position);
  // Before each stream of the container's log since position().SinceUnix(): its
  // first lines are those already in the file (earlier seconds, then the
  // position's lines_in_second), and Append skips them.
  void Resume();
  // False when the line is already in the file (a repeat at the start of a
  // resumed stream); true when it was appended. Past the repeats every line is
  // appended, in the order it came, also one stamped a little earlier than the
  // line before it (stdout and stderr are stamped by separate copiers).
  bool Append(const runtime::LogLine& line);
  void Flush();
  const LogPosition& position() const { return position_; }
  int64_t appended() const { return appended_; }  // lines appended since Open

 private:
  std::FILE* file_ = nullptr;
  LogPosition position_;
  std::string resume_second_;  // while resuming: the second the stream starts at
  int64_t to_skip_ = 0;        // its lines still to skip as repeats
  int64_t unflushed_ = 0;
  int64_t appended_ = 0;
};

// The text of a stored log line ("<ts> <o|e> <text>"), or the line itself when
// it has no such prefix.
std::string_view LogLineText(std::string_view stored_line);

}  // namespace labelrun::scheduler
