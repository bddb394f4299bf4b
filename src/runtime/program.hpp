#pragma once
// Runs a program to completion without a shell and collects its output, for
// LocalSource's git calls. Private to src/runtime.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "labelrun/core/result.hpp"

namespace labelrun::runtime {

struct ProgramOutput {
  int exit_code = 0;  // 128 + signal when killed by one
  std::string out;    // stdout
  std::string err;    // stderr, its first 64 KiB
};

struct ProgramLimits {
  size_t max_out = size_t{1} << 20;  // stdout bytes; past it the program is killed
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  // Environment variables not passed on (the rest of ours is).
  std::vector<std::string> unset_env;
};

// argv[0] is looked up in PATH; stdin is /dev/null. A non-zero exit is a value,
// not an error. Errors: kFailedPrecondition when the program cannot be started,
// kResourceExhausted past max_out, kDeadlineExceeded past the timeout (the
// program is killed in both cases). Thread-safe.
Result<ProgramOutput> RunProgram(const std::vector<std::string>& argv, const ProgramLimits& limits);

}  // namespace labelrun::runtime
