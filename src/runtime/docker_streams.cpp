// DockerRuntime's streaming calls: each holds its own connection for as long as
// the daemon streams (logs, the wait for an exit, pull progress, exec output).

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "labelrun/runtime/docker.hpp"
#include "runtime/docker_api.hpp"
#include "runtime/docker_http.hpp"

namespace labelrun::runtime {
namespace {

// A pull progress line longer than this is not progress.
constexpr size_t kMaxPullLine = size_t{1} << 20;

class DockerPendingExit final : public PendingExit {
 public:
  ~DockerPendingExit() override {
    Abandon();
    if (thread_.joinable()) thread_.join();
  }

  Result<ExitStatus> Get() override {
    std::unique_lock lock(mu_);
    done_cv_.wait(lock, [&] { return result_.has_value(); });
    return *result_;
  }

  void Abandon() override { cancel_.Cancel(); }

  // The waiting thread's side.
  void Registered() {
    std::lock_guard lock(mu_);
    registered_ = true;
    done_cv_.notify_all();
  }
  void Done(Result<ExitStatus> result) {
    std::lock_guard lock(mu_);
    result_ = std::move(result);
    done_cv_.notify_all();
  }
  // Blocks until the daemon registered the wait (true) or the call ended first.
  bool AwaitRegistered() {
    std::unique_lock lock(mu_);
    done_cv_.wait(lock, [&] { return registered_ || result_.has_value(); });
    return registered_;
  }
  Error FailureBeforeRegistered() {
    std::lock_guard lock(mu_);
    if (result_ && !result_->has_value()) return result_->error();
    return Error(ErrorCode::kInternal, "the wait ended before the daemon registered it");
  }

  HttpCancel cancel_;
  std::thread thread_;

 private:
  std::mutex mu_;
  std::condition_variable done_cv_;
  bool registered_ = false;
  std::optional<Result<ExitStatus>> result_;
};

// Pull errors come from the registry, as HTTP errors of the pull call (the
// manifest) or inside its progress stream (layers); the message tells them apart.
ErrorCode PullErrorCode(std::string_view message) {
  if (message.find("not found") != std::string_view::npos ||
      message.find("manifest unknown") != std::string_view::npos) {
    return ErrorCode::kNotFound;
  }
  if (message.find("unauthorized") != std::string_view::npos ||
      message.find("denied") != std::string_view::npos) {
    return ErrorCode::kPermissionDenied;
  }
  return ErrorCode::kUnavailable;
}

}  // namespace

Result<std::unique_ptr<PendingExit>> DockerRuntime::WaitNextExit(const std::string& id) {
  if (Status st = CheckContainerRef(id); !st) return st.error();
  auto pending = std::make_unique<DockerPendingExit>();
  DockerPendingExit* p = pending.get();
  p->thread_ = std::thread([this, p, id] {
    HttpCall call;
    call.method = "POST";
    call.path = "/containers/" + id + "/wait?condition=next-exit";
    call.what = "wait for " + id + " to exit";
    call.cancel = &p->cancel_;
    // The daemon answers with the headers once the wait is registered (API >= 1.30).
    call.on_headers = [p](long status) {
      if (status >= 200 && status < 300) p->Registered();
    };
    Result<HttpReply> reply = PerformOk(call);
    if (!reply) {
      p->Done(reply.error());
    } else if (reply->aborted) {
      p->Done(Error(ErrorCode::kCancelled, "the wait for " + id + " was abandoned"));
    } else if (reply->body.empty()) {
      p->Done(Error(ErrorCode::kUnavailable, "the wait for " + id +
                                                 " ended without an exit status (did the "
                                                 "daemon restart?)"));
    } else {
      p->Done(ParseWaitBody(reply->body));
    }
  });
  if (!p->AwaitRegistered()) return p->FailureBeforeRegistered();
  return std::unique_ptr<PendingExit>(std::move(pending));
}

Status DockerRuntime::Logs(const std::string& id, int64_t since_unix, bool follow,
                           const LogCallback& on_line, const std::atomic<bool>* stop) {
  if (Status st = CheckContainerRef(id); !st) return st;
  LogDecoder decoder(LogDecoder::Options{options_.max_log_line_bytes, true});
  Status decoded;
  HttpCall call;
  call.method = "GET";
  call.path =
      "/containers/" + id + "/logs?follow=" + (follow ? "1" : "0") +
      "&stdout=1&stderr=1&timestamps=1&since=" + std::to_string(std::max<int64_t>(since_unix, 0));
  call.what = std::string(follow ? "follow" : "read") + " the log of " + id;
  call.stop = stop;
  call.on_body = [&](std::string_view chunk) {
    decoded = decoder.Feed(chunk, on_line);
    return decoded.has_value() && !decoder.stopped();
  };
  Result<HttpReply> reply = PerformOk(call);
  if (!reply) return reply.error();
  if (!decoded) {
    return Unexpected(decoded.error().code(), call.what + ": " + decoded.error().message());
  }
  if (reply->aborted) return Ok();
  if (Status st = decoder.Finish(on_line); !st) {
    return Unexpected(st.error().code(), call.what + ": " + st.error().message());
  }
  return Ok();
}

Status DockerRuntime::Pull(const std::string& image, const std::atomic<bool>* cancelled) {
  Result<ImageReference> ref = SplitImageReference(image);
  if (!ref) return ref.error();
  std::string line;
  std::string failure;
  HttpCall call;
  call.method = "POST";
  call.path =
      "/images/create?fromImage=" + UrlEncode(ref->from_image) + "&tag=" + UrlEncode(ref->tag);
  call.what = "pull " + image;
  call.stop = cancelled;
  auto check_line = [&]() {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) failure = PullLineError(line);
    line.clear();
    return failure.empty();
  };
  call.on_body = [&](std::string_view chunk) {
    while (!chunk.empty()) {
      size_t nl = chunk.find('\n');
      line.append(chunk.substr(0, nl));
      if (line.size() > kMaxPullLine) {
        failure = "a pull progress line is longer than 1 MiB";
        return false;
      }
      if (nl == std::string_view::npos) break;
      if (!check_line()) return false;
      chunk.remove_prefix(nl + 1);
    }
    return true;
  };
  Result<HttpReply> reply = Perform(call);
  if (!reply) return reply.error();
  if (reply->status < 200 || reply->status > 299) {
    Error error = DockerError(reply->status, reply->body, call.what);
    ErrorCode code = reply->status == 400
                         ? ErrorCode::kInvalidArgument
                         : PullErrorCode(DockerErrorMessage(reply->status, reply->body));
    return Unexpected(code, error.message());
  }
  if (failure.empty() && !reply->aborted) check_line();
  if (!failure.empty()) return Unexpected(PullErrorCode(failure), call.what + ": " + failure);
  if (reply->aborted) return Unexpected(ErrorCode::kCancelled, call.what + ": cancelled");
  return Ok();
}

Result<ExecOutput> DockerRuntime::Exec(const std::string& id, const std::vector<std::string>& cmd) {
  if (Status st = CheckContainerRef(id); !st) return st.error();
  Result<std::string> body = ExecCreateBody(cmd);
  if (!body) return body.error();
  HttpCall create;
  create.method = "POST";
  create.path = "/containers/" + id + "/exec";
  create.body = *body;
  create.timeout = options_.call_timeout;
  create.what = "exec in " + id;
  Result<HttpReply> created = PerformOk(create);
  if (!created) return created.error();
  Result<std::string> exec_id = ParseExecId(created->body);
  if (!exec_id) return exec_id.error();

  ExecOutput out;
  FrameDemuxer demuxer;
  Status demuxed;
  std::string system_error;
  size_t cap = options_.max_exec_output_bytes;
  HttpCall start;
  start.method = "POST";
  start.path = "/exec/" + *exec_id + "/start";
  start.body = R"({"Detach":false,"Tty":false})";
  start.timeout = options_.call_timeout;
  start.what = create.what;
  // The daemon hijacks the connection: the multiplexed output runs until it closes.
  start.on_body = [&](std::string_view chunk) {
    demuxed = demuxer.Feed(chunk, [&](FrameType type, std::string_view piece, bool, bool) {
      std::string& dst = type == FrameType::kStderr        ? out.stderr_text
                         : type == FrameType::kSystemError ? system_error
                                                           : out.stdout_text;
      size_t room = cap - std::min(cap, dst.size());
      if (piece.size() > room) out.truncated = true;
      dst.append(piece.substr(0, room));
      return true;
    });
    return demuxed.has_value();
  };
  Result<HttpReply> started = PerformOk(start);
  if (!started) return started.error();
  if (!demuxed)
    return Unexpected(demuxed.error().code(), start.what + ": " + demuxed.error().message());
  if (!system_error.empty()) {
    return Unexpected(ErrorCode::kInternal, start.what + ": docker reported: " + system_error);
  }

  // The stream closes as the process exits; the exit code follows a moment later.
  for (int i = 0;; ++i) {
    HttpCall inspect;
    inspect.method = "GET";
    inspect.path = "/exec/" + *exec_id + "/json";
    inspect.timeout = options_.call_timeout;
    inspect.what = create.what;
    Result<HttpReply> state_reply = PerformOk(inspect);
    if (!state_reply) return state_reply.error();
    Result<ExecState> state = ParseExecState(state_reply->body);
    if (!state) return state.error();
    if (!state->running) {
      out.exit_code = state->exit_code;
      return out;
    }
    if (i == 100) {
      return Unexpected(ErrorCode::kDeadlineExceeded,
                        start.what + ": the output ended but the process still runs");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace labelrun::runtime
