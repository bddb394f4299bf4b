#pragma once
// Tar entries through libarchive, private to runtime/: reading gzip or plain tar
// from memory or a file, writing a gzip tar into memory or a plain tar to a
// sink. libarchive knows the formats (ustar, pax, GNU long names, base-256
// sizes, checksums); what an entry may be (paths, links, sizes) is checked by
// the callers (archive.cpp, tar_cap.cpp, slurm_outputs.cpp).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "labelrun/core/result.hpp"

struct archive;

namespace labelrun::runtime::tar {

enum class Type {
  kFile,
  kHardLink,
  kSymlink,
  kDirectory,
  // Read, and written for tests only: archive.cpp refuses and never writes them.
  kCharDevice,
  kBlockDevice,
  kFifo,
  kSocket,
  kSparseFile,  // a GNU or pax sparse file (read only)
};

// "a character device", "a fifo", ... for messages.
std::string_view Describe(Type type);

struct Entry {
  std::string path;  // as stored; directories end with '/' when written here
  Type type = Type::kFile;
  uint32_t mode = 0644;
  int64_t mtime = 0;  // Unix seconds
  uint64_t size = 0;  // data bytes (files only)
  std::string link;   // symlink or hard link target
};

enum class Compression { kNone, kGzip };

// Reads entries one after the other; an entry's data may be read or left (it
// is skipped by the next Next). Fails with kResourceExhausted once more than
// `max_bytes` of uncompressed tar have been read, kInvalidArgument on an
// archive libarchive cannot read (not gzip when kGzip is asked, not tar, a bad
// checksum, truncated).
class Reader {
 public:
  // REQUIRES: `data` outlives the reader.
  static Result<std::unique_ptr<Reader>> FromMemory(std::string_view data, Compression compression,
                                                    uint64_t max_bytes);
  // kNotFound when the file does not exist, kUnavailable when it cannot be
  // read. Skipped data is seeked over, not read, on a plain tar.
  static Result<std::unique_ptr<Reader>> FromFile(const std::filesystem::path& path,
                                                  Compression compression, uint64_t max_bytes);
  // A plain tar from an open descriptor, from its current offset; the
  // descriptor is not closed.
  static Result<std::unique_ptr<Reader>> FromDescriptor(int fd, uint64_t max_bytes);
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // The next entry, or false at the end of the archive (end blocks, or the
  // end of the input at an entry boundary).
  Result<bool> Next(Entry* entry);
  // Up to `n` bytes of the current entry's data; 0 when it is all read.
  Result<size_t> ReadData(char* buf, size_t n);
  // Skips the rest of the current entry's data and its padding.
  Status SkipData();

  // Offsets in the uncompressed tar: where the current entry's first header
  // (pax or GNU long-name headers included) starts, where its data starts, and
  // how far reading has got.
  uint64_t header_offset() const { return header_offset_; }
  uint64_t data_offset() const { return data_offset_; }
  uint64_t position() const;

 private:
  Reader(archive* a, Compression compression, uint64_t max_bytes);
  Status Open(int rc);
  Error Failure(const std::string& at) const;
  Status CheckLimit() const;

  archive* a_;
  uint64_t max_bytes_;
  int64_t index_ = 0;  // entries seen, for messages
  uint64_t header_offset_ = 0;
  uint64_t data_offset_ = 0;
};

// Writes a gzip tar into memory: POSIX ustar, with a pax extended header for
// a path or link target that does not fit; every entry owned by 0:0 (root).
// Fails with kResourceExhausted past `max_bytes` of uncompressed tar. The same
// entries give the same bytes (no timestamp in the gzip header).
class Writer {
 public:
  explicit Writer(uint64_t max_bytes);
  // A plain tar (no gzip) handed to `sink` in blocks as it is made, nothing
  // kept in memory; Finish then returns "". When `sink` returns false, the
  // write in progress and every one after fail (kInternal).
  explicit Writer(std::function<bool(std::string_view)> sink);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Writes the header(s) of `entry`; then exactly entry.size bytes of data
  // follow through WriteData (files only), and EndEntry ends the entry.
  Status BeginEntry(const Entry& entry);
  Status WriteData(std::string_view data);
  Status EndEntry();
  // Ends the archive (its end blocks) and hands over the gzip bytes.
  Result<std::string> Finish();

 private:
  Status Check(int rc, const std::string& what);

  archive* a_;
  uint64_t max_bytes_;
  std::string out_;
  std::function<bool(std::string_view)> sink_;
  Status opened_ = Ok();
  uint64_t expected_ = 0;
  uint64_t written_ = 0;
};

}  // namespace labelrun::runtime::tar
