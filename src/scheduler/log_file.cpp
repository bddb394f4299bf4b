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
namespace {

// "2026-11-26T10:00:01" of "2026-11-26T10:00:01.500000000Z".
std::string_view WholeSecond(std::string_view timestamp) { return timestamp.substr(0, 19); }

}  // namespace

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
    // and how many lines share its second.
    LogPosition pos;
    std::string_view newest;
    for (size_t i = first_whole; i < lines.size(); ++i) {
      const std::string_view ts = lines[i].substr(0, lines[i].find(' '));
      if (ts > newest) newest = ts;
    }
    for (size_t i = first_whole; i < lines.size(); ++i) {
      if (WholeSecond(lines[i]) == WholeSecond(newest)) ++pos.lines_in_second;
    }
    pos.timestamp = std::string(newest);
    // Grown until the window starts before the newest second.
    const std::string_view first = lines[first_whole];
    if (WholeSecond(first) < WholeSecond(newest) || from == 0 || window >= (uint64_t{64} << 20)) {
      return pos;
    }
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
  return Ok();
}

void LogWriter::Resume() {
  resume_second_ = std::string(WholeSecond(position_.timestamp));
  to_skip_ = position_.lines_in_second;
}

bool LogWriter::Append(const runtime::LogLine& line) {
  const std::string_view second = WholeSecond(line.timestamp);
  if (!resume_second_.empty()) {
    // The stream repeats what the file has since resume_second_, in the file's
    // order; an earlier second can only be a repeat too.
    if (second < resume_second_) return false;
    if (to_skip_ > 0) {
      --to_skip_;
      return false;
    }
    resume_second_.clear();
  }
  // The position is the newest stamp written and how many lines share its second.
  if (line.timestamp > position_.timestamp) {
    if (second != WholeSecond(position_.timestamp)) position_.lines_in_second = 0;
    position_.timestamp.assign(line.timestamp);
  }
  if (second == WholeSecond(position_.timestamp)) ++position_.lines_in_second;
  std::fwrite(line.timestamp.data(), 1, line.timestamp.size(), file_);
  std::fputs(line.stream == runtime::LogStream::kStderr ? " e " : " o ", file_);
  std::fwrite(line.text.data(), 1, line.text.size(), file_);
  if (line.redraw) std::fputc('\r', file_);
  std::fputc('\n', file_);
  ++appended_;
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
