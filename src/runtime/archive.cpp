// Repository archives for containers: GitHub tarballs re-rooted, folders packed.

#include "labelrun/runtime/archive.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "runtime/tar_io.hpp"

namespace labelrun::runtime {
namespace {

constexpr size_t kCopyChunk = 64 << 10;

Error Invalid(std::string message) { return Error(ErrorCode::kInvalidArgument, message); }

std::string Join(const std::vector<std::string>& parts, size_t from) {
  std::string out;
  for (size_t i = from; i < parts.size(); ++i) {
    if (!out.empty()) out += '/';
    out += parts[i];
  }
  return out;
}

// The components of an archive path, without "" and "."; refuses absolute
// paths and "..".
Result<std::vector<std::string>> PathParts(std::string_view path) {
  if (!path.empty() && path[0] == '/') {
    return Invalid("tar entry '" + std::string(path) + "' has an absolute path");
  }
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = std::min(path.find('/', start), path.size());
    std::string_view part = path.substr(start, end - start);
    if (part == "..") {
      return Invalid("tar entry '" + std::string(path) + "' climbs out with '..'");
    }
    if (!part.empty() && part != ".") parts.emplace_back(part);
    start = end + 1;
  }
  return parts;
}

// A relative symlink at `path` (inside the repository) must resolve inside it;
// an absolute one names a place in the container and is kept.
Status CheckSymlink(const std::string& path, std::string_view target) {
  if (target.empty()) return Invalid("symlink '" + path + "' has an empty target");
  if (target[0] == '/') return Ok();
  int64_t depth = static_cast<int64_t>(std::count(path.begin(), path.end(), '/'));
  size_t start = 0;
  while (start <= target.size()) {
    size_t end = std::min(target.find('/', start), target.size());
    std::string_view part = target.substr(start, end - start);
    if (part == "..") {
      if (--depth < 0) {
        return Invalid("symlink '" + path + "' -> '" + std::string(target) +
                       "' points outside the repository");
      }
    } else if (!part.empty() && part != ".") {
      ++depth;
    }
    start = end + 1;
  }
  return Ok();
}

Status CopyData(tar::Reader& reader, tar::Writer& writer) {
  std::vector<char> buf(kCopyChunk);
  while (true) {
    Result<size_t> got = reader.ReadData(buf.data(), buf.size());
    if (!got) return got.error();
    if (*got == 0) return Ok();
    if (Status s = writer.WriteData(std::string_view(buf.data(), *got)); !s) return s;
  }
}

// Rewrites the entries of `reader` without their top folder, checking each.
Result<std::string> Strip(tar::Reader& reader) {
  // The output is never larger than the input by more than a few headers, and
  // the input is capped already.
  tar::Writer writer(UINT64_MAX);
  std::string top;
  std::set<std::string> symlinks;
  tar::Entry e;
  while (true) {
    Result<bool> more = reader.Next(&e);
    if (!more) return more.error();
    if (!*more) break;
    Result<std::vector<std::string>> parts = PathParts(e.path);
    if (!parts) return parts.error();
    if (parts->empty()) {
      return Invalid("tar entry '" + e.path + "' is not inside a top folder");
    }
    if (top.empty()) top = (*parts)[0];
    if ((*parts)[0] != top) {
      return Invalid("tar entry '" + e.path + "' is outside the top folder '" + top + "/'");
    }
    switch (e.type) {
      case tar::Type::kFile:
      case tar::Type::kDirectory:
      case tar::Type::kSymlink:
      case tar::Type::kHardLink:
        break;
      default:
        return Invalid("tar entry '" + e.path + "' is " + std::string(tar::Describe(e.type)) +
                       "; only files, directories, symlinks and hard links are allowed");
    }
    if (parts->size() == 1) {
      if (e.type != tar::Type::kDirectory) {
        return Invalid("tar entry '" + e.path + "' is not inside a top folder");
      }
      continue;  // the top folder itself
    }
    tar::Entry out = e;
    out.path = Join(*parts, 1);
    for (size_t i = 2; i < parts->size(); ++i) {
      std::string above = Join(std::vector<std::string>(parts->begin(), parts->begin() + i), 1);
      if (symlinks.count(above) != 0) {
        return Invalid("tar entry '" + e.path + "' lies beneath the symlink '" + above + "'");
      }
    }
    if (e.type == tar::Type::kDirectory) {
      out.path += '/';
    } else if (e.type == tar::Type::kSymlink) {
      if (Status s = CheckSymlink(out.path, e.link); !s) return s.error();
      symlinks.insert(out.path);
    } else if (e.type == tar::Type::kHardLink) {
      Result<std::vector<std::string>> target = PathParts(e.link);
      if (!target) return target.error();
      if (target->size() < 2 || (*target)[0] != top) {
        return Invalid("hard link '" + e.path + "' -> '" + e.link +
                       "' points outside the repository");
      }
      out.link = Join(*target, 1);
    }
    if (Status s = writer.BeginEntry(out); !s) return s.error();
    if (Status s = CopyData(reader, writer); !s) return s.error();
    if (Status s = writer.EndEntry(); !s) return s.error();
  }
  if (top.empty()) return Invalid("the archive holds no entries");
  return writer.Finish();
}

}  // namespace

Result<std::string> StripTopFolder(std::string_view tar_gz, size_t max_bytes) {
  Result<std::unique_ptr<tar::Reader>> reader =
      tar::Reader::FromMemory(tar_gz, tar::Compression::kGzip, max_bytes);
  if (!reader) return reader.error();
  return Strip(**reader);
}

Result<std::string> StripTopFolderFile(const std::filesystem::path& tar_gz, size_t max_bytes) {
  Result<std::unique_ptr<tar::Reader>> reader =
      tar::Reader::FromFile(tar_gz, tar::Compression::kGzip, max_bytes);
  if (!reader) return reader.error();
  return Strip(**reader);
}

namespace {

std::string Describe(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

Error ReadError(const std::filesystem::path& p, int err) {
  return Error(ErrorCode::kUnavailable, "cannot read " + Describe(p) + ": " + std::strerror(err));
}

Status AddFile(tar::Writer& writer, const std::filesystem::path& abs, tar::Entry entry) {
  int fd = open(abs.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return ReadError(abs, errno);
  Status status = writer.BeginEntry(entry);
  std::vector<char> buf(kCopyChunk);
  uint64_t left = entry.size;
  while (status && left > 0) {
    ssize_t n = read(fd, buf.data(), static_cast<size_t>(std::min<uint64_t>(left, buf.size())));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = ReadError(abs, errno);
    } else if (n == 0) {
      status = Error(ErrorCode::kUnavailable, Describe(abs) + " shrank while it was archived");
    } else {
      left -= static_cast<uint64_t>(n);
      status = writer.WriteData(std::string_view(buf.data(), static_cast<size_t>(n)));
    }
  }
  close(fd);
  if (!status) return status;
  return writer.EndEntry();
}

// Adds the contents of `abs` (the archive path `rel`, "" for the root).
Status AddTree(tar::Writer& writer, const std::filesystem::path& abs, const std::string& rel,
               int depth) {
  if (depth > 256) return Invalid("folders nest deeper than 256 levels at " + Describe(abs));
  DIR* d = opendir(abs.c_str());
  if (d == nullptr) return ReadError(abs, errno);
  std::vector<std::string> names;
  while (dirent* ent = readdir(d)) {
    std::string name = ent->d_name;
    if (name != "." && name != ".." && name != ".git") names.push_back(std::move(name));
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    std::filesystem::path child = abs / name;
    std::string path = rel.empty() ? name : rel + "/" + name;
    struct stat st {};
    if (lstat(child.c_str(), &st) != 0) return ReadError(child, errno);
    tar::Entry e;
    e.path = path;
    e.mode = st.st_mode & 07777;
    e.mtime = st.st_mtime;
    Status s = Ok();
    if (S_ISDIR(st.st_mode)) {
      e.type = tar::Type::kDirectory;
      e.path += '/';
      s = writer.BeginEntry(e);
      if (s) s = writer.EndEntry();
      if (s) s = AddTree(writer, child, path, depth + 1);
    } else if (S_ISREG(st.st_mode)) {
      e.type = tar::Type::kFile;
      e.size = static_cast<uint64_t>(st.st_size);
      s = AddFile(writer, child, std::move(e));
    } else if (S_ISLNK(st.st_mode)) {
      std::vector<char> target(std::max<size_t>(static_cast<size_t>(st.st_size) + 1, 4096));
      ssize_t n = readlink(child.c_str(), target.data(), target.size());
      if (n < 0) return ReadError(child, errno);
      if (static_cast<size_t>(n) == target.size()) {
        return Error(ErrorCode::kUnavailable, Describe(child) + " changed while it was archived");
      }
      e.type = tar::Type::kSymlink;
      e.link.assign(target.data(), static_cast<size_t>(n));
      s = CheckSymlink(path, e.link);
      if (s) s = writer.BeginEntry(e);
      if (s) s = writer.EndEntry();
    } else {
      return Invalid(Describe(child) +
                     " is a socket, fifo or device; only files, folders and symlinks are archived");
    }
    if (!s) return s;
  }
  return Ok();
}

}  // namespace

Result<std::string> TarGzFolder(const std::filesystem::path& dir, size_t max_bytes) {
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return Error(ErrorCode::kNotFound, "no folder " + Describe(dir));
    return ReadError(dir, errno);
  }
  if (!S_ISDIR(st.st_mode)) return Invalid(Describe(dir) + " is not a folder");
  tar::Writer writer(max_bytes);
  if (Status s = AddTree(writer, dir, "", 0); !s) return s.error();
  return writer.Finish();
}

namespace {

// Calls `visit(reader, entry, relative_path)` for each regular file of an
// outputs tar; stops early when it returns false.
template <typename Visit>
Status ForEachOutput(tar::Reader& reader, Visit visit) {
  tar::Entry e;
  while (true) {
    Result<bool> more = reader.Next(&e);
    if (!more) return more.error();
    if (!*more) return Ok();
    if (e.type != tar::Type::kFile) continue;
    Result<std::vector<std::string>> parts = PathParts(e.path);
    if (!parts || parts->size() < 2) continue;  // not inside the collected folder
    if (!visit(reader, e, Join(*parts, 1))) return Ok();
  }
}

// `file`: offsets are those of the tar file; else 0.
Result<std::vector<OutputFile>> List(tar::Reader& reader, bool file) {
  std::vector<OutputFile> files;
  Status s = ForEachOutput(reader, [&](tar::Reader& r, const tar::Entry& e, std::string path) {
    files.push_back({std::move(path), e.size, file ? r.data_offset() : 0});
    return true;
  });
  if (!s) return s.error();
  return files;
}

}  // namespace

Result<std::vector<OutputFile>> ListOutputs(std::string_view tar) {
  Result<std::unique_ptr<tar::Reader>> reader =
      tar::Reader::FromMemory(tar, tar::Compression::kNone, UINT64_MAX);
  if (!reader) return reader.error();
  return List(**reader, false);
}

Result<std::vector<OutputFile>> ListOutputsInFile(const std::filesystem::path& tar_file) {
  Result<std::unique_ptr<tar::Reader>> reader =
      tar::Reader::FromFile(tar_file, tar::Compression::kNone, UINT64_MAX);
  if (!reader) return reader.error();
  return List(**reader, true);
}

Result<OutputFile> FindOutput(const std::filesystem::path& tar_file, std::string_view path) {
  Result<std::unique_ptr<tar::Reader>> reader =
      tar::Reader::FromFile(tar_file, tar::Compression::kNone, UINT64_MAX);
  if (!reader) return reader.error();
  std::optional<OutputFile> found;
  Status s =
      ForEachOutput(**reader, [&](tar::Reader& r, const tar::Entry& e, const std::string& rel) {
        if (rel != path) return true;
        found = OutputFile{rel, e.size, r.data_offset()};
        return false;
      });
  if (!s) return s.error();
  if (!found) {
    return Unexpected(ErrorCode::kNotFound, "no file '" + std::string(path) + "' in the outputs");
  }
  // A truncated archive promises data it does not hold.
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(tar_file, ec);
  if (ec || found->offset + found->size > size) {
    return Unexpected(ErrorCode::kInvalidArgument,
                      "'" + found->path + "' is cut short in the outputs archive");
  }
  return std::move(*found);
}

Result<std::string> ReadOutput(std::string_view tar, std::string_view path, size_t max_bytes) {
  Result<std::unique_ptr<tar::Reader>> reader =
      tar::Reader::FromMemory(tar, tar::Compression::kNone, UINT64_MAX);
  if (!reader) return reader.error();
  std::optional<Result<std::string>> found;
  Status s =
      ForEachOutput(**reader, [&](tar::Reader& r, const tar::Entry& e, const std::string& rel) {
        if (rel != path) return true;
        if (e.size > max_bytes) {
          found = Unexpected(ErrorCode::kResourceExhausted,
                             "'" + rel + "' is " + std::to_string(e.size) + " bytes, over the " +
                                 std::to_string(max_bytes) + " served here");
          return false;
        }
        std::string data(e.size, '\0');
        size_t at = 0;
        while (at < data.size()) {
          Result<size_t> got = r.ReadData(data.data() + at, data.size() - at);
          if (!got) {
            found = got.error();
            return false;
          }
          if (*got == 0) break;
          at += *got;
        }
        if (at < data.size()) {
          found = Unexpected(ErrorCode::kInvalidArgument,
                             "'" + rel + "' is cut short in the outputs archive");
          return false;
        }
        found = std::move(data);
        return false;
      });
  if (!s) return s.error();
  if (!found) {
    return Unexpected(ErrorCode::kNotFound, "no file '" + std::string(path) + "' in the outputs");
  }
  return std::move(*found);
}

}  // namespace labelrun::runtime
