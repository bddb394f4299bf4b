#pragma once
// The durable outbox of writes to GitHub (schema migration 2). A write is a row
// before anything is sent; the paced worker (github/outbox_worker.hpp) claims
// the oldest open row of each installation, sends it and marks it done, to
// retry, or failed. Thread-safe: one connection behind a mutex; no call waits
// on the network.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "labelrun/core/result.hpp"
#include "labelrun/store/sqlite.hpp"

namespace labelrun::store {

enum class WriteKind {
  kComment,
  kAddLabels,
  kRemoveLabel,
  kCommentReaction,
  kIssueReaction,
  // A job's check run on a commit: created once, then updated, like a report
  // comment. `payload` is the JSON body GitHub takes (with `head_sha`, which an
  // update leaves out); the check run's id is kept as a report comment's is.
  kCheckRun,
};

// Writes created once and edited after (a report comment, a check run).
inline bool IsEdited(WriteKind kind) {
  return kind == WriteKind::kComment || kind == WriteKind::kCheckRun;
}

std::string_view WriteKindName(WriteKind kind);

struct OutboxWrite {
  int64_t id = 0;  // set by Enqueue
  int64_t installation_id = 0;
  std::string repository;  // owner/name
  int64_t issue = 0;
  WriteKind kind = WriteKind::kComment;
  // kComment: the job whose report comment this is; the comment is created
  // once and edited after, found again by its marker after a crash.
  std::string job_key;
  // Comment body; labels one per line; label name; reaction content.
  std::string payload;
  int64_t comment_id = 0;  // kCommentReaction
  int64_t attempts = 0;    // sends started so far
  int64_t not_before_ms = 0;
  int64_t created_ms = 0;  // set by Enqueue: when the write was first queued
  // kComment and kCheckRun, from Reserve/Begin only (not stored): the GitHub
  // comment (check run) that holds the job's report as known when the write was
  // reserved, 0 if none.
  bool comment_known = false;
  int64_t report_comment_id = 0;
  // kComment and kCheckRun, at Enqueue only (not stored): whether this body may replace the
  // job's newest edit that is still pending. False for a write that must reach
  // GitHub as its own edit after the pending one (a job's new state).
  bool coalesce = true;
};

class OutboxStore {
 public:
  // Opens (and migrates) the database at `path`; rows left 'sending' by a crash
  // go back to 'pending' (their attempts count says they may have been sent).
  static Result<std::unique_ptr<OutboxStore>> Open(const std::filesystem::path& path);

  // Appends a write and returns its id. A kComment with `coalesce` set, for a
  // job whose newest edit is still pending (not yet claimed), replaces that
  // edit's body in place (only the newest body is sent) and returns the pending
  // row's id. Older pending edits of the job are never touched.
  Result<int64_t> Enqueue(const OutboxWrite& write, int64_t now_ms);
  // Enqueue of each write, in order, in one commit (all or none): their ids in
  // the same order. Flush::kWithNext, for progress edits only (each carries the
  // job's whole report and is replaced by the next): the commit is not flushed by
  // itself but by the next flushed commit on the database, so a power loss before
  // it loses the edits, never a write queued after them.
  enum class Flush { kNow, kWithNext };
  Result<std::vector<int64_t>> EnqueueAll(const std::vector<OutboxWrite>& writes, int64_t now_ms,
                                          Flush flush = Flush::kNow);
  // Drops a write never tried, so that it is never sent. False once tried (an
  // attempt may have reached GitHub), being sent, sent, failed, or unknown.
  Result<bool> Cancel(int64_t id);

  // The oldest open write of each installation, in id order.
  Result<std::vector<OutboxWrite>> Heads();
  // Marks the write 'sending', counts the attempt and returns it as it is now
  // (a coalesced body included). nullopt if it is no longer pending.
  Result<std::optional<OutboxWrite>> Claim(int64_t id);
  // Claim in two steps, so that the commit is not between the moment the pacing
  // allows a write and the moment it is sent: Reserve commits what Claim does
  // (the attempt is counted before anything may reach GitHub), yet the write
  // stays open, as a pending one is, to Enqueue's coalescing and to Cancel until
  // Begin returns it for sending (nullopt: cancelled meanwhile). Release hands a
  // reservation never begun back to 'pending', its attempt uncounted.
  // Reservations are held in memory, by this object: a crash leaves the row
  // 'sending' with the attempt counted, which Open treats as any other. Begin
  // never waits for the database (the reserved row, newer bodies included, and
  // for kComment the job's comment id, are kept in memory), so that a commit
  // under way on this connection does not delay a write that is due.
  Result<bool> Reserve(int64_t id);
  std::optional<OutboxWrite> Begin(int64_t id);
  Status Release(int64_t id);
  // MarkDone and MarkCommentDone commit without a disk flush of their own, as
  // does Reserve of an edit of a comment (check run) GitHub already has: the next
  // flushed commit on the database carries them. A power loss before it leaves the
  // database as a crash just before them would, which Open already handles: an
  // edit is sent again (twice is harmless), and a create, whose reservation is
  // always flushed, first looks for its marker. So a job's progress edits wait for
  // no flush in the worker; only their Enqueue flushes.
  Status MarkDone(int64_t id, int64_t now_ms);
  // MarkDone for a job's report comment, and SetCommentId for its job, in one
  // commit.
  Status MarkCommentDone(int64_t id, int64_t now_ms, int64_t comment_id);
  Status MarkRetry(int64_t id, int64_t not_before_ms, std::string_view error);
  Status MarkFailed(int64_t id, std::string_view error);

  // The GitHub comment that holds the job's report, if known.
  Result<std::optional<int64_t>> CommentId(std::string_view repository, int64_t issue,
                                           std::string_view job_key);
  Status SetCommentId(std::string_view repository, int64_t issue, std::string_view job_key,
                      int64_t comment_id);

  // Deletes done writes sent before `sent_before_ms` (failed ones stay for
  // people to read). Returns how many went.
  Result<int64_t> PruneDone(int64_t sent_before_ms);

  // Writes not yet done or failed.
  Result<int64_t> Depth();
  // For tests and the dashboard: every write in id order.
  Result<std::vector<OutboxWrite>> All();

 private:
  explicit OutboxStore(Database db) : db_(std::move(db)) {}
  Result<std::vector<OutboxWrite>> Query(std::string_view sql, int64_t bind = 0);
  Result<int64_t> EnqueueLocked(const OutboxWrite& write, int64_t now_ms);  // REQUIRES: mu_ held

  std::mutex mu_;  // the connection; held across commits
  Database db_;
  // Reserved writes not yet begun, as they will be sent. Taken after mu_ when both
  // are held; never held across a commit, except by Cancel.
  std::mutex reserved_mu_;
  std::map<int64_t, OutboxWrite> reserved_;
};

}  // namespace labelrun::store
