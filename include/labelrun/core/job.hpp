#pragma once
// A job's state, shared by the scheduler (which moves it) and the report side
// (which shows it).

#include <optional>
#include <string_view>

namespace labelrun {

enum class JobState {
  kQueued,     // decided, waiting for a host with room
  kPulling,    // the image is being pulled
  kStarting,   // container created, code being copied in, starting
  kRunning,    // the container runs
  kSucceeded,  // exited 0
  kFailed,     // exited non-zero, OOM-killed, start refused, lost
  kCancelled,  // cancelled by a person or a rule decision
  kTimedOut,   // ran past the rule's timeout
};

// "queued", "pulling", "starting", "running", "succeeded", "failed", "cancelled", "timed_out".
std::string_view JobStateName(JobState state);
std::optional<JobState> ParseJobState(std::string_view name);
// Succeeded, failed, cancelled and timed out are final.
bool IsFinal(JobState state);

}  // namespace labelrun
