#pragma once
// Gzip tar archives of a job's code, ready for Runtime::CopyIn (Docker's
// PUT /containers/{id}/archive). Pure functions over bytes and one folder walk;
// no process, no network.
//
// Archives written here are POSIX ustar, with a pax extended header for a path
// or link target that does not fit the ustar fields. Every entry is owned by
// 0:0 (root), like `git archive` output; modes and modification times are kept.
// Entries come out in a stable order, so the same input gives the same bytes.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "labelrun/core/result.hpp"

namespace labelrun::runtime {

// Rewrites a repository tarball as GitHub serves it (GET /repos/{o}/{r}/tarball/{ref}):
// every entry lies in one top folder ("owner-repo-sha/"), and the commit id
// travels in a pax global header. The result holds the same files, directories
// and symlinks with paths relative to that folder, and no global header.
//
// Reads what libarchive's tar reader reads: ustar (name + prefix), pax
// extended headers, GNU long names and base-256 numbers. Fails with:
//   kResourceExhausted  past `max_bytes` of uncompressed tar data;
//   kInvalidArgument    not gzip / not tar, a bad header checksum, a truncated
//                       archive, an absolute path or a ".." component, an entry
//                       outside the top folder (or no top folder at all), an
//                       entry beneath a symlink, a symlink or hard link that
//                       points out of the repository, or an entry type other
//                       than file, directory, symlink or hard link (devices,
//                       fifos, sparse files).
// Absolute symlink targets are kept as they are: they name a place in the
// container, not on this machine.
Result<std::string> StripTopFolder(std::string_view tar_gz, size_t max_bytes);
// The same from a tarball on disk, read as it is rewritten: the compressed
// input is never held in memory. kNotFound when the file does not exist.
Result<std::string> StripTopFolderFile(const std::filesystem::path& tar_gz, size_t max_bytes);

// A gzip tar of the folder `dir`: regular files, directories and symlinks (not
// followed), paths relative to `dir`, sorted, with anything named ".git" left
// out (the repository itself, or a submodule's pointer file). A hard-linked
// file is stored as a plain copy. Fails with kNotFound when `dir` is missing,
// kInvalidArgument when it is not a folder or holds a socket, fifo or device,
// kResourceExhausted past `max_bytes` of uncompressed tar data, kUnavailable
// when a file cannot be read or changes size while it is read.
Result<std::string> TarGzFolder(const std::filesystem::path& dir, size_t max_bytes);

// A job's collected outputs: the plain tar that Docker's
// GET /containers/{id}/archive gives for a folder, whose entries all lie in
// that folder ("outputs/..."). Paths here are relative to it.
struct OutputFile {
  std::string path;  // "model.pt", "plots/loss.png"
  uint64_t size = 0;
  uint64_t offset = 0;  // where its data starts in the tar file (0 for a tar in memory)
};

// The regular files, in archive order (links, devices and the like are left
// out). Fails with kInvalidArgument on a tar it cannot read (bad checksum,
// truncated).
Result<std::vector<OutputFile>> ListOutputs(std::string_view tar);
// The same from a tar file, reading only its headers (files' data is skipped
// by seeking): memory does not grow with the archive. kNotFound when the file
// does not exist.
Result<std::vector<OutputFile>> ListOutputsInFile(const std::filesystem::path& tar_file);
// One regular file of a tar file by its relative path: where its data lies, so
// that it can be served straight from the archive. kNotFound as ReadOutput;
// kInvalidArgument when the archive ends before the file's data does.
Result<OutputFile> FindOutput(const std::filesystem::path& tar_file, std::string_view path);

// The bytes of one regular file, by its relative path. kNotFound when there is
// no such file (directories, links and ".." paths are never files here);
// kResourceExhausted when it is larger than `max_bytes`.
Result<std::string> ReadOutput(std::string_view tar, std::string_view path, size_t max_bytes);

}  // namespace labelrun::runtime
