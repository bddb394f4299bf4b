#pragma once
// A loopback stand-in for the parts of GitHub's REST API that labelrun uses.
// HTTP/1.1 on 127.0.0.1, port 0, one thread, one connection at a time
// (Connection: close). Like GitHub it:
//   - verifies App JWTs (RS256) against the App's public key and rejects
//     expired, future-dated, over-long or wrongly issued ones;
//   - issues installation tokens that expire (Options::token_lifetime) and
//     answers 401 "Bad credentials" to expired or unknown tokens;
//   - stores comments, issue labels, repository labels and reactions;
//   - answers 422 to comment bodies over 65,536 characters;
//   - serves collaborator permissions set by the test;
//   - serves repositories (default_branch), branch heads (git/ref/heads/...)
//     and tarballs set by the test, to installation tokens only;
//   - serves pull requests (GET /repos/{o}/{r}/pulls/{n}); a fork's head tarball is
//     served through the base repository (SetTarball on the base with the head SHA);
//   - creates, updates and lists check runs (POST /repos/{o}/{r}/check-runs, PATCH
//     and GET .../check-runs/{id}, GET .../commits/{sha}/check-runs), answering 422
//     as GitHub does to an output title, summary or text over 65,535 characters,
//     more than 3 actions, an action label over 20, description over 40 or
//     identifier over 20 characters, an unknown status or conclusion, or a
//     completed one without conclusion;
//   - renames repository labels (PATCH new_name) with 422 already_exists when
//     the name is taken; a renamed or deleted label follows on every issue;
//   - answers GET /repos/{o}/{r}/installation to App JWTs, and 404 for
//     uninstalled installations there and on the token endpoint;
//   - on command answers 403 + retry-after, 403 + x-ratelimit-remaining: 0,
//     a secondary-limit 403 with or without retry-after, 429, 500, 502, closes
//     the connection unanswered, or hangs (never answers); on the token
//     endpoint too (PushTokenFault).
// Time comes from the Clock passed in, so a ManualClock drives token expiry.
// All methods are thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "labelrun/core/clock.hpp"

namespace labelrun::testing {

struct FakeComment {
  int64_t id = 0;
  std::string body;
};

struct FakeLabel {
  std::string name;
  std::string color;
  std::string description;
};

// A check run as GitHub keeps it: the fields of its create and every update merged.
struct FakeCheckRun {
  int64_t id = 0;
  std::string repo;
  std::string name;
  std::string head_sha;
  std::string external_id;
  std::string details_url;
  std::string status;      // queued, in_progress, completed
  std::string conclusion;  // "" until completed
  std::string title, summary, text;
  std::vector<std::string> action_identifiers;  // the actions it offers now
  int updates = 0;                              // PATCHes accepted
};

// GET /repos/{o}/{r}/pulls/{number}.
struct FakePullRequest {
  int64_t number = 0;
  std::string head_sha;
  std::string head_repo;  // "owner/name" of the head's repository (a fork's, or the base)
  std::string state = "open";
};

enum class FakeFault {
  kRetryAfter,           // 403 + retry-after: seconds
  kRateLimitReset,       // 403 + x-ratelimit-remaining: 0 + x-ratelimit-reset: now + seconds
  kSecondary,            // 403, secondary-limit message, no headers
  kTooMany,              // 429 without headers
  kServerError,          // 500
  kHang,                 // read the request, never answer (until the client gives up)
  kBadGateway,           // 502, as GitHub's front end answers during an outage
  kClose,                // read the request, close the connection without an answer
  kSecondaryRetryAfter,  // 403, secondary-limit message + retry-after: seconds
  kForbidden,            // 403 "Resource not accessible by integration", no rate-limit headers
  kUnprocessable,        // 422 "Validation Failed"
};

// What a request looked like (for header checks), in the order they came. The credential is reduced
// to its scheme.
struct FakeRequest {
  std::string method;
  std::string target;
  std::string auth_scheme;  // "Bearer", "token" or ""
  std::string user_agent;
  std::string accept;
  std::string api_version;
  long status = 0;
  std::string body;        // the request body (comment texts, labels)
  int64_t at_unix_ms = 0;  // when it was read, on the server's Clock
};

class FakeGithub {
 public:
  struct Options {
    std::string app_issuer = "12345";  // the JWT `iss` accepted (number or string)
    std::string public_key_pem;        // the App's key; empty: App auth refused
    std::chrono::seconds token_lifetime{std::chrono::hours(1)};
    std::string static_token;         // also accepted as a credential (token mode)
    int max_page_size = 100;          // per_page is capped here; lower it to test paging
    std::string app_private_key_pem;  // the pem a manifest conversion hands out
    // Connections served at once, as GitHub serves a client's requests in
    // parallel. 1: one after another (the order tests read is the order sent).
    int connection_threads = 1;
  };

  // REQUIRES: clock outlives the server.
  FakeGithub(Options options, const Clock& clock);
  ~FakeGithub();
  FakeGithub(const FakeGithub&) = delete;
  FakeGithub& operator=(const FakeGithub&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const;  // http://127.0.0.1:PORT

  // The next `times` requests (other than token requests) fail this way.
  // `seconds` is the retry-after value, or the distance to x-ratelimit-reset.
  void PushFault(FakeFault fault, int times = 1, int64_t seconds = 1);
  // The same for POST /app/installations/{id}/access_tokens only.
  void PushTokenFault(FakeFault fault, int times = 1, int64_t seconds = 1);
  // GET /repos/{repo}/installation (App JWT) answers with this installation id;
  // other repositories: 404. Uninstalled ids get 404 from the token endpoint
  // and from that route, as on GitHub.
  void SetRepoInstallation(const std::string& repo, int64_t installation);
  void Uninstall(int64_t installation);
  // The next `times` requests for `path` fail this way, or for any path under it
  // when it ends in '/' (such as "/repos/o/r/git/ref/"); other requests are not
  // affected. These come before the faults of PushFault.
  void PushPathFault(const std::string& path, FakeFault fault, int times = 1, int64_t seconds = 1);
  void SetPermission(const std::string& repo, const std::string& user,
                     const std::string& role_name);
  void AddRepoLabel(const std::string& repo, FakeLabel label);
  void AddIssueLabel(const std::string& repo, int64_t issue, const std::string& name);
  int64_t AddComment(const std::string& repo, int64_t issue, const std::string& body);

  // GET /repos/{repo} answers with this default branch (other repositories: 404).
  void SetRepository(const std::string& repo, const std::string& default_branch);
  // GET /repos/{repo}/git/ref/heads/{branch} answers with this commit SHA.
  void SetBranch(const std::string& repo, const std::string& branch, const std::string& sha);
  // GET /repos/{repo}/tarball/{ref} redirects (302) to a download URL on the
  // same server that serves these bytes without credentials.
  void SetTarball(const std::string& repo, const std::string& ref, std::string bytes);

  void SetPullRequest(const std::string& repo, FakePullRequest pr);
  std::vector<FakeCheckRun> CheckRuns(const std::string& repo) const;

  std::vector<FakeComment> Comments(const std::string& repo, int64_t issue) const;
  std::vector<std::string> IssueLabels(const std::string& repo, int64_t issue) const;
  std::vector<FakeLabel> RepoLabels(const std::string& repo) const;
  std::vector<std::string> Reactions(int64_t comment_id) const;
  std::vector<FakeRequest> Requests() const;

  // GitHub's App manifest flow. POST {url}/settings/apps/new?state=S (or
  // /organizations/ORG/settings/apps/new) with a form field `manifest` registers
  // the App as the person's browser would, and redirects (302) to the
  // manifest's redirect_url with ?code=C&state=S. POST /app-manifests/C/conversions
  // (no credentials) then answers 201 with the App's id, slug, pem (the App key
  // of Options::app_private_key_pem), webhook_secret and client credentials,
  // once; a used or unknown code is 404. The manifests received, in order:
  std::vector<std::string> AppManifests() const;
  int64_t tokens_issued() const;
  // Why the last JWT was refused ("" if none was).
  std::string last_jwt_error() const;

 private:
  struct Response {
    long status = 200;
    std::string body;
    std::vector<std::string> headers;
    bool hang = false;
    bool drop = false;  // close the connection without answering
  };
  struct Parsed {
    std::string method;
    std::string path;
    std::map<std::string, std::string> query;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
    std::string header(const std::string& name) const {
      auto it = headers.find(name);
      return it == headers.end() ? "" : it->second;
    }
  };
  void Serve();
  void HandleConnection(int fd);
  Response Route(const Parsed& req);
  Response Api(const Parsed& req, const std::vector<std::string>& seg);
  Response IssueToken(const Parsed& req, const std::string& installation);
  Response NewApp(const Parsed& req, const std::string& organization);
  Response ConvertManifest(const std::string& code);
  Response RepoInstallation(const Parsed& req, const std::string& repo);
  // /repos/{o}/{r}/check-runs... and /repos/{o}/{r}/commits/{sha}/check-runs.
  // REQUIRES: mu_ held.
  Response CheckRunApi(const Parsed& req, const std::vector<std::string>& seg,
                       const std::string& body);
  // REQUIRES: mu_ held.
  Response FaultResponse(FakeFault fault, int64_t seconds) const;
  bool VerifyJwt(const std::string& jwt, std::string& why) const;

  Options options_;
  const Clock& clock_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  // With connection_threads > 1: accepted connections waiting for a worker.
  std::mutex accepted_mu_;
  std::condition_variable accepted_cv_;
  std::deque<int> accepted_;
  std::vector<std::thread> workers_;
  // One request is routed at a time. The readers take it too, so a test never sees a
  // route's effect (a check run completed) before the request that made it is logged.
  mutable std::mutex route_mu_;

  mutable std::mutex mu_;
  std::deque<std::pair<FakeFault, int64_t>> faults_;
  std::deque<std::pair<FakeFault, int64_t>> token_faults_;
  std::map<std::string, int64_t> repo_installations_;  // "o/r"
  std::vector<int64_t> uninstalled_;
  struct PathFault {
    std::string path;
    FakeFault fault;
    int64_t seconds;
  };
  std::deque<PathFault> path_faults_;
  std::map<std::string, std::chrono::system_clock::time_point> tokens_;
  std::map<std::string, std::vector<FakeComment>> comments_;      // "o/r#n"
  std::map<std::string, std::vector<std::string>> issue_labels_;  // "o/r#n"
  std::map<std::string, std::vector<FakeLabel>> repo_labels_;     // "o/r"
  std::map<std::string, std::string> roles_;                      // "o/r@user"
  std::map<int64_t, std::vector<std::string>> reactions_;
  std::map<std::string, std::string> tarballs_;          // "o/r@ref"
  std::map<std::string, std::string> default_branches_;  // "o/r"
  std::map<std::string, std::string> branches_;          // "o/r@branch" -> sha
  std::vector<FakeRequest> requests_;
  std::map<int64_t, std::string> check_runs_;             // id -> JSON with "repo"
  std::map<std::string, FakePullRequest> pull_requests_;  // "o/r#n"
  std::vector<std::string> app_manifests_;
  std::map<std::string, std::string> manifest_codes_;  // code -> the App's JSON
  int64_t next_id_ = 1000;
  int64_t tokens_issued_ = 0;
  std::string last_jwt_error_;
};

}  // namespace labelrun::testing
