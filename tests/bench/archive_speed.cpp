// How fast labelrun re-roots a repository tarball, packs a folder, caps and
// lists a job's outputs, and how much memory each takes, on a large tree.
//
//   build/release/archive_speed [MiB] [files]     (default 200 MiB in 20,000 files)
//
// Each step runs in a child process of its own, so its peak RSS (ru_maxrss of
// the child) is its own. Figures: wall seconds, MiB/s of uncompressed tar, peak
// RSS. Nothing here fails a build; it prints figures.

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>

#include "labelrun/runtime/archive.hpp"
#include "runtime/tar_cap.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using labelrun::testing::ReadFile;
using labelrun::testing::RunCommand;
using labelrun::testing::TempDir;

namespace {

// Text that compresses about as well as source code does.
void MakeTree(const fs::path& root, uint64_t total, uint64_t files) {
  static const char* kWords[] = {"import", "torch", "def",   "return", "self",  "loss",
                                 "epoch",  "model", "batch", "=",      "(",     ")",
                                 "0.001",  "for",   "in",    "range",  "print", "\n    "};
  std::mt19937_64 rng(42);
  const uint64_t each = total / files;
  for (uint64_t i = 0; i < files; ++i) {
    fs::path dir = root / ("pkg" + std::to_string(i / 200)) / ("mod" + std::to_string(i / 20));
    fs::create_directories(dir);
    std::string text;
    text.reserve(each + 16);
    while (text.size() < each) {
      text += kWords[rng() % (sizeof kWords / sizeof *kWords)];
      text += ' ';
    }
    text.resize(each);
    std::ofstream(dir / ("f" + std::to_string(i) + ".py"), std::ios::binary) << text;
  }
}

// Runs `step` in a child; prints its wall time, throughput over `bytes` and peak RSS.
void Measure(const char* name, uint64_t bytes, const std::function<bool()>& step) {
  std::fflush(stdout);
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) _exit(step() ? 0 : 1);
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%-34s %7.2f s %8.1f MiB/s  peak RSS %7.1f MiB  %s\n", name, secs,
              static_cast<double>(bytes) / (1 << 20) / secs,
              static_cast<double>(usage.ru_maxrss) / 1024,
              WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "FAILED");
}

bool Report(const char* what, const labelrun::Error& e) {
  std::fprintf(stderr, "%s: %s\n", what, e.ToString().c_str());
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200;
  const uint64_t files = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 20'000;
  const uint64_t total = mib << 20;
  const size_t max = size_t{8} << 30;
  TempDir dir;
  MakeTree(dir / "owner-repo-abc1234", total, files);
  std::string log;
  if (RunCommand({"/usr/bin/tar", "-czf", (dir / "repo.tar.gz").string(), "-C", dir.path().string(),
                  "owner-repo-abc1234"},
                 &log) != 0 ||
      RunCommand({"/usr/bin/tar", "-cf", (dir / "outputs.tar").string(), "-C", dir.path().string(),
                  "owner-repo-abc1234"},
                 &log) != 0) {
    std::fprintf(stderr, "tar failed: %s\n", log.c_str());
    return 1;
  }
  const uint64_t tar_bytes = fs::file_size(dir / "outputs.tar");
  std::printf("%llu files, %.1f MiB of tar, %.1f MiB gzipped\n",
              static_cast<unsigned long long>(files), static_cast<double>(tar_bytes) / (1 << 20),
              static_cast<double>(fs::file_size(dir / "repo.tar.gz")) / (1 << 20));

  Measure("StripTopFolder (tarball in memory)", tar_bytes, [&] {
    std::string gz = ReadFile(dir / "repo.tar.gz");
    auto out = labelrun::runtime::StripTopFolder(gz, max);
    return out ? true : Report("strip", out.error());
  });
  Measure("StripTopFolderFile", tar_bytes, [&] {
    auto out = labelrun::runtime::StripTopFolderFile(dir / "repo.tar.gz", max);
    return out ? true : Report("strip file", out.error());
  });
  Measure("TarGzFolder", tar_bytes, [&] {
    auto out = labelrun::runtime::TarGzFolder(dir / "owner-repo-abc1234", max);
    return out ? true : Report("pack", out.error());
  });
  Measure("CappedTarSink (outputs copy-out)", tar_bytes, [&] {
    std::ifstream in(dir / "outputs.tar", std::ios::binary);
    std::FILE* f = std::fopen((dir / "capped.tar").c_str(), "w+b");
    labelrun::runtime::tar::CappedTarSink sink(f, max);
    std::string chunk(64 << 10, '\0');
    while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || in.gcount() > 0) {
      if (!sink.Write(std::string_view(chunk.data(), static_cast<size_t>(in.gcount())))) break;
    }
    labelrun::Status s = sink.Finish();
    std::fclose(f);
    return s ? true : Report("cap", s.error());
  });
  Measure("ListOutputsInFile", tar_bytes, [&] {
    auto out = labelrun::runtime::ListOutputsInFile(dir / "outputs.tar");
    if (!out) return Report("list", out.error());
    return out->size() == files;
  });
  Measure("FindOutput (last file)", tar_bytes, [&] {
    std::string last = "pkg" + std::to_string((files - 1) / 200) + "/mod" +
                       std::to_string((files - 1) / 20) + "/f" + std::to_string(files - 1) + ".py";
    auto out = labelrun::runtime::FindOutput(dir / "outputs.tar", last);
    return out ? true : Report("find", out.error());
  });
  return 0;
}
