// SlurmRuntime::CopyOut: a job's outputs, read from its folder on shared
// storage into the same capped plain tar as Docker's archive of a container's
// folder.
//
// The job's code wrote that folder, and may have planted symlinks in it (to
// /etc/shadow, to labelrun's own state) or swapped a folder for one after the
// check. Every step down is therefore opened relative to the one above with
// O_NOFOLLOW (openat), files are checked on the descriptor that is read, and
// a symlink is never followed and a file with more than one name (a hard link
// to a file outside) is never read: each is left out and named.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>

#include "labelrun/core/strings.hpp"
#include "labelrun/runtime/slurm.hpp"
#include "runtime/tar_cap.hpp"
#include "runtime/tar_io.hpp"

namespace labelrun::runtime {
namespace {

constexpr size_t kChunk = 64 << 10;
constexpr size_t kNamedLeftOut = 5;  // named in the result; the rest are counted

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Components of an absolute container path, without "" and "."; nullopt when
// one is "..".
std::optional<std::vector<std::string>> Components(std::string_view path) {
  std::vector<std::string> out;
  for (std::string_view part : Split(path, '/')) {
    if (part == "..") return std::nullopt;
    if (!part.empty() && part != ".") out.emplace_back(part);
  }
  return out;
}

int OpenDir(int at, const std::string& name) {
  return openat(at, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

class OutputWalk {
 public:
  OutputWalk(tar::Writer& writer, std::string shown_root)
      : writer_(writer), shown_root_(std::move(shown_root)) {}

  // Adds the contents of the open folder `dir`, stored as `rel`.
  Status AddTree(int dir, const std::string& rel, int depth) {
    if (depth > 256) {
      return Unexpected(ErrorCode::kInvalidArgument,
                        "the outputs nest deeper than 256 folders at '" + rel + "'");
    }
    std::vector<std::string> names;
    {
      DIR* d = fdopendir(dup(dir));
      if (d == nullptr) return ReadError(rel, errno);
      while (dirent* ent = readdir(d)) {
        std::string name = ent->d_name;
        if (name != "." && name != "..") names.push_back(std::move(name));
      }
      closedir(d);
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      const std::string path = rel + "/" + name;
      struct stat st {};
      if (fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // gone since the listing
        return ReadError(path, errno);
      }
      tar::Entry e;
      e.path = path;
      e.mode = st.st_mode & 07777;
      e.mtime = st.st_mtime;
      if (S_ISDIR(st.st_mode)) {
        Fd child(OpenDir(dir, name));
        if (child.get() < 0) {
          // Swapped for a symlink since fstatat: not followed.
          if (errno == ELOOP || errno == ENOTDIR) {
            LeaveOut(path, "a symlink");
            continue;
          }
          return ReadError(path, errno);
        }
        e.type = tar::Type::kDirectory;
        e.path += '/';
        if (Status s = writer_.BeginEntry(e); !s) return s;
        if (Status s = writer_.EndEntry(); !s) return s;
        if (Status s = AddTree(child.get(), path, depth + 1); !s) return s;
      } else if (S_ISREG(st.st_mode)) {
        if (Status s = AddFile(dir, name, std::move(e)); !s) return s;
      } else if (S_ISLNK(st.st_mode)) {
        LeaveOut(path, "a symlink");
      } else {
        LeaveOut(path, "not a file");
      }
    }
    return Ok();
  }

  // "left out 2 entries (not plain files or folders, or hard links; nothing is
  // followed out of the job's folder): '/workspace/out/a' (a symlink), ..."
  std::string LeftOut() const {
    if (left_out_.empty()) return "";
    std::string out = "left out " + std::to_string(left_out_.size()) + " entr" +
                      (left_out_.size() == 1 ? "y" : "ies") +
                      " (not plain files or folders, or hard links; nothing is followed out "
                      "of the job's folder): ";
    for (size_t i = 0; i < left_out_.size() && i < kNamedLeftOut; ++i) {
      out += (i ? ", " : "") + left_out_[i];
    }
    if (left_out_.size() > kNamedLeftOut) {
      out += " and " + std::to_string(left_out_.size() - kNamedLeftOut) + " more";
    }
    return out;
  }

 private:
  Status AddFile(int dir, const std::string& name, tar::Entry e) {
    // O_NONBLOCK: a fifo swapped in since fstatat must not block the open.
    Fd fd(openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    struct stat st {};
    if (fd.get() < 0 || fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      if (fd.get() < 0 && errno != ELOOP && errno != ENXIO) return ReadError(e.path, errno);
      LeaveOut(e.path, "changed while it was read");
      return Ok();
    }
    // A second name for a file elsewhere on the same disk: the job may have
    // linked labelrun's own key or state into its outputs, so none is read.
    if (st.st_nlink > 1) {
      LeaveOut(e.path, "a hard link");
      return Ok();
    }
    e.type = tar::Type::kFile;
    e.size = static_cast<uint64_t>(st.st_size);
    if (Status s = writer_.BeginEntry(e); !s) return s;
    std::vector<char> buf(kChunk);
    uint64_t left = e.size;
    while (left > 0) {
      const ssize_t n =
          read(fd.get(), buf.data(), static_cast<size_t>(std::min<uint64_t>(left, buf.size())));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ReadError(e.path, errno);
      if (n == 0) {
        return Unexpected(ErrorCode::kUnavailable,
                          "'" + Shown(e.path) + "' shrank while it was collected");
      }
      left -= static_cast<uint64_t>(n);
      if (Status s = writer_.WriteData(std::string_view(buf.data(), static_cast<size_t>(n))); !s)
        return s;
    }
    return writer_.EndEntry();
  }

  void LeaveOut(const std::string& path, const char* what) {
    left_out_.push_back("'" + Shown(path) + "' (" + what + ")");
  }

  // The path as the job's container names it.
  std::string Shown(const std::string& path) const {
    const size_t slash = path.find('/');
    return slash == std::string::npos ? shown_root_ : shown_root_ + path.substr(slash);
  }

  Error ReadError(const std::string& path, int err) const {
    return Error(ErrorCode::kUnavailable,
                 "cannot read '" + Shown(path) + "' of the outputs: " + std::strerror(err));
  }

  tar::Writer& writer_;
  std::string shown_root_;  // the collected folder's path in the container
  std::vector<std::string> left_out_;
};

}  // namespace

Result<CopiedOut> SlurmRuntime::CopyOut(const std::string& id, const std::string& path,
                                        const std::filesystem::path& tar_file, uint64_t max_bytes) {
  if (id.empty() || id.size() > 64 || !std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
      })) {
    return Unexpected(ErrorCode::kInvalidArgument, "bad job id '" + id + "'");
  }
  std::string mount;
  {
    std::ifstream in(JobDir(id) / "working_dir");
    if (!in) return Unexpected(ErrorCode::kNotFound, "job " + id + " has no folder here");
    std::getline(in, mount);
  }
  std::optional<std::vector<std::string>> want = Components(path);
  std::optional<std::vector<std::string>> base = Components(mount);
  if (!want || path.empty() || path[0] != '/') {
    return Unexpected(ErrorCode::kInvalidArgument,
                      "outputs '" + path + "' is not an absolute folder without '..'");
  }
  if (!base || mount.empty() || mount[0] != '/' || want->size() < base->size() ||
      !std::equal(base->begin(), base->end(), want->begin())) {
    return Unexpected(ErrorCode::kFailedPrecondition,
                      "outputs " + path + " lie outside the job's working_dir " +
                          (mount.empty() ? std::string("(none set)") : mount) +
                          ", the only folder of a Slurm job that lies on shared storage");
  }
  // shared_dir is labelrun's; from the job's folder down, nothing is followed.
  Fd shared(open(settings_.shared_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (shared.get() < 0) {
    return Unexpected(ErrorCode::kUnavailable, "cannot open slurm.shared_dir " +
                                                   settings_.shared_dir.string() + ": " +
                                                   std::strerror(errno));
  }
  std::vector<std::string> steps = {id, "workspace"};
  steps.insert(steps.end(), want->begin() + static_cast<std::ptrdiff_t>(base->size()), want->end());
  std::vector<std::unique_ptr<Fd>> open_dirs;
  int at = shared.get();
  std::string shown = mount;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (i >= 2) shown += (shown.back() == '/' ? "" : "/") + steps[i];
    auto next = std::make_unique<Fd>(OpenDir(at, steps[i]));
    if (next->get() < 0) {
      const int err = errno;
      const std::string where = i < 2 ? (JobDir(id) / steps[1]).string() : shown;
      if (err == ENOENT) {
        return Unexpected(ErrorCode::kNotFound, "no folder " + where + " after the job");
      }
      if (err == ELOOP || err == ENOTDIR) {
        return Unexpected(ErrorCode::kFailedPrecondition,
                          where +
                              " is a symlink or not a folder: outputs are never followed "
                              "out of the job's folder");
      }
      return Unexpected(ErrorCode::kUnavailable,
                        "cannot open " + where + ": " + std::string(std::strerror(err)));
    }
    at = next->get();
    open_dirs.push_back(std::move(next));
  }

  std::FILE* out = std::fopen(tar_file.c_str(), "w+b");  // read back by the sink's Finish
  if (out == nullptr) return Unexpected(ErrorCode::kInternal, "cannot write " + tar_file.string());
  tar::CappedTarSink sink(out, max_bytes);
  Status walked = Ok();
  Status finished = Ok();
  std::string left_out;
  {
    tar::Writer writer([&sink](std::string_view block) { return sink.Write(block); });
    const std::string top = want->empty() ? "root" : want->back();
    OutputWalk walk(writer, shown);
    tar::Entry root;
    root.path = top + "/";
    root.type = tar::Type::kDirectory;
    root.mode = 0755;
    walked = writer.BeginEntry(root);
    if (walked) walked = writer.EndEntry();
    if (walked) walked = walk.AddTree(at, top, 0);
    if (walked) {
      if (Result<std::string> ended = writer.Finish(); !ended) walked = ended.error();
    }
    left_out = walk.LeftOut();
  }
  // The cap ends the walk as it ends Docker's stream: what fits is kept.
  if (walked || sink.stopped()) finished = sink.Finish();
  const bool close_failed = std::fclose(out) != 0;
  if ((!walked && !sink.stopped()) || !finished || close_failed) {
    std::error_code ec;
    std::filesystem::remove(tar_file, ec);
    if (!walked && !sink.stopped()) return walked.error();
    if (!finished) return finished.error();
    return Unexpected(ErrorCode::kInternal, "cannot write " + tar_file.string());
  }
  return CopiedOut{sink.written(), sink.truncation(), std::move(left_out)};
}

}  // namespace labelrun::runtime
