#include "labelrun/runtime/log_decoder.hpp"

#include <algorithm>
#include <cstdio>

#include "labelrun/core/strings.hpp"

namespace labelrun::runtime {
namespace {

// A timestamp prefix longer than this has no space: the stream is not what
// timestamps=1 produces. RFC3339NanoFixed with a zone offset is 35 bytes.
constexpr size_t kMaxTimestampBytes = 64;
// A system-error frame is a short daemon message; keep at most this much of it.
constexpr size_t kMaxSystemErrorBytes = 4096;

std::string HeaderHex(const std::array<uint8_t, 8>& header) {
  std::string out;
  char buf[4];
  for (uint8_t b : header) {
    std::snprintf(buf, sizeof buf, "%02x ", b);
    out += buf;
  }
  out.pop_back();
  return out;
}

size_t StreamIndex(LogStream stream) { return stream == LogStream::kStdout ? 0 : 1; }

bool IsUtf8Continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

Status FrameDemuxer::Feed(std::string_view bytes, const Sink& sink) {
  if (failed_) return Unexpected(ErrorCode::kInternal, "corrupt docker stream");
  while (!bytes.empty()) {
    if (!in_frame_) {
      size_t take = std::min(bytes.size(), header_.size() - header_used_);
      std::copy_n(bytes.data(), take, header_.data() + header_used_);
      header_used_ += take;
      bytes.remove_prefix(take);
      if (header_used_ < header_.size()) return Ok();
      header_used_ = 0;
      if (header_[0] > 3 || header_[1] != 0 || header_[2] != 0 || header_[3] != 0) {
        failed_ = true;
        return Unexpected(ErrorCode::kInternal,
                          "corrupt docker stream: frame header " + HeaderHex(header_) +
                              " (expected type 0-3, then three zero bytes and a size)");
      }
      type_ = static_cast<FrameType>(header_[0]);
      remaining_ = (uint32_t{header_[4]} << 24) | (uint32_t{header_[5]} << 16) |
                   (uint32_t{header_[6]} << 8) | uint32_t{header_[7]};
      in_frame_ = true;
      if (remaining_ == 0) {
        in_frame_ = false;
        if (!sink(type_, {}, true, true)) return Ok();
        continue;
      }
      first_ = true;
      continue;  // the payload may start in the next chunk
    }
    size_t take = std::min<size_t>(bytes.size(), remaining_);
    remaining_ -= static_cast<uint32_t>(take);
    bool first = first_;
    first_ = false;
    bool last = remaining_ == 0;
    if (last) in_frame_ = false;
    if (!sink(type_, bytes.substr(0, take), first, last)) return Ok();
    bytes.remove_prefix(take);
  }
  return Ok();
}

LogDecoder::LogDecoder(Options options) : options_(options) {
  if (options_.max_line_bytes == 0) options_.max_line_bytes = 1;
}

Status LogDecoder::Feed(std::string_view chunk, const LogCallback& on_line) {
  if (failed_) return error_;
  if (stopped_) return Ok();
  Status st =
      demuxer_.Feed(chunk, [&](FrameType type, std::string_view piece, bool first, bool last) {
        return OnPiece(type, piece, first, last, on_line);
      });
  if (!st) {
    failed_ = true;
    error_ = st;
  }
  return failed_ ? error_ : Ok();
}

Status LogDecoder::Finish(const LogCallback& on_line) {
  if (failed_) return error_;
  for (LogStream stream : {LogStream::kStdout, LogStream::kStderr}) {
    Partial& p = partial_[StreamIndex(stream)];
    if (stopped_) break;
    if (p.open && !p.dropping) {
      // A held line ended in a lone '\r' at the very end: a redraw.
      Emit(on_line, LogLine{stream, p.timestamp, p.text, false, p.held});
    }
    p = Partial{};
  }
  if (!demuxer_.at_boundary()) {
    return Unexpected(ErrorCode::kUnavailable, "the docker stream ended inside a frame");
  }
  return Ok();
}

bool LogDecoder::OnPiece(FrameType type, std::string_view piece, bool first, bool last,
                         const LogCallback& on_line) {
  if (type == FrameType::kSystemError) {
    if (first) system_error_.clear();
    size_t room = kMaxSystemErrorBytes - std::min(kMaxSystemErrorBytes, system_error_.size());
    system_error_.append(piece.substr(0, room));
    if (!last) return true;
    while (!system_error_.empty() &&
           (system_error_.back() == '\n' || system_error_.back() == '\r')) {
      system_error_.pop_back();
    }
    failed_ = true;
    error_ = Unexpected(ErrorCode::kInternal, "docker reported: " + system_error_);
    return false;
  }
  LogStream stream = type == FrameType::kStderr ? LogStream::kStderr : LogStream::kStdout;
  if (first) {
    frame_timestamp_.clear();
    in_prefix_ = options_.timestamps;
  }
  if (in_prefix_) {
    size_t space = piece.find(' ');
    std::string_view stamp = piece.substr(0, space);
    if (frame_timestamp_.size() + stamp.size() > kMaxTimestampBytes) {
      failed_ = true;
      error_ = Unexpected(ErrorCode::kInternal,
                          "corrupt docker log stream: a frame does not start with a timestamp");
      return false;
    }
    frame_timestamp_.append(stamp);
    if (space == std::string_view::npos) return true;
    in_prefix_ = false;
    piece.remove_prefix(space + 1);
  }
  return Text(stream, piece, on_line);
}

bool LogDecoder::Text(LogStream stream, std::string_view text, const LogCallback& on_line) {
  Partial& p = partial_[StreamIndex(stream)];
  size_t i = 0;
  while (i < text.size()) {
    if (p.after_cr) {
      const bool crlf = text[i] == '\n';
      if (crlf) ++i;
      if (!Settle(stream, p, crlf, on_line)) return false;
      continue;
    }
    size_t brk = FindLineBreak(text, i);
    std::string_view seg =
        text.substr(i, brk == std::string_view::npos ? std::string_view::npos : brk - i);
    // The common case: a whole line inside this piece, nothing buffered. A '\r' needs the
    // byte after it to tell a redraw from "\r\n".
    if (!p.open && brk != std::string_view::npos && !seg.empty() &&
        seg.size() <= options_.max_line_bytes && (text[brk] == '\n' || brk + 1 < text.size())) {
      const bool crlf = text[brk] == '\r' && text[brk + 1] == '\n';
      const bool redraw = text[brk] == '\r' && !crlf;
      if (!Emit(on_line, LogLine{stream, frame_timestamp_, seg, false, redraw})) return false;
      i = brk + (crlf ? 2 : 1);
      continue;
    }
    if (!Append(stream, p, seg, on_line)) return false;
    if (brk == std::string_view::npos) break;
    if (!EndLine(stream, p, text[brk], on_line)) return false;
    i = brk + 1;
  }
  return true;
}

bool LogDecoder::Settle(LogStream stream, Partial& p, bool crlf, const LogCallback& on_line) {
  bool go_on = true;
  if (p.held) {
    go_on = Emit(on_line, LogLine{stream, p.timestamp, p.text, false, !crlf});
    p.text.clear();
    p.open = false;
  } else if (p.empty_cr && crlf) {
    go_on = Emit(on_line, LogLine{stream, p.timestamp, {}, false});
  }
  p.after_cr = p.empty_cr = p.held = false;
  return go_on;
}

bool LogDecoder::Append(LogStream stream, Partial& p, std::string_view seg,
                        const LogCallback& on_line) {
  if (seg.empty()) return true;
  if (!p.open) {
    p.open = true;
    p.timestamp = frame_timestamp_;
  }
  if (p.dropping) return true;
  size_t cap = options_.max_line_bytes;
  if (p.text.size() + seg.size() <= cap) {
    p.text.append(seg);
    return true;
  }
  size_t room = cap - p.text.size();
  p.text.append(seg.substr(0, room));
  // Cutting inside a UTF-8 sequence: drop its leading bytes too.
  if (IsUtf8Continuation(seg[room])) {
    size_t back = 0;
    while (back < 3 && back < p.text.size() &&
           IsUtf8Continuation(p.text[p.text.size() - 1 - back])) {
      ++back;
    }
    if (back < p.text.size() &&
        (static_cast<unsigned char>(p.text[p.text.size() - 1 - back]) & 0xC0) == 0xC0) {
      p.text.resize(p.text.size() - 1 - back);
    }
  }
  p.dropping = true;
  bool go_on = Emit(on_line, LogLine{stream, p.timestamp, p.text, true});
  p.text.clear();
  return go_on;
}

bool LogDecoder::EndLine(LogStream stream, Partial& p, char brk, const LogCallback& on_line) {
  bool go_on = true;
  if (p.open && brk == '\r' && !p.dropping) {
    // Held until the next byte says whether it is a redraw or "\r\n".
    p.after_cr = p.held = true;
  } else if (p.open) {
    if (!p.dropping) go_on = Emit(on_line, LogLine{stream, p.timestamp, p.text, false});
    p.text.clear();
    p.open = false;
    p.dropping = false;
    p.after_cr = brk == '\r';
  } else if (brk == '\n') {
    go_on = Emit(on_line, LogLine{stream, frame_timestamp_, {}, false});
  } else {
    // An empty line ended by '\r': emitted only if a '\n' follows.
    p.after_cr = p.empty_cr = true;
    p.timestamp = frame_timestamp_;
  }
  return go_on;
}

bool LogDecoder::Emit(const LogCallback& on_line, const LogLine& line) {
  if (!on_line(line)) stopped_ = true;
  return !stopped_;
}

}  // namespace labelrun::runtime
