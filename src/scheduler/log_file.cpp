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
    LogPosition pos;
    pos.timestamp = std::string(lines.back().substr(0, lines.back().find(' ')));
    size_t i = lines.size();
    while (i > first_whole && lines[i - 1].substr(0, lines[i - 1].find(' ')) == pos.timestamp) {
      ++pos.lines_at_timestamp;
      --i;
    }
    if (i > first_whole || from == 0 || window >= (uint64_t{64} << 20)) return pos;
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
  position_ = std::move(position);
  to_skip_ = position_.lines_at_timestamp;
  return Ok();
}

bool LogWriter::Append(const runtime::LogLine& line) {
  if (!position_.timestamp.empty()) {
    if (line.timestamp < position_.timestamp) return false;
    if (line.timestamp == position_.timestamp && to_skip_ > 0) {
      --to_skip_;
      return false;
    }
  }
  if (line.timestamp == position_.timestamp) {
    ++position_.lines_at_timestamp;
  } else {
    position_.timestamp.assign(line.timestamp);
    position_.lines_at_timestamp = 1;
    to_skip_ = 0;
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
