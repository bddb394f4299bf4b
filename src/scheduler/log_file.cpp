#include "log_file.hpp"

#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <vector>

#include "labelrun/core/strings.hpp"

namespace labelrun::scheduler {

int64_t LogPosition::SinceUnix() const {
  std::tm tm{};
  if (timestamp.size() < 19 || !strptime(timestamp.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

Result<LogPosition> ReadLogPosition(const std::filesystem::path& path) {
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec || size == 0) return LogPosition{};
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unexpected(ErrorCode::kInternal, "cannot read " + path.string());
  // The lines sharing the last timestamp are few; a window of the file's end
  // holds them, grown when one line is longer than the window.
  for (uint64_t window = 256 << 10;; window *= 4) {
    const uint64_t from = size > window ? size - window : 0;
    std::string tail(size - from, '\0');
    in.clear();
    in.seekg(static_cast<std::streamoff>(from));
    in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
    if (tail.back() != '\n') {
      // A crash in the middle of a write: cut the partial line.
      const size_t nl = tail.rfind('\n');
      if (nl == std::string::npos && from != 0) continue;
      const uint64_t keep = from + (nl == std::string::npos ? 0 : nl + 1);
      if (truncate(path.c_str(), static_cast<off_t>(keep)) != 0) {
        return Unexpected(ErrorCode::kInternal,
                          "cannot repair " + path.string() + ": " + std::strerror(errno));
      }
      return ReadLogPosition(path);
    }
    std::vector<std::string_view> lines =
        Split(std::string_view(tail).substr(0, tail.size() - 1), '\n');
    // A window that does not start at the file's start may begin mid-line.
    const size_t first_whole = from == 0 ? 0 : 1;
    if (lines.size() <= first_whole) {
      if (from == 0) return LogPosition{};
      continue;
    }
    // The newest stamp, which need not be the last line's (see LogWriter::Append),
    // and how many lines carry it.
    LogPosition pos;
    std::string_view newest;
    for (size_t i = first_whole; i < lines.size(); ++i) {
      const std::string_view ts = lines[i].substr(0, lines[i].find(' '));
      if (ts > newest) {
        newest = ts;
        pos.lines_at_timestamp = 1;
      } else if (ts == newest) {
        ++pos.lines_at_timestamp;
      }
    }
    pos.timestamp = std::string(newest);
    const std::string_view first = lines[first_whole].substr(0, lines[first_whole].find(' '));
    if (first != newest || from == 0 || window >= (uint64_t{64} << 20)) return pos;
  }
}

LogWriter::~LogWriter() {
  if (file_) std::fclose(file_);
}

Status LogWriter::Open(const std::filesystem::path& path, LogPosition position) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  file_ = std::fopen(path.c_str(), "ab");
  if (!file_) {
    return Unexpected(ErrorCode::kInternal,
                      "cannot open " + path.string() + ": " + std::strerror(errno));
  }
  // Flushed every 256 lines: a buffer that holds them is one write(2) per flush
  // instead of one per 4 KiB.
  std::setvbuf(file_, nullptr, _IOFBF, 64 << 10);
  position_ = std::move(position);
  to_skip_ = position_.lines_at_timestamp;
  resuming_ = !position_.timestamp.empty();
  return Ok();
}

bool LogWriter::Append(const runtime::LogLine& line) {
  // Only a resumed stream repeats lines: those before the file's end. Past them,
  // every line is new, also one stamped a little earlier than the line before it
  // (stdout and stderr are stamped by separate copiers in the daemon).
  if (resuming_) {
    if (line.timestamp < position_.timestamp) return false;
    if (line.timestamp == position_.timestamp && to_skip_ > 0) {
      --to_skip_;
      return false;
    }
    resuming_ = false;
  }
  // The position is the newest stamp written and how many lines carry it.
  if (line.timestamp == position_.timestamp) {
    ++position_.lines_at_timestamp;
  } else if (line.timestamp > position_.timestamp) {
    position_.timestamp.assign(line.timestamp);
    position_.lines_at_timestamp = 1;
  }
  std::fwrite(line.timestamp.data(), 1, line.timestamp.size(), file_);
  std::fputs(line.stream == runtime::LogStream::kStderr ? " e " : " o ", file_);
  std::fwrite(line.text.data(), 1, line.text.size(), file_);
  if (line.redraw) std::fputc('\r', file_);
  std::fputc('\n', file_);
  if (++unflushed_ >= 256) Flush();
  return true;
}

void LogWriter::Flush() {
  if (file_) std::fflush(file_);
  unflushed_ = 0;
}

std::string_view LogLineText(std::string_view stored) {
  const size_t sp = stored.find(' ');
  if (sp == std::string_view::npos || sp + 3 > stored.size() || stored[sp + 2] != ' ') {
    return stored;
  }
  return stored.substr(sp + 3);
}

}  // namespace labelrun::scheduler
