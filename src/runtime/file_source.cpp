// Byte sources for TarReader: the generic skip, and a tar file on disk.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "runtime/tar_stream.hpp"

namespace labelrun::runtime::tar {

Result<uint64_t> ByteSource::Skip(uint64_t n) {
  char buf[16 * kBlock];
  uint64_t done = 0;
  while (done < n) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(n - done, sizeof buf));
    Result<size_t> got = Read(buf, want);
    if (!got) return got.error();
    done += *got;
    if (*got < want) break;
  }
  return done;
}

Result<std::unique_ptr<FileReader>> FileReader::Open(const std::filesystem::path& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return Unexpected(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kUnavailable,
                      "cannot read " + path.string() + ": " + std::strerror(err));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Unexpected(ErrorCode::kUnavailable, path.string() + " is not a readable file");
  }
  return std::unique_ptr<FileReader>(new FileReader(fd, static_cast<uint64_t>(st.st_size)));
}

FileReader::~FileReader() { close(fd_); }

Result<size_t> FileReader::Read(char* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    const ssize_t got = pread(fd_, buf + done, n - done, static_cast<off_t>(position_));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      return Unexpected(ErrorCode::kUnavailable,
                        std::string("cannot read the tar file: ") + std::strerror(errno));
    }
    if (got == 0) break;
    done += static_cast<size_t>(got);
    position_ += static_cast<uint64_t>(got);
  }
  return done;
}

Result<uint64_t> FileReader::Skip(uint64_t n) {
  const uint64_t step = std::min(n, size_ - std::min(size_, position_));
  position_ += step;
  return step;
}

}  // namespace labelrun::runtime::tar
