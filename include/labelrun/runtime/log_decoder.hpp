#pragma once
// Docker's multiplexed stream format, decoded incrementally and with bounded
// memory. Pure: no curl, no sockets; fed whatever byte chunks arrive.
//
// A stream with Tty:false is a sequence of frames: an 8-byte header
// {type, 0, 0, 0, payload size as uint32 big-endian} and the payload. Types:
// 0 stdin, 1 stdout, 2 stderr, 3 system error (a daemon error inside the stream,
// e.g. "Error grabbing logs: ..."). `logs?timestamps=1` writes one frame per log
// message, each starting with an RFC 3339 nano timestamp and a space; Docker's
// json-file copier cuts lines longer than 16 KiB into partial messages, each in
// its own frame with its own timestamp.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "labelrun/core/result.hpp"
#include "labelrun/runtime/runtime.hpp"

namespace labelrun::runtime {

inline constexpr size_t kDefaultMaxLogLineBytes = size_t{1} << 20;

enum class FrameType : uint8_t { kStdin = 0, kStdout = 1, kStderr = 2, kSystemError = 3 };

// Splits a multiplexed stream into pieces of frame payloads. Holds at most the
// 8 header bytes; payloads pass through as views of the input.
class FrameDemuxer {
 public:
  // One piece of a frame's payload, in order. `first`: the piece starts the
  // frame; `last`: it ends it (an empty frame is one empty piece with both set).
  // Returning false stops: Feed returns at once.
  using Sink = std::function<bool(FrameType type, std::string_view piece, bool first, bool last)>;

  // Consumes `bytes`. kInternal on a corrupt header (a type above 3, or nonzero
  // bytes 1-3); the demuxer then stays failed.
  Status Feed(std::string_view bytes, const Sink& sink);
  // True when the input so far ended exactly at a frame boundary.
  bool at_boundary() const { return header_used_ == 0 && !in_frame_; }

 private:
  std::array<uint8_t, 8> header_{};
  size_t header_used_ = 0;
  uint32_t remaining_ = 0;
  bool in_frame_ = false;  // a header was read and its payload is not finished
  bool first_ = false;     // the next piece starts the frame's payload
  bool failed_ = false;
  FrameType type_ = FrameType::kStdout;
};

// Turns a multiplexed log stream into LogLines.
//
// Lines end at '\n', '\r' or "\r\n" (one break, also when the '\r' and the '\n'
// arrive in different frames). An empty line is emitted when it ends with '\n'
// or "\r\n" (a program's blank line) but not when it ends with a lone '\r': a
// progress bar that writes "\r 10%|#  |\r 20%|## |" yields " 10%|#  |" and
// " 20%|## |", never empty lines between redraws. A line that ends in a lone '\r'
// has `redraw` set; to know that, a line whose '\r' ends a piece is held until the
// next byte of its stream (or the end of the stream) arrives. Stdout and stderr keep
// separate partial lines, so interleaved frames do not mix them. A line
// continued over several frames (Docker's 16 KiB partial messages) is joined,
// each frame's own timestamp prefix stripped, and carries the timestamp of the
// frame it started in. A line longer than `max_line_bytes` is emitted at the cap
// (cut back to a UTF-8 character boundary) with `truncated` set, once; the rest
// of that line is dropped as it arrives, never buffered. Memory: at most
// `max_line_bytes` per stream plus a timestamp.
class LogDecoder {
 public:
  struct Options {
    size_t max_line_bytes = kDefaultMaxLogLineBytes;  // > 0
    bool timestamps = true;  // each stdout/stderr frame starts with "<timestamp> "
  };

  LogDecoder() : LogDecoder(Options{}) {}
  explicit LogDecoder(Options options);

  // Decodes `chunk` (split anywhere) and calls `on_line` for each completed line;
  // LogLine views are valid only during the call. Errors: a corrupt frame header
  // (kInternal), a timestamp prefix without its space (kInternal), a system-error
  // frame (kInternal, the daemon's text as message). After an error, or once
  // `on_line` returned false (see stopped()), further calls do nothing.
  Status Feed(std::string_view chunk, const LogCallback& on_line);
  // The end of the stream: emits each stream's unterminated last line (stdout
  // first). kUnavailable when the stream ended inside a frame (a broken
  // connection), after emitting what was complete.
  Status Finish(const LogCallback& on_line);
  // True once `on_line` returned false.
  bool stopped() const { return stopped_; }

 private:
  struct Partial {
    std::string text;       // the line so far, at most max_line_bytes
    std::string timestamp;  // of the frame the line started in
    bool open = false;      // the line has begun (it has text or was cut)
    bool dropping = false;  // cut at the cap; the rest is being dropped
    bool after_cr = false;  // the last break was '\r': a following '\n' belongs to it
    bool empty_cr = false;  // that '\r' ended an empty line (emitted only as "\r\n")
    bool held = false;      // that '\r' ended `text`, emitted once the next byte is known
  };

  bool OnPiece(FrameType type, std::string_view piece, bool first, bool last,
               const LogCallback& on_line);
  // Splits stream text into lines; false when on_line asked to stop.
  bool Text(LogStream stream, std::string_view text, const LogCallback& on_line);
  bool Append(LogStream stream, Partial& p, std::string_view seg, const LogCallback& on_line);
  bool EndLine(LogStream stream, Partial& p, char brk, const LogCallback& on_line);
  // The byte after a '\r' arrived: `crlf` when it is '\n' (consumed by the caller).
  bool Settle(LogStream stream, Partial& p, bool crlf, const LogCallback& on_line);
  bool Emit(const LogCallback& on_line, const LogLine& line);

  Options options_;
  FrameDemuxer demuxer_;
  Partial partial_[2];
  std::string frame_timestamp_;  // the current frame's prefix, without the space
  bool in_prefix_ = false;
  std::string system_error_;  // a system-error frame's text, collected to its end
  bool stopped_ = false;
  bool failed_ = false;
  Status error_;
};

}  // namespace labelrun::runtime
