#pragma once
// The GitHub REST client: the calls labelrun makes, as blocking functions that
// return values. Call it from worker threads, never from an Asio I/O thread.
//
// Every request carries Accept: application/vnd.github+json,
// X-GitHub-Api-Version: 2022-11-28, User-Agent: labelrun/<version> and the
// installation's token. Errors carry GitHub's `message`; the code says what to
// do: kUnavailable / kDeadlineExceeded (outage: retry later), kResourceExhausted
// (rate limited: retry after RetryAt()), kUnauthenticated, kPermissionDenied,
// kNotFound, kInvalidArgument (422), kAlreadyExists (422 already_exists).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "labelrun/core/clock.hpp"
#include "labelrun/core/result.hpp"
#include "labelrun/github/http.hpp"
#include "labelrun/github/permission.hpp"
#include "labelrun/github/rate_limit.hpp"
#include "labelrun/github/token_source.hpp"

namespace labelrun::github {

struct Repo {
  std::string owner;
  std::string name;
  std::string full_name() const { return owner + "/" + name; }
};

struct Comment {
  int64_t id = 0;
  std::string body;
  std::string html_url;
  std::string user_login;
};

struct Label {
  std::string name;
  std::string color;  // 6 hex digits, no '#'
  std::string description;
};

// GET /repos/{owner}/{repo}, the parts labelrun reads.
struct RepositoryInfo {
  std::string full_name;
  std::string default_branch;
  bool is_private = false;
};

// GET /repos/{owner}/{repo}/pulls/{number}, the parts labelrun reads.
struct PullRequestInfo {
  int64_t number = 0;
  std::string state;  // "open", "closed"
  std::string head_sha;
  std::string head_repo;  // "owner/name"; "" when the head's repository is gone
  std::string base_repo;  // "owner/name"
};

struct PermissionInfo {
  Permission level = Permission::kNone;
  std::string role_name;  // as GitHub names it, custom roles included
};

// The hidden marker that identifies labelrun's comment for a job:
// "<!-- labelrun:job=ID -->".
std::string JobMarker(std::string_view job_id);

// The `next` URL of a Link header, or empty.
std::string NextPageUrl(std::string_view link_header);

struct ClientOptions {
  std::string api_url = "https://api.github.com";
  int max_attempts = 4;
  std::chrono::milliseconds max_inline_wait{std::chrono::seconds(10)};
  // Waits between attempts; tests pass a recorder. Default: sleep_for.
  std::function<void(std::chrono::milliseconds)> sleep;
  // Uniform draws in [0, 1) for jitter. Default: a thread-local PRNG.
  std::function<double()> jitter;
};

ClientOptions ClientOptionsFrom(const Settings& settings);

class Client {
 public:
  // REQUIRES: transport, tokens and clock outlive the client. Thread-safe.
  Client(ClientOptions options, Transport& transport, TokenSource& tokens, const Clock& clock);

  // Not retried inside the call after a 5xx or a lost answer (see Call).
  Result<Comment> CreateComment(int64_t installation, const Repo& repo, int64_t issue,
                                std::string_view body);
  Result<Comment> UpdateComment(int64_t installation, const Repo& repo, int64_t comment_id,
                                std::string_view body);
  // All comments on the issue, oldest first, following Link rel="next".
  Result<std::vector<Comment>> ListComments(int64_t installation, const Repo& repo, int64_t issue);
  // The first comment whose body contains `marker` (see JobMarker), or nullopt.
  Result<std::optional<Comment>> FindComment(int64_t installation, const Repo& repo, int64_t issue,
                                             std::string_view marker);

  // Returns the issue's labels after the change.
  Result<std::vector<std::string>> AddLabels(int64_t installation, const Repo& repo, int64_t issue,
                                             const std::vector<std::string>& labels);
  // A label not on the issue (404) counts as removed.
  Status RemoveLabel(int64_t installation, const Repo& repo, int64_t issue, std::string_view name);

  Result<std::vector<Label>> ListRepoLabels(int64_t installation, const Repo& repo);
  // 422 already_exists -> kAlreadyExists.
  Result<Label> CreateRepoLabel(int64_t installation, const Repo& repo, const Label& label);
  // Makes the repository label `name` look like `label`: colour, description,
  // and a rename when label.name differs (labels/sync.hpp kRename keeps the
  // label on every issue that carries it).
  Result<Label> UpdateRepoLabel(int64_t installation, const Repo& repo, std::string_view name,
                                const Label& label);
  Status DeleteRepoLabel(int64_t installation, const Repo& repo, std::string_view name);

  Result<PermissionInfo> GetPermission(int64_t installation, const Repo& repo,
                                       std::string_view user);

  // content: +1, -1, laugh, confused, heart, hooray, rocket, eyes.
  Status AddCommentReaction(int64_t installation, const Repo& repo, int64_t comment_id,
                            std::string_view content);
  Status AddIssueReaction(int64_t installation, const Repo& repo, int64_t issue,
                          std::string_view content);

  Result<RepositoryInfo> GetRepository(int64_t installation, const Repo& repo);
  // The commit SHA that `branch` points at (GET /repos/{o}/{r}/git/ref/heads/{branch}).
  // kNotFound for a missing branch; kFailedPrecondition (409) for an empty repository.
  Result<std::string> GetBranchHead(int64_t installation, const Repo& repo,
                                    std::string_view branch);

  // Downloads the repository's tarball at `ref` (a commit SHA) to `dest`,
  // following GitHub's redirect to its download host (the Authorization header
  // is not sent to another host). Returns the bytes written; fails with
  // kResourceExhausted past `max_bytes`. `dest` is removed on failure.
  Result<int64_t> DownloadTarball(int64_t installation, const Repo& repo, std::string_view ref,
                                  const std::filesystem::path& dest,
                                  int64_t max_bytes = int64_t{2} << 30);

  // Check runs (the App needs checks: write). `body` is the JSON GitHub takes
  // (name, head_sha, status, conclusion, output, actions, ...). Create returns the
  // check run's id; it is not retried inside the call after a 5xx or a lost answer.
  Result<int64_t> CreateCheckRun(int64_t installation, const Repo& repo, std::string_view body);
  Status UpdateCheckRun(int64_t installation, const Repo& repo, int64_t check_run_id,
                        std::string_view body);
  // The id of the check run on `head_sha` whose external_id is `external_id`, if any.
  Result<std::optional<int64_t>> FindCheckRun(int64_t installation, const Repo& repo,
                                              std::string_view head_sha,
                                              std::string_view external_id);
  Result<PullRequestInfo> GetPullRequest(int64_t installation, const Repo& repo, int64_t number);

  // While rate limited, the time GitHub allows the next request for this
  // installation; calls before it fail fast with kResourceExhausted.
  std::optional<std::chrono::system_clock::time_point> RetryAt(int64_t installation) const;

  // Where the client's retries went (for tests and /metrics).
  struct Counters {
    int64_t requests = 0;
    int64_t retries = 0;
    int64_t rate_limited = 0;
  };
  Counters counters() const;

 private:
  // One REST call with retries. `target` is a path under api_url or, for
  // pagination, an absolute URL under api_url. Non-2xx answers become errors.
  // `body_file`: see HttpRequest::body_file. `idempotent` false: a 5xx or a
  // lost answer is not retried inside the call, because GitHub may have acted
  // on it (a comment create); the outbox retries after looking for the marker.
  Result<HttpResponse> Call(int64_t installation, std::string_view method, std::string_view target,
                            const std::string* json_body, bool idempotent = true,
                            const std::filesystem::path* body_file = nullptr,
                            int64_t max_file_bytes = 0);
  Result<std::vector<HttpResponse>> CallPaginated(int64_t installation, std::string path);
  // Sleeps `advice.wait` before another attempt, or returns `failure` (with
  // the wait it asked for) when attempts or max_inline_wait are spent.
  Status WaitToRetry(const RetryAdvice& advice, const Error& failure, int attempt,
                     int64_t installation);

  ClientOptions options_;
  Transport& transport_;
  TokenSource& tokens_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<int64_t, std::chrono::system_clock::time_point> blocked_until_;
  Counters counters_;
};

}  // namespace labelrun::github
