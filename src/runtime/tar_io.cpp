// Tar entries through libarchive: readers over memory and files, a gzip tar
// writer into memory.

#include "runtime/tar_io.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace labelrun::runtime::tar {
namespace {

constexpr size_t kFileBlock = 64 << 10;

Error Invalid(std::string message) { return Error(ErrorCode::kInvalidArgument, message); }

Error TooLarge(uint64_t max_bytes) {
  return Error(ErrorCode::kResourceExhausted,
               "archive exceeds the limit of " + std::to_string(max_bytes) + " bytes uncompressed");
}

std::string Message(archive* a) {
  const char* m = archive_error_string(a);
  return m != nullptr ? m : "unknown libarchive error";
}

// A path or link as stored: the bytes of a ustar field, or the UTF-8 of a pax
// record when the locale cannot hold it.
std::string Text(const char* mbs, const char* utf8) {
  if (mbs != nullptr) return mbs;
  if (utf8 != nullptr) return utf8;
  return "";
}

bool IsGzip(std::string_view head) {
  return head.size() >= 2 && head[0] == '\x1f' && head[1] == '\x8b';
}

Type TypeOf(archive_entry* e) {
  if (archive_entry_hardlink(e) != nullptr) return Type::kHardLink;
  switch (archive_entry_filetype(e)) {
    case AE_IFDIR:
      return Type::kDirectory;
    case AE_IFLNK:
      return Type::kSymlink;
    case AE_IFCHR:
      return Type::kCharDevice;
    case AE_IFBLK:
      return Type::kBlockDevice;
    case AE_IFIFO:
      return Type::kFifo;
    case AE_IFSOCK:
      return Type::kSocket;
    default:
      return archive_entry_sparse_count(e) > 0 ? Type::kSparseFile : Type::kFile;
  }
}

}  // namespace

std::string_view Describe(Type type) {
  switch (type) {
    case Type::kFile:
      return "a file";
    case Type::kHardLink:
      return "a hard link";
    case Type::kSymlink:
      return "a symlink";
    case Type::kDirectory:
      return "a directory";
    case Type::kCharDevice:
      return "a character device";
    case Type::kBlockDevice:
      return "a block device";
    case Type::kFifo:
      return "a fifo";
    case Type::kSocket:
      return "a socket";
    case Type::kSparseFile:
      return "a sparse file";
  }
  return "an unknown entry";
}

Result<std::unique_ptr<Reader>> Reader::FromMemory(std::string_view data, Compression compression,
                                                   uint64_t max_bytes) {
  if (compression == Compression::kGzip && !IsGzip(data)) return Invalid("not a gzip stream");
  std::unique_ptr<Reader> r(new Reader(archive_read_new(), compression, max_bytes));
  if (Status s = r->Open(archive_read_open_memory(r->a_, data.data(), data.size())); !s) {
    return s.error();
  }
  return r;
}

Result<std::unique_ptr<Reader>> Reader::FromFile(const std::filesystem::path& path,
                                                 Compression compression, uint64_t max_bytes) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return Unexpected(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kUnavailable,
                      "cannot read " + path.string() + ": " + std::strerror(err));
  }
  struct stat st {};
  char magic[2] = {};
  const bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  const ssize_t got = regular ? pread(fd, magic, sizeof magic, 0) : 0;
  close(fd);
  if (!regular)
    return Unexpected(ErrorCode::kUnavailable, path.string() + " is not a readable file");
  if (compression == Compression::kGzip &&
      !IsGzip(std::string_view(magic, static_cast<size_t>(std::max<ssize_t>(got, 0))))) {
    return Invalid("not a gzip stream");
  }
  std::unique_ptr<Reader> r(new Reader(archive_read_new(), compression, max_bytes));
  if (Status s = r->Open(archive_read_open_filename(r->a_, path.c_str(), kFileBlock)); !s) {
    return s.error();
  }
  return r;
}

Result<std::unique_ptr<Reader>> Reader::FromDescriptor(int fd, uint64_t max_bytes) {
  std::unique_ptr<Reader> r(new Reader(archive_read_new(), Compression::kNone, max_bytes));
  if (Status s = r->Open(archive_read_open_fd(r->a_, fd, kFileBlock)); !s) return s.error();
  return r;
}

Reader::Reader(archive* a, Compression compression, uint64_t max_bytes)
    : a_(a), max_bytes_(max_bytes) {
  archive_read_support_format_tar(a_);
  if (compression == Compression::kGzip) {
    archive_read_support_filter_gzip(a_);
  } else {
    archive_read_support_format_empty(a_);  // no bytes at all: an archive with no entries
  }
}

Reader::~Reader() { archive_read_free(a_); }

// With the result of archive_read_open_*: libarchive has read the first bytes
// and chosen the filter and format by then.
Status Reader::Open(int rc) {
  if (rc == ARCHIVE_OK) return Ok();
  return Failure("cannot read the archive");
}

uint64_t Reader::position() const {
  const int64_t p = archive_filter_bytes(a_, 0);
  return p > 0 ? static_cast<uint64_t>(p) : 0;
}

Status Reader::CheckLimit() const {
  if (position() > max_bytes_) return TooLarge(max_bytes_);
  return Ok();
}

Error Reader::Failure(const std::string& at) const {
  std::string m = Message(a_);
  // libarchive says "Truncated tar archive", "truncated gzip input", ...
  if (m.find("runcated") != std::string::npos || m.find("Premature end") != std::string::npos) {
    m += " (truncated archive)";
  } else if (m.find("Damaged tar archive") != std::string::npos ||
             m.find("Unrecognized archive format") != std::string::npos) {
    m += " (bad header checksum: not a tar archive?)";
  }
  return Invalid(at + ": " + m);
}

Result<bool> Reader::Next(Entry* entry) {
  archive_entry* e = nullptr;
  const int rc = archive_read_next_header(a_, &e);
  header_offset_ = static_cast<uint64_t>(std::max<int64_t>(archive_read_header_position(a_), 0));
  if (Status s = CheckLimit(); !s) return s.error();
  if (rc == ARCHIVE_EOF) return false;
  if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
    return Failure("tar entry " + std::to_string(index_ + 1));
  }
  ++index_;
  data_offset_ = position();
  Entry out;
  out.path = Text(archive_entry_pathname(e), archive_entry_pathname_utf8(e));
  out.type = TypeOf(e);
  out.mode = static_cast<uint32_t>(archive_entry_perm(e)) & 07777;
  out.mtime = archive_entry_mtime_is_set(e) ? static_cast<int64_t>(archive_entry_mtime(e)) : 0;
  if (out.type == Type::kHardLink) {
    out.link = Text(archive_entry_hardlink(e), archive_entry_hardlink_utf8(e));
  } else if (out.type == Type::kSymlink) {
    out.link = Text(archive_entry_symlink(e), archive_entry_symlink_utf8(e));
  }
  const int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
  out.size = out.type == Type::kFile && size > 0 ? static_cast<uint64_t>(size) : 0;
  *entry = std::move(out);
  return true;
}

Result<size_t> Reader::ReadData(char* buf, size_t n) {
  const la_ssize_t got = archive_read_data(a_, buf, n);
  if (got < 0) return Failure("tar entry " + std::to_string(index_));
  if (Status s = CheckLimit(); !s) return s.error();
  return static_cast<size_t>(got);
}

Status Reader::SkipData() {
  if (archive_read_data_skip(a_) != ARCHIVE_OK)
    return Failure("tar entry " + std::to_string(index_));
  return CheckLimit();
}

namespace {

la_ssize_t Append(archive*, void* client, const void* buf, size_t n) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

la_ssize_t Forward(archive* a, void* client, const void* buf, size_t n) {
  auto& sink = *static_cast<std::function<bool(std::string_view)>*>(client);
  if (!sink(std::string_view(static_cast<const char*>(buf), n))) {
    archive_set_error(a, EPIPE, "the archive's reader took no more");
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

unsigned FileType(Type type) {
  switch (type) {
    case Type::kDirectory:
      return AE_IFDIR;
    case Type::kSymlink:
      return AE_IFLNK;
    case Type::kCharDevice:
      return AE_IFCHR;
    case Type::kBlockDevice:
      return AE_IFBLK;
    case Type::kFifo:
      return AE_IFIFO;
    case Type::kSocket:
      return AE_IFSOCK;
    default:
      return AE_IFREG;
  }
}

}  // namespace

Writer::Writer(uint64_t max_bytes) : a_(archive_write_new()), max_bytes_(max_bytes) {
  // ustar where it fits, a pax header where it does not; gzip without the
  // time of writing in its header, so that the same input gives the same bytes.
  if (archive_write_set_format_pax_restricted(a_) != ARCHIVE_OK ||
      archive_write_add_filter_gzip(a_) != ARCHIVE_OK ||
      archive_write_set_filter_option(a_, "gzip", "timestamp", nullptr) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a_, 1) != ARCHIVE_OK ||
      archive_write_open2(a_, &out_, nullptr, Append, nullptr, nullptr) != ARCHIVE_OK) {
    opened_ = Error(ErrorCode::kInternal, "libarchive: cannot start a gzip tar: " + Message(a_));
  }
}

Writer::Writer(std::function<bool(std::string_view)> sink)
    : a_(archive_write_new()), max_bytes_(UINT64_MAX), sink_(std::move(sink)) {
  if (archive_write_set_format_pax_restricted(a_) != ARCHIVE_OK ||
      archive_write_add_filter_none(a_) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a_, 1) != ARCHIVE_OK ||
      archive_write_open2(a_, &sink_, nullptr, Forward, nullptr, nullptr) != ARCHIVE_OK) {
    opened_ = Error(ErrorCode::kInternal, "libarchive: cannot start a tar: " + Message(a_));
  }
}

Writer::~Writer() { archive_write_free(a_); }

Status Writer::Check(int rc, const std::string& what) {
  if (rc < ARCHIVE_WARN) {
    return Error(ErrorCode::kInternal, "libarchive: cannot write " + what + ": " + Message(a_));
  }
  const int64_t total = archive_filter_bytes(a_, 0);
  if (total > 0 && static_cast<uint64_t>(total) > max_bytes_) return TooLarge(max_bytes_);
  return Ok();
}

Status Writer::BeginEntry(const Entry& entry) {
  if (!opened_) return opened_;
  std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(),
                                                             archive_entry_free);
  const uint64_t size = entry.type == Type::kFile ? entry.size : 0;
  archive_entry_copy_pathname(e.get(), entry.path.c_str());
  archive_entry_set_filetype(e.get(), FileType(entry.type));
  archive_entry_set_perm(e.get(), entry.mode & 07777);
  archive_entry_set_mtime(e.get(), entry.mtime, 0);
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
  archive_entry_set_uid(e.get(), 0);
  archive_entry_set_gid(e.get(), 0);
  archive_entry_copy_uname(e.get(), "root");
  archive_entry_copy_gname(e.get(), "root");
  if (entry.type == Type::kHardLink) archive_entry_copy_hardlink(e.get(), entry.link.c_str());
  if (entry.type == Type::kSymlink) archive_entry_copy_symlink(e.get(), entry.link.c_str());
  expected_ = size;
  written_ = 0;
  return Check(archive_write_header(a_, e.get()), "the header of '" + entry.path + "'");
}

Status Writer::WriteData(std::string_view data) {
  written_ += data.size();
  if (written_ > expected_) return Error(ErrorCode::kInternal, "tar entry data past its size");
  while (!data.empty()) {
    const la_ssize_t n = archive_write_data(a_, data.data(), data.size());
    if (n <= 0) return Check(ARCHIVE_FATAL, "entry data");
    data.remove_prefix(static_cast<size_t>(n));
    if (Status s = Check(ARCHIVE_OK, "entry data"); !s) return s;
  }
  return Ok();
}

Status Writer::EndEntry() {
  if (written_ != expected_) return Error(ErrorCode::kInternal, "tar entry data short of its size");
  return Check(archive_write_finish_entry(a_), "the end of an entry");
}

Result<std::string> Writer::Finish() {
  if (!opened_) return opened_.error();
  if (Status s = Check(archive_write_close(a_), "the end of the archive"); !s) return s.error();
  return std::move(out_);
}

}  // namespace labelrun::runtime::tar
