// libFuzzer target: tar archives as a repository tarball or a container's
// outputs might hold them. libarchive parses; labelrun's own checks must hold
// on whatever it yields: a rewritten repository archive never holds an
// absolute path or a '..' component, outputs are listed without crashing, and
// the outputs cap never leaves more than its limit on disk.
#include <archive.h>
#include <archive_entry.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "labelrun/runtime/archive.hpp"
#include "runtime/tar_cap.hpp"
#include "runtime/tar_io.hpp"

using namespace labelrun;
using namespace labelrun::runtime;

namespace {

constexpr size_t kMax = 4 << 20;

// The input gzipped, as GitHub serves a tarball.
std::string Gzip(std::string_view data) {
  std::string out(data.size() + data.size() / 100 + 4096, '\0');
  size_t used = 0;
  archive* a = archive_write_new();
  archive_write_add_filter_gzip(a);
  archive_write_set_format_raw(a);
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open_memory(a, out.data(), out.size(), &used);
  archive_entry* e = archive_entry_new();
  archive_entry_set_filetype(e, AE_IFREG);
  archive_write_header(a, e);
  archive_write_data(a, data.data(), data.size());
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  out.resize(used);
  return out;
}

bool HasDotDot(const std::string& path) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (path.compare(start, end - start, "..") == 0) return true;
    start = end + 1;
  }
  return false;
}

void CheckStripped(const std::string& gz) {
  auto reader = tar::Reader::FromMemory(gz, tar::Compression::kGzip, UINT64_MAX);
  if (!reader) std::abort();  // labelrun's own output must read back
  tar::Entry e;
  while (true) {
    Result<bool> more = (*reader)->Next(&e);
    if (!more) std::abort();
    if (!*more) return;
    if (e.path.empty() || e.path[0] == '/' || HasDotDot(e.path)) std::abort();
    if (e.type == tar::Type::kHardLink && (e.link.empty() || e.link[0] == '/')) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view tar(reinterpret_cast<const char*>(data), size);

  Result<std::string> stripped = StripTopFolder(Gzip(tar), kMax);
  if (stripped) CheckStripped(*stripped);

  Result<std::vector<OutputFile>> files = ListOutputs(tar);
  if (files) {
    for (const OutputFile& f : *files) {
      if (f.path.empty() || f.path[0] == '/' || HasDotDot(f.path)) std::abort();
    }
    if (!files->empty()) (void)ReadOutput(tar, files->front().path, 1 << 20);
  }

  // The cap from the input's first byte: from nothing to all of it.
  const uint64_t cap = size == 0 ? 0 : (size * data[0]) / 255;
  std::FILE* f = std::tmpfile();
  if (f == nullptr) return 0;
  tar::CappedTarSink sink(f, cap + 1024);
  for (size_t at = 0, step = 1; at < size; at += step, step = step * 3 % 997 + 1) {
    if (!sink.Write(tar.substr(at, step))) break;
  }
  if (sink.Finish()) {
    std::fseek(f, 0, SEEK_END);
    const long on_disk = std::ftell(f);
    if (on_disk < 0 || static_cast<uint64_t>(on_disk) != sink.written()) std::abort();
    if (sink.written() > cap + 1024) std::abort();
  }
  std::fclose(f);
  return 0;
}
