#include "labelrun/core/job.hpp"

#include <array>
#include <utility>

namespace labelrun {
namespace {

constexpr std::array<std::pair<JobState, std::string_view>, 8> kNames{{
    {JobState::kQueued, "queued"},
    {JobState::kPulling, "pulling"},
    {JobState::kStarting, "starting"},
    {JobState::kRunning, "running"},
    {JobState::kSucceeded, "succeeded"},
    {JobState::kFailed, "failed"},
    {JobState::kCancelled, "cancelled"},
    {JobState::kTimedOut, "timed_out"},
}};

}  // namespace

std::string_view JobStateName(JobState state) {
  for (const auto& [s, name] : kNames) {
    if (s == state) return name;
  }
  return "unknown";
}

std::optional<JobState> ParseJobState(std::string_view name) {
  for (const auto& [s, n] : kNames) {
    if (n == name) return s;
  }
  return std::nullopt;
}

bool IsFinal(JobState state) {
  return state == JobState::kSucceeded || state == JobState::kFailed ||
         state == JobState::kCancelled || state == JobState::kTimedOut;
}

}  // namespace labelrun
