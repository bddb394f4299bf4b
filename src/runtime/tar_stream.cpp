// Tar entries over gzip streams: header fields, checksums, pax and GNU long names.

#include "runtime/tar_stream.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>

namespace labelrun::runtime::tar {
namespace {

// Offsets and widths of the ustar header fields.
constexpr size_t kName = 0, kNameLen = 100;
constexpr size_t kMode = 100;
constexpr size_t kUid = 108;
constexpr size_t kGid = 116;
constexpr size_t kSize = 124;
constexpr size_t kMtime = 136;
constexpr size_t kChecksum = 148;
constexpr size_t kTypeflag = 156;
constexpr size_t kLinkname = 157, kLinknameLen = 100;
constexpr size_t kMagic = 257;
constexpr size_t kUname = 265;
constexpr size_t kGname = 297;
constexpr size_t kPrefix = 345, kPrefixLen = 155;

constexpr uint64_t kMaxOctal11 = 077777777777ULL;  // what 11 octal digits hold
// Pax and GNU long-name payloads are metadata; anything bigger is not a real archive.
constexpr uint64_t kMaxMeta = 1 << 20;

Error Invalid(std::string message) { return Error(ErrorCode::kInvalidArgument, message); }

uint64_t Padding(uint64_t size) { return (kBlock - size % kBlock) % kBlock; }

// A numeric field: octal digits (leading spaces or NULs allowed, ended by a
// space or NUL), or GNU base-256 when the high bit of the first byte is set.
std::optional<uint64_t> ParseNumber(const char* field, size_t len) {
  const auto* f = reinterpret_cast<const unsigned char*>(field);
  if (f[0] & 0x80) {
    if (f[0] == 0xff) return std::nullopt;  // negative
    uint64_t v = f[0] & 0x7f;
    for (size_t i = 1; i < len; ++i) {
      if (v > (UINT64_MAX >> 8)) return std::nullopt;
      v = (v << 8) | f[i];
    }
    return v;
  }
  size_t i = 0;
  while (i < len && (f[i] == ' ' || f[i] == '\0')) ++i;
  uint64_t v = 0;
  for (; i < len && f[i] >= '0' && f[i] <= '7'; ++i) {
    if (v > (UINT64_MAX >> 3)) return std::nullopt;
    v = (v << 3) | (f[i] - '0');
  }
  if (i < len && f[i] != ' ' && f[i] != '\0') return std::nullopt;
  return v;
}

std::string Field(const char* h, size_t offset, size_t len) {
  return std::string(h + offset, strnlen(h + offset, len));
}

bool ChecksumMatches(const char* h) {
  std::optional<uint64_t> stored = ParseNumber(h + kChecksum, 8);
  if (!stored) return false;
  uint64_t unsigned_sum = 0;
  int64_t signed_sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    bool in_field = i >= kChecksum && i < kChecksum + 8;
    unsigned char u = in_field ? ' ' : static_cast<unsigned char>(h[i]);
    signed char s = in_field ? ' ' : static_cast<signed char>(h[i]);
    unsigned_sum += u;
    signed_sum += s;
  }
  // Some old writers summed signed chars.
  return *stored == unsigned_sum || static_cast<int64_t>(*stored) == signed_sum;
}

struct PaxRecords {
  std::optional<std::string> path;
  std::optional<std::string> linkpath;
  std::optional<uint64_t> size;
};

// "<len> <key>=<value>\n" records, <len> counting the whole record.
Status ParsePax(std::string_view data, PaxRecords* out) {
  while (!data.empty()) {
    size_t space = data.find(' ');
    if (space == std::string_view::npos || space == 0 || space > 20) {
      return Invalid("malformed pax extended header");
    }
    uint64_t len = 0;
    for (char c : data.substr(0, space)) {
      if (c < '0' || c > '9') return Invalid("malformed pax extended header");
      len = len * 10 + static_cast<uint64_t>(c - '0');
    }
    if (len <= space + 1 || len > data.size() || data[len - 1] != '\n') {
      return Invalid("malformed pax extended header");
    }
    std::string_view record = data.substr(space + 1, len - space - 2);
    data.remove_prefix(len);
    size_t eq = record.find('=');
    if (eq == std::string_view::npos) return Invalid("malformed pax extended header");
    std::string_view key = record.substr(0, eq);
    std::string_view value = record.substr(eq + 1);
    if (key == "path") {
      out->path = std::string(value);
    } else if (key == "linkpath") {
      out->linkpath = std::string(value);
    } else if (key == "size") {
      uint64_t v = 0;
      if (value.empty() || value.size() > 19) return Invalid("malformed pax size record");
      for (char c : value) {
        if (c < '0' || c > '9') return Invalid("malformed pax size record");
        v = v * 10 + static_cast<uint64_t>(c - '0');
      }
      out->size = v;
    }
  }
  return Ok();
}

std::string PaxRecord(std::string_view key, std::string_view value) {
  size_t base = key.size() + value.size() + 3;  // ' ', '=', '\n'
  size_t len = base + 1;
  while (len != base + std::to_string(len).size()) len = base + std::to_string(len).size();
  return std::to_string(len) + " " + std::string(key) + "=" + std::string(value) + "\n";
}

void PutOctal(char* h, size_t offset, size_t width, uint64_t value) {
  // width - 1 digits and a NUL.
  std::snprintf(h + offset, width, "%0*llo", static_cast<int>(width - 1),
                static_cast<unsigned long long>(value));
}

void PutString(char* h, size_t offset, size_t width, std::string_view s) {
  if (!s.empty()) std::memcpy(h + offset, s.data(), std::min(width, s.size()));
}

// Splits a long name into ustar's prefix and name fields, or returns false.
bool SplitUstarName(std::string_view path, std::string_view* prefix, std::string_view* name) {
  if (path.size() <= kNameLen) {
    *prefix = {};
    *name = path;
    return true;
  }
  // The last character is never the split point: a directory keeps its '/'.
  for (size_t i = 0; i + 1 < path.size() && i <= kPrefixLen; ++i) {
    if (path[i] == '/' && path.size() - i - 1 <= kNameLen) {
      *prefix = path.substr(0, i);
      *name = path.substr(i + 1);
      return true;
    }
  }
  return false;
}

}  // namespace

Result<bool> TarReader::Next(Entry* entry) {
  if (Status s = Skip(data_left_ + padding_); !s) return s.error();
  data_left_ = padding_ = 0;
  std::optional<std::string> long_name, long_link;
  PaxRecords pax;
  char h[kBlock];
  while (true) {
    Result<size_t> got = in_.Read(h, kBlock);
    if (!got) return got.error();
    // The end: two zero blocks, or (leniently) one, or none at all.
    if (*got == 0) return false;
    if (*got < kBlock) return Invalid("tar archive ends inside a header (truncated archive)");
    if (std::all_of(h, h + kBlock, [](char c) { return c == '\0'; })) return false;
    std::string at = "tar entry " + std::to_string(index_ + 1);
    if (!ChecksumMatches(h)) return Invalid(at + ": bad header checksum (not a tar archive?)");
    std::optional<uint64_t> size = ParseNumber(h + kSize, 12);
    if (!size) return Invalid(at + ": malformed size field");
    char type = h[kTypeflag];
    if (type == 'g') {  // pax global header: the commit id comment, nothing for entries
      if (Status s = Skip(*size + Padding(*size)); !s) return s.error();
      continue;
    }
    if (type == 'x' || type == 'L' || type == 'K') {
      Result<std::string> meta = ReadMeta(*size);
      if (!meta) return meta.error();
      if (type == 'x') {
        if (Status s = ParsePax(*meta, &pax); !s) return Invalid(at + ": " + s.error().message());
      } else {
        std::string text = std::move(*meta);
        while (!text.empty() && text.back() == '\0') text.pop_back();
        (type == 'L' ? long_name : long_link) = std::move(text);
      }
      continue;
    }
    ++index_;
    Entry e;
    if (long_name) {
      e.path = *long_name;
    } else if (pax.path) {
      e.path = *pax.path;
    } else {
      e.path = Field(h, kName, kNameLen);
      std::string prefix = Field(h, kPrefix, kPrefixLen);
      // Only POSIX ustar has a prefix; GNU keeps other data in those bytes.
      if (std::memcmp(h + kMagic, "ustar\0", 6) == 0 && !prefix.empty()) {
        e.path = prefix + "/" + e.path;
      }
    }
    e.link = long_link      ? *long_link
             : pax.linkpath ? *pax.linkpath
                            : Field(h, kLinkname, kLinknameLen);
    e.mode = static_cast<uint32_t>(ParseNumber(h + kMode, 8).value_or(0) & 07777);
    e.mtime = static_cast<int64_t>(std::min(ParseNumber(h + kMtime, 12).value_or(0), kMaxOctal11));
    uint64_t data_size = pax.size.value_or(*size);
    switch (type) {
      case '0':
      case '7':  // contiguous file: a regular file everywhere but one old Unix
        e.type = Type::kFile;
        break;
      case '\0':  // pre-POSIX: a trailing slash meant a directory
        e.type = !e.path.empty() && e.path.back() == '/' ? Type::kDirectory : Type::kFile;
        break;
      case '1':
        e.type = Type::kHardLink;
        break;
      case '2':
        e.type = Type::kSymlink;
        break;
      case '5':
        e.type = Type::kDirectory;
        break;
      default:
        return Invalid("tar entry '" + e.path + "' has type '" + std::string(1, type) +
                       "'; only files, directories, symlinks and hard links are allowed");
    }
    e.size = e.type == Type::kFile ? data_size : 0;
    data_left_ = data_size;
    padding_ = Padding(data_size);
    *entry = std::move(e);
    return true;
  }
}

Result<size_t> TarReader::ReadData(char* buf, size_t n) {
  size_t want = static_cast<size_t>(std::min<uint64_t>(n, data_left_));
  if (want == 0) return size_t{0};
  Result<size_t> got = in_.Read(buf, want);
  if (!got) return got.error();
  if (*got < want) return Invalid("tar archive ends inside a file (truncated archive)");
  data_left_ -= want;
  return want;
}

Status TarReader::Skip(uint64_t bytes) {
  Result<uint64_t> skipped = in_.Skip(bytes);
  if (!skipped) return skipped.error();
  if (*skipped < bytes) return Invalid("tar archive ends inside an entry (truncated archive)");
  return Ok();
}

Result<std::string> TarReader::ReadMeta(uint64_t size) {
  if (size > kMaxMeta) return Invalid("tar extended header of " + std::to_string(size) + " bytes");
  std::string data(static_cast<size_t>(size), '\0');
  Result<size_t> got = in_.Read(data.data(), data.size());
  if (!got) return got.error();
  if (*got < data.size()) return Invalid("tar archive ends inside a header (truncated archive)");
  if (Status s = Skip(Padding(size)); !s) return s.error();
  return data;
}

Status TarWriter::BeginEntry(const Entry& entry) {
  char type = static_cast<char>(entry.type);
  uint64_t size = entry.type == Type::kFile ? entry.size : 0;
  std::string_view prefix, name;
  bool fits = SplitUstarName(entry.path, &prefix, &name);
  std::string records;
  if (!fits) records += PaxRecord("path", entry.path);
  if (entry.link.size() > kLinknameLen) records += PaxRecord("linkpath", entry.link);
  if (size > kMaxOctal11) records += PaxRecord("size", std::to_string(size));
  if (!records.empty()) {
    std::string base = entry.path.substr(0, std::min<size_t>(entry.path.size(), 80));
    std::string pax_name = "PaxHeader/" + base;
    if (Status s = WriteHeader("", pax_name, 'x', entry, records.size(), ""); !s) return s;
    records.append(Padding(records.size()), '\0');
    if (Status s = out_.Write(records); !s) return s;
  }
  if (!fits) {
    prefix = {};
    name = std::string_view(entry.path).substr(0, kNameLen);
  }
  expected_ = size;
  written_ = 0;
  return WriteHeader(prefix, name, type, entry, size, entry.link);
}

Status TarWriter::WriteHeader(std::string_view prefix, std::string_view name, char type,
                              const Entry& entry, uint64_t size, std::string_view link) {
  char h[kBlock] = {};
  PutString(h, kPrefix, kPrefixLen, prefix);
  PutString(h, kName, kNameLen, name);
  PutOctal(h, kMode, 8, entry.mode & 07777);
  PutOctal(h, kUid, 8, 0);
  PutOctal(h, kGid, 8, 0);
  PutOctal(h, kSize, 12, std::min(size, kMaxOctal11));
  PutOctal(h, kMtime, 12, static_cast<uint64_t>(std::clamp<int64_t>(entry.mtime, 0, kMaxOctal11)));
  h[kTypeflag] = type;
  PutString(h, kLinkname, kLinknameLen, link);
  std::memcpy(h + kMagic,
              "ustar\0"
              "00",
              8);
  PutString(h, kUname, 32, "root");
  PutString(h, kGname, 32, "root");
  std::memset(h + kChecksum, ' ', 8);
  uint64_t sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  std::snprintf(h + kChecksum, 8, "%06llo", static_cast<unsigned long long>(sum));
  h[kChecksum + 7] = ' ';
  return out_.Write(std::string_view(h, kBlock));
}

Status TarWriter::WriteData(std::string_view data) {
  written_ += data.size();
  if (written_ > expected_) return Error(ErrorCode::kInternal, "tar entry data past its size");
  return out_.Write(data);
}

Status TarWriter::EndEntry() {
  if (written_ != expected_) return Error(ErrorCode::kInternal, "tar entry data short of its size");
  static const char kZeros[kBlock] = {};
  return out_.Write(std::string_view(kZeros, Padding(expected_)));
}

Status TarWriter::Finish() {
  static const char kZeros[2 * kBlock] = {};
  return out_.Write(std::string_view(kZeros, sizeof kZeros));
}

}  // namespace labelrun::runtime::tar
