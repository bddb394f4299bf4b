#pragma once
// A child process for tests: argv in, stdout+stderr to a file, signals, wait.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace labelrun::testing {

class Process {
 public:
  // Starts argv[0] with the given extra environment; output goes to `log`.
  Process(std::vector<std::string> argv, const std::filesystem::path& log,
          const std::map<std::string, std::string>& env = {});
  ~Process();  // SIGKILLs and reaps if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int signo) const;
  // Waits for exit; the exit status (128+signal when killed), or nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  bool running();

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// Polls `cond` every 100 ms until it holds or `timeout` passes; its last answer.
bool WaitUntil(const std::function<bool()>& cond, std::chrono::milliseconds timeout);

// Runs a command to completion; returns its exit status and fills `output`.
int RunCommand(const std::vector<std::string>& argv, std::string* output,
               const std::map<std::string, std::string>& env = {});

}  // namespace labelrun::testing
