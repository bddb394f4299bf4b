#include "runtime/tar_cap.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include "labelrun/core/units.hpp"
#include "runtime/tar_stream.hpp"

namespace labelrun::runtime::tar {
namespace {

constexpr uint64_t kMaxMetaBytes = 1 << 20;  // a pax or long-name payload

std::optional<uint64_t> Size(const char* f) {
  const auto* u = reinterpret_cast<const unsigned char*>(f);
  uint64_t v = 0;
  if (u[0] & 0x80) {  // GNU base-256
    if (u[0] == 0xff) return std::nullopt;
    v = u[0] & 0x7f;
    for (size_t i = 1; i < 12; ++i) {
      if (v > (UINT64_MAX >> 8)) return std::nullopt;
      v = (v << 8) | u[i];
    }
    return v;
  }
  size_t i = 0;
  while (i < 12 && (f[i] == ' ' || f[i] == '\0')) ++i;
  for (; i < 12 && f[i] >= '0' && f[i] <= '7'; ++i) {
    if (v > (UINT64_MAX >> 3)) return std::nullopt;
    v = (v << 3) | static_cast<uint64_t>(f[i] - '0');
  }
  return v;
}

uint64_t Padded(uint64_t size) { return size + (kBlock - size % kBlock) % kBlock; }

std::string Name(const char* h) {
  std::string prefix(h + 345, strnlen(h + 345, 155));
  std::string name(h, strnlen(h, 100));
  return prefix.empty() ? name : prefix + "/" + name;
}

}  // namespace

bool CappedTarSink::Emit(std::string_view data) {
  if (data.empty()) return true;
  if (std::fwrite(data.data(), 1, data.size(), out_) != data.size()) {
    failed_ = true;
    return false;
  }
  written_ += data.size();
  return true;
}

bool CappedTarSink::OnHeader() {
  const char* h = header_.data();
  if (std::all_of(header_.begin(), header_.end(), [](char c) { return c == '\0'; })) {
    ended_ = true;  // the end blocks: Finish writes its own
    return true;
  }
  const std::optional<uint64_t> size = Size(h + 124);
  const char type = h[156];
  const bool meta = type == 'x' || type == 'g' || type == 'L' || type == 'K';
  if (!size || (meta && *size > kMaxMetaBytes)) {
    failed_ = true;
    return false;
  }
  // Only files carry data; a hard link's size field is ignored by readers.
  const uint64_t data = (meta || type == '0' || type == '\0' || type == '7') ? Padded(*size) : 0;
  if (meta) {
    pending_ += header_;
    data_pending_ = true;
    data_left_ = data;
    return true;
  }
  // Room for this entry, whatever went before it, and the two end blocks.
  const uint64_t need = pending_.size() + kBlock + data + 2 * kBlock;
  if (written_ + need > max_bytes_) {
    truncated_ = true;
    truncation_ = "outputs over job.outputs_max_bytes (" + FormatBytes(max_bytes_) + "): '" +
                  Name(h) + "' (" + FormatBytes(*size) + ") and everything after it left out; " +
                  std::to_string(files_) + " entr" + (files_ == 1 ? "y" : "ies") + " (" +
                  FormatBytes(written_) + ") kept";
    return false;
  }
  if (!Emit(pending_) || !Emit(header_)) return false;
  pending_.clear();
  ++files_;
  data_pending_ = false;
  data_left_ = data;
  return true;
}

bool CappedTarSink::Write(std::string_view data) {
  if (ended_) return true;  // the rest of the end blocks, or padding after them
  while (!data.empty()) {
    if (failed_ || truncated_) return false;
    if (data_left_ > 0) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(data_left_, data.size()));
      if (data_pending_) {
        pending_.append(data.data(), n);
      } else if (!Emit(data.substr(0, n))) {
        return false;
      }
      data_left_ -= n;
      data.remove_prefix(n);
      continue;
    }
    const size_t n = std::min(kBlock - header_.size(), data.size());
    header_.append(data.data(), n);
    data.remove_prefix(n);
    if (header_.size() == kBlock) {
      const bool more = OnHeader();
      header_.clear();
      if (!more) return false;
      if (ended_) return true;
    }
  }
  return !failed_;
}

Status CappedTarSink::Finish() {
  if (failed_) return Unexpected(ErrorCode::kInternal, "the outputs archive could not be written");
  if (!truncated_ && !ended_ && (data_left_ > 0 || !header_.empty())) {
    return Unexpected(ErrorCode::kInvalidArgument, "the outputs archive ends inside an entry");
  }
  const std::string end(2 * kBlock, '\0');
  if (!Emit(end)) {
    return Unexpected(ErrorCode::kInternal, "the outputs archive could not be written");
  }
  return Ok();
}

}  // namespace labelrun::runtime::tar
