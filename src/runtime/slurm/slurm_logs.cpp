// SlurmRuntime::Logs: follows the job's output file on shared storage.
//
// Lines carry stamps as Docker's do, so that the dispatcher's log file resumes
// where it ends. A stamp is derived from the line's byte offset through an index
// beside the log (log.index), so that a line read twice gets the same stamp:
// - "<unix seconds> <offset>": the stamp of a line at offset o is the newest such
//   entry at or before o, plus (o - its offset) nanoseconds;
// - "0 <offset>": bytes before it have been read (and maybe handed on): lines that
//   start there are stamped from the entries alone.
// Past what was read before, a line starting in a new second gets a new entry.
// Entries and marks are appended, and flushed, before the lines they stamp are
// handed on.
#include <cstdio>
#include <ctime>
#include <fstream>
#include <thread>

#include "labelrun/core/clock.hpp"
#include "labelrun/runtime/slurm.hpp"

namespace labelrun::runtime {
namespace {

struct IndexEntry {
  int64_t sec = 0;
  uint64_t offset = 0;
};

std::string Stamp(int64_t sec, uint64_t nanos) {
  std::time_t t = static_cast<std::time_t>(sec);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lluZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<unsigned long long>(nanos));
  return buf;
}

// Cuts `s` back so that it does not end inside a UTF-8 character.
void CutToCharBoundary(std::string& s) {
  size_t i = s.size();
  size_t back = 0;
  while (i > 0 && back < 4 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) {
    --i;
    ++back;
  }
  if (i == 0) return;
  const auto lead = static_cast<unsigned char>(s[i - 1]);
  size_t len = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  if (back + 1 < len) s.resize(i - 1);
}

class Follower {
 public:
  Follower(std::filesystem::path index_path, size_t max_line, const LogCallback& on_line)
      : index_path_(std::move(index_path)), max_line_(max_line), on_line_(on_line) {}
  ~Follower() {
    if (index_out_) std::fclose(index_out_);
  }

  // Loads the index from the entry that covers `since_unix` on; the offset to read from.
  uint64_t Load(int64_t since_unix) {
    std::ifstream in(index_path_);
    IndexEntry e;
    while (in >> e.sec >> e.offset) {
      if (e.sec == 0) {
        read_before_ = std::max(read_before_, e.offset);
        continue;
      }
      if (!entries_.empty() && (e.sec <= entries_.back().sec || e.offset < entries_.back().offset))
        continue;  // a torn or repeated line
      if (since_unix > 0 && e.sec <= since_unix) entries_.clear();
      entries_.push_back(e);
    }
    if (since_unix == 0 || entries_.empty()) return 0;
    return entries_.front().sec <= since_unix ? entries_.front().offset : 0;
  }

  // Notes that the bytes up to `end` are being read, before their lines go out.
  void MarkRead(uint64_t end) {
    if (end > marked_) {
      Append({0, end});
      marked_ = end;
    }
  }

  // Feeds bytes that start at file offset `at`; false when on_line asked to stop.
  bool Feed(std::string_view bytes, uint64_t at) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      const char c = bytes[i];
      const uint64_t offset = at + i;
      if (after_cr_) {
        after_cr_ = false;
        if (c == '\n') {
          if (!Emit(false)) return false;
          line_start_ = offset + 1;
          continue;
        }
        // A lone '\r': a redraw. An empty one is no line (a bar's leading '\r').
        if (!text_.empty() || truncated_) {
          if (!Emit(true)) return false;
        } else {
          Reset();
        }
        line_start_ = offset;
      }
      if (c == '\r') {
        after_cr_ = true;
        continue;
      }
      if (c == '\n') {
        if (!Emit(false)) return false;
        line_start_ = offset + 1;
        continue;
      }
      if (text_.size() < max_line_) {
        text_ += c;
      } else if (!truncated_) {
        truncated_ = true;
        CutToCharBoundary(text_);
      }
    }
    return true;
  }

  // The end of the output: the last line, unterminated.
  bool Finish() {
    if (after_cr_) {
      after_cr_ = false;
      if (!text_.empty() || truncated_) return Emit(true);
      return true;
    }
    if (!text_.empty() || truncated_) return Emit(false);
    return true;
  }

  void set_line_start(uint64_t offset) { line_start_ = offset; }

 private:
  void Reset() {
    text_.clear();
    truncated_ = false;
  }

  bool Emit(bool redraw) {
    const std::string stamp = StampFor(line_start_);
    LogLine line;
    line.stream = LogStream::kStdout;
    line.timestamp = stamp;
    line.text = text_;
    line.truncated = truncated_;
    line.redraw = redraw;
    const bool go_on = on_line_(line);
    Reset();
    return go_on;
  }

  std::string StampFor(uint64_t offset) {
    const int64_t now = SystemClock::Instance().NowUnixMillis() / 1000;
    if (entries_.empty()) {
      entries_.push_back({now, offset});
      Append(entries_.back());
    } else if (offset > entries_.back().offset && offset >= read_before_) {
      // Past the index: a new entry each second, and before the nanoseconds run out.
      const IndexEntry last = entries_.back();
      if (now > last.sec || offset - last.offset >= 1'000'000'000) {
        entries_.assign(1, {std::max(now, last.sec + 1), offset});
        Append(entries_.back());
      }
    }
    // The newest entry at or before the offset.
    IndexEntry base{entries_.front().sec - 1, 0};
    for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
      if (it->offset <= offset) {
        base = *it;
        break;
      }
    }
    return Stamp(base.sec, offset - base.offset);
  }

  void Append(const IndexEntry& e) {
    if (!index_out_) index_out_ = std::fopen(index_path_.c_str(), "ab");
    if (!index_out_) return;
    std::fprintf(index_out_, "%lld %llu\n", static_cast<long long>(e.sec),
                 static_cast<unsigned long long>(e.offset));
    std::fflush(index_out_);
  }

  std::filesystem::path index_path_;
  size_t max_line_;
  const LogCallback& on_line_;
  std::vector<IndexEntry> entries_;
  uint64_t read_before_ = 0;  // the end of what earlier reads read
  uint64_t marked_ = 0;       // the end of what this read has marked
  std::FILE* index_out_ = nullptr;
  std::string text_;
  bool truncated_ = false;
  bool after_cr_ = false;
  uint64_t line_start_ = 0;
};

}  // namespace

Status SlurmRuntime::Logs(const std::string& id, int64_t since_unix, bool follow,
                          const LogCallback& on_line, const std::atomic<bool>* stop) {
  if (Result<std::string> sid = SlurmId(id); !sid) return sid.error();
  const std::filesystem::path dir = JobDir(id);
  Follower follower(dir / "log.index", settings_.max_log_line_bytes, on_line);
  uint64_t offset = follower.Load(since_unix);
  follower.set_line_start(offset);
  std::FILE* file = nullptr;
  std::string buf(64 << 10, '\0');
  auto stopped = [&] { return stop != nullptr && stop->load(); };
  auto last_check = std::chrono::steady_clock::now() - std::chrono::seconds(10);
  bool ended = false;
  Status result = Ok();
  while (!stopped()) {
    if (file == nullptr) {
      file = std::fopen((dir / "slurm.log").c_str(), "rb");
      if (file != nullptr && std::fseek(file, static_cast<long>(offset), SEEK_SET) != 0) {
        std::fclose(file);
        return Unexpected(ErrorCode::kInternal, "cannot seek in the log of job " + id);
      }
    }
    size_t n = 0;
    if (file != nullptr) {
      std::clearerr(file);
      n = std::fread(buf.data(), 1, buf.size(), file);
    }
    if (n > 0) {
      follower.MarkRead(offset + n);
      if (!follower.Feed(std::string_view(buf.data(), n), offset)) break;
      offset += n;
      continue;
    }
    // At the end of what is written so far.
    if (!follow || ended) {
      follower.Finish();
      break;
    }
    if (std::chrono::steady_clock::now() - last_check >= std::chrono::seconds(1)) {
      last_check = std::chrono::steady_clock::now();
      Result<ContainerState> state = Inspect(id);
      if (!state && state.error().code() == ErrorCode::kNotFound) {
        result = state.error();
        break;
      }
      // Read once more after the end: the last bytes may have come with it.
      if (state && !state->running) ended = true;
      if (ended) continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (file != nullptr) std::fclose(file);
  return result;
}

}  // namespace labelrun::runtime
