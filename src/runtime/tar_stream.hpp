#pragma once
// Streaming gzip and tar, private to archive.cpp: a gzip reader and writer over
// zlib, and tar entry reading and writing on top of them (512-byte blocks,
// octal fields, header checksums, pax and GNU long names).

#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "labelrun/core/result.hpp"

namespace labelrun::runtime::tar {

inline constexpr size_t kBlock = 512;

// Where a TarReader reads its bytes from.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Fills `buf` with exactly `n` bytes, or fewer only at the end of the stream
  // (the count says how many).
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
  // Moves past up to `n` bytes; how many there were (fewer only at the end).
  // Reads and drops them unless the source can seek.
  virtual Result<uint64_t> Skip(uint64_t n);
};

// A tar file on disk, read through its descriptor: skipping entries' data
// seeks, so that listing a large archive reads only its headers.
class FileReader final : public ByteSource {
 public:
  // kNotFound when the file does not exist, kUnavailable when it cannot be read.
  static Result<std::unique_ptr<FileReader>> Open(const std::filesystem::path& path);
  ~FileReader() override;
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  Result<size_t> Read(char* buf, size_t n) override;
  Result<uint64_t> Skip(uint64_t n) override;
  // Bytes from the start of the file to the next byte read.
  uint64_t position() const { return position_; }
  uint64_t size() const { return size_; }

 private:
  FileReader(int fd, uint64_t size) : fd_(fd), size_(size) {}
  int fd_;
  uint64_t size_;
  uint64_t position_ = 0;
};

// Uncompressed bytes in memory (a plain tar, as Docker's archive endpoint sends it).
class PlainReader final : public ByteSource {
 public:
  explicit PlainReader(std::string_view data) : rest_(data) {}
  Result<size_t> Read(char* buf, size_t n) override;

 private:
  std::string_view rest_;
};

// Inflates gzip data (several concatenated members allowed), at most
// `max_bytes` of output in total.
class GzipReader final : public ByteSource {
 public:
  GzipReader(std::string_view compressed, uint64_t max_bytes);
  ~GzipReader() override;
  GzipReader(const GzipReader&) = delete;
  GzipReader& operator=(const GzipReader&) = delete;

  Result<size_t> Read(char* buf, size_t n) override;

 private:
  z_stream zs_{};
  bool ok_ = false;
  bool done_ = false;
  std::string_view rest_;  // input not yet handed to zlib
  uint64_t max_bytes_;
  uint64_t total_ = 0;
};

// Deflates into a gzip member held in memory; fails past `max_bytes` of input.
class GzipWriter {
 public:
  explicit GzipWriter(uint64_t max_bytes);
  ~GzipWriter();
  GzipWriter(const GzipWriter&) = delete;
  GzipWriter& operator=(const GzipWriter&) = delete;

  Status Write(std::string_view data);
  // Ends the stream and hands over the compressed bytes.
  Result<std::string> Finish();

 private:
  Status Deflate(std::string_view data, int flush);

  z_stream zs_{};
  bool ok_ = false;
  uint64_t max_bytes_;
  uint64_t total_ = 0;
  std::string out_;
};

enum class Type : char {
  kFile = '0',
  kHardLink = '1',
  kSymlink = '2',
  kDirectory = '5',
};

struct Entry {
  std::string path;  // as stored; directories end with '/' when written here
  Type type = Type::kFile;
  uint32_t mode = 0644;
  int64_t mtime = 0;  // Unix seconds
  uint64_t size = 0;  // data bytes (files only)
  std::string link;   // symlink or hard link target
};

// Reads entries, folding pax extended headers and GNU long names into the
// entry they describe and skipping pax global headers.
class TarReader {
 public:
  explicit TarReader(ByteSource& in) : in_(in) {}

  // The next entry, or false at the end of the archive. Skips what is left of
  // the previous entry's data.
  Result<bool> Next(Entry* entry);
  // Up to `n` bytes of the current entry's data; 0 when it is all read.
  Result<size_t> ReadData(char* buf, size_t n);

 private:
  Status Skip(uint64_t bytes);
  Result<std::string> ReadMeta(uint64_t size);

  ByteSource& in_;
  uint64_t data_left_ = 0;
  uint64_t padding_ = 0;
  int64_t index_ = 0;  // entries seen, for messages
};

// Writes entries into a GzipWriter.
class TarWriter {
 public:
  explicit TarWriter(GzipWriter& out) : out_(out) {}

  // Writes the header(s) of `entry`; then exactly entry.size bytes of data
  // follow through WriteData, and EndEntry pads the last block.
  Status BeginEntry(const Entry& entry);
  Status WriteData(std::string_view data);
  Status EndEntry();
  // The two zero blocks that end an archive.
  Status Finish();

 private:
  Status WriteHeader(std::string_view prefix, std::string_view name, char type, const Entry& entry,
                     uint64_t size, std::string_view link);

  GzipWriter& out_;
  uint64_t expected_ = 0;
  uint64_t written_ = 0;
};

}  // namespace labelrun::runtime::tar
