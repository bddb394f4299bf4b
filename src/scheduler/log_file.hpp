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

// Where the file ends: the newest timestamp in it and how many lines carry it
// (one Docker message may hold several '\r' redraws).
struct LogPosition {
  std::string timestamp;  // empty: the file is empty
  int64_t lines_at_timestamp = 0;
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
  // False when the line is already in the file (a resumed stream repeats the
  // lines of the second the file ended in, up to its position); true when it was
  // appended. Past the position every line is appended, in the order it came.
  bool Append(const runtime::LogLine& line);
  void Flush();
  const LogPosition& position() const { return position_; }

 private:
  std::FILE* file_ = nullptr;
  LogPosition position_;
  int64_t to_skip_ = 0;    // lines at position_.timestamp still to skip after a resume
  bool resuming_ = false;  // opened at a position: lines up to it are repeats
  int64_t unflushed_ = 0;
};

// The text of a stored log line ("<ts> <o|e> <text>"), or the line itself when
// it has no such prefix.
std::string_view LogLineText(std::string_view stored_line);

}  // namespace labelrun::scheduler
