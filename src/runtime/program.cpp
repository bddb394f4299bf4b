#include "runtime/program.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

extern char** environ;

namespace labelrun::runtime {
namespace {

constexpr size_t kMaxErr = 64 << 10;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Close(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Reset(int fd) {
    Close();
    fd_ = fd;
  }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

bool MakePipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  read_end.Reset(fds[0]);
  write_end.Reset(fds[1]);
  return true;
}

}  // namespace

Result<ProgramOutput> RunProgram(const std::vector<std::string>& argv,
                                 const ProgramLimits& limits) {
  if (argv.empty()) return Error(ErrorCode::kInvalidArgument, "no program to run");
  const std::string& name = argv[0];
  Fd out_r, out_w, err_r, err_w;
  if (!MakePipe(out_r, out_w) || !MakePipe(err_r, err_w)) {
    return Error(ErrorCode::kUnavailable, "cannot run " + name + ": pipe: " + strerror(errno));
  }

  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view var(*e);
    bool drop =
        std::any_of(limits.unset_env.begin(), limits.unset_env.end(), [&var](const std::string& n) {
          return var.size() > n.size() && var.substr(0, n.size()) == n && var[n.size()] == '=';
        });
    if (!drop) env.push_back(*e);
  }
  env.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_w.get(), 2);
  // The server's threads may block signals or ignore SIGPIPE; the child starts clean.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, name.c_str(), &actions, &attr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  out_w.Close();
  err_w.Close();
  if (rc != 0) {
    return Error(ErrorCode::kFailedPrecondition, "cannot run " + name + ": " + strerror(rc));
  }

  ProgramOutput result;
  std::optional<Error> failure;
  auto deadline = std::chrono::steady_clock::now() + limits.timeout;
  bool out_open = true, err_open = true;
  char buf[64 << 10];
  while ((out_open || err_open) && !failure) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      failure =
          Error(ErrorCode::kDeadlineExceeded,
                name + " did not finish within " + std::to_string(limits.timeout.count()) + " ms");
      break;
    }
    pollfd fds[2] = {{out_open ? out_r.get() : -1, POLLIN, 0},
                     {err_open ? err_r.get() : -1, POLLIN, 0}};
    int n = poll(fds, 2, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) {
      failure = Error(ErrorCode::kInternal, "poll: " + std::string(strerror(errno)));
    }
    if (n <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) {
        (i == 0 ? out_open : err_open) = false;
        continue;
      }
      if (i == 0) {
        result.out.append(buf, static_cast<size_t>(got));
        if (result.out.size() > limits.max_out) {
          failure = Error(ErrorCode::kResourceExhausted,
                          name + " wrote more than " + std::to_string(limits.max_out) + " bytes");
        }
      } else if (result.err.size() < kMaxErr) {
        result.err.append(buf, std::min(static_cast<size_t>(got), kMaxErr - result.err.size()));
      }
    }
  }
  if (failure) kill(pid, SIGKILL);
  out_r.Close();
  err_r.Close();
  int status = 0;
  pid_t waited;
  do {
    waited = waitpid(pid, &status, 0);
  } while (waited < 0 && errno == EINTR);
  if (failure) return *failure;
  if (waited != pid) {
    return Error(ErrorCode::kInternal, "waitpid " + name + ": " + std::string(strerror(errno)));
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace labelrun::runtime
