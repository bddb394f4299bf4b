#pragma once
// Typed webhook events: only the fields labelrun acts on. Issue and comment text
// is kept only where a command may live (comment bodies); issue bodies never are.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace labelrun::webhook {

struct Actor {
  std::string login;
  int64_t id = 0;
  std::string type;  // "User", "Bot", "Organization"
  bool operator==(const Actor&) const = default;
};

struct Repository {
  int64_t id = 0;
  std::string full_name;  // "owner/name"
  std::string default_branch;
  bool is_private = false;
  bool operator==(const Repository&) const = default;
};

// Fields every repository event carries.
struct Envelope {
  std::string action;
  Repository repository;
  Actor sender;
  int64_t installation_id = 0;  // 0 when not delivered to a GitHub App
  bool operator==(const Envelope&) const = default;
};

// `issues`: labeled, unlabeled, closed, reopened.
struct IssuesEvent : Envelope {
  int64_t number = 0;
  std::string title;
  std::string state;                 // "open", "closed"
  std::vector<std::string> labels;   // the issue's labels after the change
  std::optional<std::string> label;  // the label added or removed; absent in some payloads
  bool is_pull_request = false;
  bool operator==(const IssuesEvent&) const = default;
};

// `issue_comment`: created.
struct IssueCommentEvent : Envelope {
  int64_t number = 0;
  std::string state;
  std::vector<std::string> labels;
  bool is_pull_request = false;
  int64_t comment_id = 0;
  std::string comment_body;
  std::string author_association;
  bool operator==(const IssueCommentEvent&) const = default;
};

// `pull_request`: labeled, unlabeled, closed, synchronize (new commits pushed).
struct PullRequestEvent : Envelope {
  int64_t number = 0;
  std::string state;
  std::vector<std::string> labels;
  std::optional<std::string> label;
  std::string head_sha;  // the PR's head as of this delivery
  std::string head_ref;
  std::string head_repo;  // "owner/name" of the head's repository; "" when GitHub gives none
  bool merged = false;
  // The head lives in another repository than the base (a fork), or in one GitHub
  // no longer names (a deleted fork).
  bool from_fork() const { return head_repo != repository.full_name; }
  bool operator==(const PullRequestEvent&) const = default;
};

// `check_run`: rerequested (GitHub's "Re-run") and requested_action (a button the
// check run offers, by its identifier).
struct CheckRunEvent : Envelope {
  int64_t check_run_id = 0;
  std::string external_id;  // labelrun's job id
  std::string head_sha;
  std::string name;
  int64_t pull_request = 0;  // the first pull request GitHub lists for it; 0: none
  std::string requested_action;
  bool operator==(const CheckRunEvent&) const = default;
};

// `installation` (created, deleted, suspend, ...) and `installation_repositories`
// (added, removed).
struct InstallationEvent : Envelope {
  std::string account;
  std::vector<std::string> repositories_added;
  std::vector<std::string> repositories_removed;
  bool operator==(const InstallationEvent&) const = default;
};

// `ping`: sent when the hook is created.
struct PingEvent {
  std::string zen;
  int64_t hook_id = 0;
  int64_t app_id = 0;
  bool operator==(const PingEvent&) const = default;
};

// Any event or action labelrun does not act on: acknowledged, not stored.
struct IgnoredEvent {
  std::string action;
  bool operator==(const IgnoredEvent&) const = default;
};

using Event = std::variant<IssuesEvent, IssueCommentEvent, PullRequestEvent, InstallationEvent,
                           PingEvent, IgnoredEvent, CheckRunEvent>;

// A verified, parsed delivery.
struct Delivery {
  std::string guid;   // X-GitHub-Delivery
  std::string event;  // X-GitHub-Event
  Event payload;
};

// The payload's action ("" for ping).
std::string_view ActionOf(const Event& event);
// "owner/name", or "" when the event has no repository.
std::string_view RepositoryOf(const Event& event);
// Whether labelrun stores and processes this event.
inline bool IsActionable(const Event& event) {
  return !std::holds_alternative<IgnoredEvent>(event) && !std::holds_alternative<PingEvent>(event);
}

}  // namespace labelrun::webhook
