#include "runtime/tar_cap.hpp"

#include <unistd.h>

#include <algorithm>

#include "labelrun/core/units.hpp"
#include "runtime/tar_io.hpp"

namespace labelrun::runtime::tar {
namespace {

constexpr uint64_t kEndBlocks = 1024;
// Zero bytes past the cap that may still be the archive's end: its two end
// blocks and the padding of a 10 KiB tar record.
constexpr uint64_t kMaxDroppedZeros = 10240 + kEndBlocks;

bool AllZero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '\0'; });
}

Error WriteFailed() {
  return Error(ErrorCode::kInternal, "the outputs archive could not be written");
}

}  // namespace

CappedTarSink::CappedTarSink(std::FILE* out, uint64_t max_bytes)
    : out_(out),
      max_bytes_(max_bytes),
      room_(max_bytes > kEndBlocks ? max_bytes - kEndBlocks : 0) {}

bool CappedTarSink::Write(std::string_view data) {
  if (failed_ || stopped_) return false;
  const size_t fit = static_cast<size_t>(std::min<uint64_t>(data.size(), room_ - taken_));
  if (fit > 0 && std::fwrite(data.data(), 1, fit, out_) != fit) {
    failed_ = true;
    return false;
  }
  taken_ += fit;
  data.remove_prefix(fit);
  if (data.empty()) return true;
  dropped_ += data.size();
  if (!AllZero(data) || dropped_ > kMaxDroppedZeros) {
    stopped_ = true;  // Finish says which entry was cut, if any
    return false;
  }
  return true;
}

Status CappedTarSink::Finish() {
  if (failed_ || std::fflush(out_) != 0) return WriteFailed();
  const int fd = fileno(out_);
  if (lseek(fd, 0, SEEK_SET) != 0) return WriteFailed();
  Result<std::unique_ptr<Reader>> reader = Reader::FromDescriptor(fd, UINT64_MAX);
  if (!reader) return reader.error();
  // The whole entries: each one's data must lie within what was taken.
  uint64_t cut = 0, kept = 0;
  uint64_t next_header = 0;  // where the entry after the last whole one starts
  bool whole = true;
  Entry e;
  std::string first_left_out;
  while (true) {
    Result<bool> more = (*reader)->Next(&e);
    // A header cut short by the cap is no entry: it has no offset of its own.
    cut = more ? (*reader)->header_offset() : next_header;
    if (!more) {
      whole = false;
      break;
    }
    if (!*more) break;
    if (Status s = (*reader)->SkipData(); !s || (*reader)->position() > taken_) {
      whole = false;
      first_left_out = "'" + e.path + "' (" + FormatBytes(e.size) + ")";
      break;
    }
    next_header = (*reader)->position();
    ++kept;
  }
  reader->reset();
  if (!whole && dropped_ == 0) {
    return Unexpected(ErrorCode::kInvalidArgument, "the outputs archive ends inside an entry");
  }
  // Stopped after the archive's end blocks: only what followed them was lost.
  if (!whole || (stopped_ && cut == taken_)) {
    truncated_ = true;
    if (first_left_out.empty()) first_left_out = "the entries from byte " + std::to_string(cut);
    truncation_ = "outputs over job.outputs_max_bytes (" + FormatBytes(max_bytes_) +
                  "): " + first_left_out + " and everything after it left out; " +
                  std::to_string(kept) + " entr" + (kept == 1 ? "y" : "ies") + " (" +
                  FormatBytes(cut) + ") kept";
  }
  const std::string end(kEndBlocks, '\0');
  if (ftruncate(fd, static_cast<off_t>(cut)) != 0 ||
      std::fseek(out_, static_cast<long>(cut), SEEK_SET) != 0 ||
      std::fwrite(end.data(), 1, end.size(), out_) != end.size() || std::fflush(out_) != 0) {
    return WriteFailed();
  }
  written_ = cut + kEndBlocks;
  return Ok();
}

}  // namespace labelrun::runtime::tar
