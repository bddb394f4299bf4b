// Gzip streams over zlib: inflate with an output cap, deflate into memory.

#include <algorithm>
#include <climits>
#include <cstring>

#include "runtime/tar_stream.hpp"

namespace labelrun::runtime::tar {
namespace {

// zlib counts in uInt; feed it at most this much at once.
constexpr size_t kMaxChunk = size_t{1} << 30;

Error TooLarge(uint64_t max_bytes) {
  return Error(ErrorCode::kResourceExhausted,
               "archive exceeds the limit of " + std::to_string(max_bytes) + " bytes uncompressed");
}

bool AllZero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '\0'; });
}

}  // namespace

Result<size_t> PlainReader::Read(char* buf, size_t n) {
  const size_t got = std::min(n, rest_.size());
  std::memcpy(buf, rest_.data(), got);
  rest_.remove_prefix(got);
  return got;
}

GzipReader::GzipReader(std::string_view compressed, uint64_t max_bytes)
    : rest_(compressed), max_bytes_(max_bytes) {
  ok_ = inflateInit2(&zs_, 15 + 16) == Z_OK;  // 16: gzip wrapper only
}

GzipReader::~GzipReader() {
  if (ok_) inflateEnd(&zs_);
}

Result<size_t> GzipReader::Read(char* buf, size_t n) {
  if (!ok_) return Error(ErrorCode::kInternal, "zlib: cannot start inflating");
  size_t got = 0;
  while (got < n && !done_) {
    if (zs_.avail_in == 0 && !rest_.empty()) {
      size_t chunk = std::min(rest_.size(), kMaxChunk);
      zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(rest_.data()));
      zs_.avail_in = static_cast<uInt>(chunk);
      rest_.remove_prefix(chunk);
    }
    // One byte more than the cap allows, so that going past it shows.
    uint64_t room = max_bytes_ - total_ + 1;
    size_t want = static_cast<size_t>(std::min<uint64_t>({n - got, room, kMaxChunk}));
    zs_.next_out = reinterpret_cast<Bytef*>(buf + got);
    zs_.avail_out = static_cast<uInt>(want);
    int rc = inflate(&zs_, Z_NO_FLUSH);
    size_t produced = want - zs_.avail_out;
    got += produced;
    total_ += produced;
    if (total_ > max_bytes_) return TooLarge(max_bytes_);
    if (rc == Z_STREAM_END) {
      std::string_view pending(reinterpret_cast<const char*>(zs_.next_in), zs_.avail_in);
      if (AllZero(pending) && AllZero(rest_)) {
        done_ = true;  // trailing zeros (tape padding) end the stream too
      } else {
        inflateReset(&zs_);  // another gzip member follows
      }
    } else if (rc == Z_BUF_ERROR || (rc == Z_OK && produced == 0 && zs_.avail_in == 0)) {
      if (zs_.avail_in == 0 && rest_.empty()) {
        return Error(ErrorCode::kInvalidArgument, "gzip stream ends early (truncated archive)");
      }
    } else if (rc != Z_OK) {
      std::string why = zs_.msg != nullptr ? zs_.msg : "error " + std::to_string(rc);
      return Error(ErrorCode::kInvalidArgument, "not a valid gzip stream: " + why);
    }
  }
  return got;
}

GzipWriter::GzipWriter(uint64_t max_bytes) : max_bytes_(max_bytes) {
  ok_ =
      deflateInit2(&zs_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
}

GzipWriter::~GzipWriter() {
  if (ok_) deflateEnd(&zs_);
}

Status GzipWriter::Write(std::string_view data) {
  total_ += data.size();
  if (total_ > max_bytes_) return TooLarge(max_bytes_);
  while (!data.empty()) {
    size_t chunk = std::min(data.size(), kMaxChunk);
    if (Status s = Deflate(data.substr(0, chunk), Z_NO_FLUSH); !s) return s;
    data.remove_prefix(chunk);
  }
  return Ok();
}

Result<std::string> GzipWriter::Finish() {
  if (Status s = Deflate({}, Z_FINISH); !s) return s.error();
  return std::move(out_);
}

Status GzipWriter::Deflate(std::string_view data, int flush) {
  if (!ok_) return Error(ErrorCode::kInternal, "zlib: cannot start deflating");
  zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs_.avail_in = static_cast<uInt>(data.size());
  constexpr size_t kStep = 64 << 10;
  while (true) {
    size_t old = out_.size();
    out_.resize(old + kStep);
    zs_.next_out = reinterpret_cast<Bytef*>(out_.data() + old);
    zs_.avail_out = static_cast<uInt>(kStep);
    int rc = deflate(&zs_, flush);
    out_.resize(old + kStep - zs_.avail_out);
    if (rc == Z_STREAM_ERROR) return Error(ErrorCode::kInternal, "zlib: deflate failed");
    if (flush == Z_FINISH ? rc == Z_STREAM_END : zs_.avail_out != 0) return Ok();
  }
}

}  // namespace labelrun::runtime::tar
