// What Slurm's commands print, read: squeue --json, sacct -P lines, GRES
// details, labelrun's job comment; and Slurm's states in words.
#include <nlohmann/json.hpp>

#include <set>

#include "labelrun/core/strings.hpp"
#include "labelrun/runtime/slurm.hpp"

namespace labelrun::runtime {
namespace {

std::string JsonText(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return std::to_string(it->get<int64_t>());
  return "";
}

int64_t JsonInt(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return 0;
  return it->get<int64_t>();
}

}  // namespace

std::vector<std::string> ParseGresIndices(std::string_view detail) {
  std::vector<std::string> out;
  const size_t at = detail.find("IDX:");
  if (at == std::string_view::npos) return out;
  std::string_view list = detail.substr(at + 4);
  list = list.substr(0, list.find(')'));
  for (std::string_view part : Split(list, ',')) {
    part = Trim(part);
    const size_t dash = part.find('-');
    try {
      if (dash == std::string_view::npos) {
        if (!part.empty()) out.push_back(std::to_string(std::stoi(std::string(part))));
        continue;
      }
      const int from = std::stoi(std::string(part.substr(0, dash)));
      const int to = std::stoi(std::string(part.substr(dash + 1)));
      for (int i = from; i <= to && i - from < 1024; ++i) out.push_back(std::to_string(i));
    } catch (const std::exception&) {
      continue;  // "N/A" and the like
    }
  }
  return out;
}

std::map<std::string, std::string> ParseJobComment(std::string_view comment) {
  std::map<std::string, std::string> out;
  comment = Trim(comment);
  if (comment.rfind("labelrun ", 0) != 0) return out;
  for (std::string_view word : Split(comment.substr(9), ' ')) {
    const size_t eq = word.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    out.emplace(std::string(word.substr(0, eq)), std::string(word.substr(eq + 1)));
  }
  return out;
}

Result<std::vector<SlurmJob>> ParseSqueueJson(std::string_view text) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("jobs") || !doc["jobs"].is_array()) {
    return Unexpected(ErrorCode::kInvalidArgument, "squeue --json printed no job list");
  }
  std::vector<SlurmJob> out;
  for (const nlohmann::json& j : doc["jobs"]) {
    if (!j.is_object()) continue;
    SlurmJob job;
    job.slurm_id = JsonText(j, "job_id");
    job.name = JsonText(j, "name");
    job.comment = JsonText(j, "comment");
    job.state = JsonText(j, "job_state");
    job.reason = JsonText(j, "state_reason");
    job.partition = JsonText(j, "partition");
    job.priority = JsonInt(j, "priority");
    job.submit_time = JsonInt(j, "submit_time");
    // A pending job's start_time is Slurm's estimate, not a start.
    if (job.state != "PENDING") job.start_time = JsonInt(j, "start_time");
    job.node = JsonText(j, "nodes");
    // squeue gives the raw wait status of an ended job.
    const int64_t status = JsonInt(j, "exit_code");
    if ((status & 0x7f) != 0) {
      job.signal = static_cast<int>(status & 0x7f);
      job.exit_code = 128 + job.signal;
    } else {
      job.exit_code = (status >> 8) & 0xff;
    }
    if (auto it = j.find("gres_detail"); it != j.end() && it->is_array()) {
      for (const nlohmann::json& g : *it) {
        if (!g.is_string()) continue;
        for (std::string& idx : ParseGresIndices(g.get<std::string>()))
          job.gpus.push_back(std::move(idx));
      }
    }
    if (!job.slurm_id.empty()) out.push_back(std::move(job));
  }
  return out;
}

std::vector<SlurmJob> ParseSacctLines(std::string_view text) {
  std::vector<SlurmJob> out;
  for (std::string_view line : Split(text, '\n')) {
    if (Trim(line).empty()) continue;
    std::vector<std::string_view> f = Split(line, '|');
    if (f.size() < 6) continue;
    SlurmJob job;
    job.slurm_id = std::string(f[0]);
    job.name = std::string(f[1]);
    // "CANCELLED by 0" -> CANCELLED
    job.state = std::string(Trim(f[2].substr(0, f[2].find(' '))));
    const std::string_view code = f[3];
    const size_t colon = code.find(':');
    try {
      const int exit = std::stoi(std::string(code.substr(0, colon)));
      const int sig =
          colon == std::string_view::npos ? 0 : std::stoi(std::string(code.substr(colon + 1)));
      job.signal = sig;
      job.exit_code = sig != 0 && exit == 0 ? 128 + sig : exit;
    } catch (const std::exception&) {
      job.exit_code = 0;
    }
    // The comment may hold '|' only if someone else's job put it there.
    std::string comment;
    for (size_t i = 4; i + 1 < f.size(); ++i) comment += (i > 4 ? "|" : "") + std::string(f[i]);
    job.comment = comment;
    job.node = std::string(f.back());
    out.push_back(std::move(job));
  }
  return out;
}

bool IsFinalSlurmState(std::string_view state) {
  static const std::set<std::string_view> kActive = {
      "PENDING",     "RUNNING",      "CONFIGURING",   "COMPLETING",  "SUSPENDED",
      "REQUEUED",    "RESIZING",     "SIGNALING",     "STAGE_OUT",   "STOPPED",
      "REQUEUE_FED", "REQUEUE_HOLD", "RESV_DEL_HOLD", "SPECIAL_EXIT"};
  return !state.empty() && !kActive.count(state);
}

std::string DescribeSlurmState(std::string_view state, int signal) {
  if (state == "COMPLETED" || !IsFinalSlurmState(state)) return "";
  if (state == "FAILED") return "Slurm: FAILED (the job exited with an error)";
  if (state == "CANCELLED") {
    return "Slurm: CANCELLED (scancel or an administrator ended it)";
  }
  if (state == "TIMEOUT") return "Slurm: TIMEOUT (Slurm stopped it at its time limit)";
  if (state == "OUT_OF_MEMORY")
    return "Slurm: OUT_OF_MEMORY (it used more memory than it asked for)";
  if (state == "NODE_FAIL") return "Slurm: NODE_FAIL (the node it ran on failed)";
  if (state == "BOOT_FAIL") return "Slurm: BOOT_FAIL (its node could not be booted)";
  if (state == "PREEMPTED") return "Slurm: PREEMPTED (a job of higher priority took its resources)";
  if (state == "DEADLINE") return "Slurm: DEADLINE (it could not finish before its deadline)";
  std::string out = "Slurm: " + std::string(state);
  if (signal != 0) out += " (signal " + std::to_string(signal) + ")";
  return out;
}

std::string DescribePendingReason(std::string_view reason) {
  static const std::map<std::string_view, std::string_view> kWords = {
      {"Resources", "the GPUs, CPUs or memory it asks for are in use"},
      {"Priority", "jobs of higher priority are ahead of it"},
      {"Dependency", "it waits for another job"},
      {"QOSMaxGRESPerUser", "the QOS's limit of GPUs per user is reached"},
      {"QOSMaxJobsPerUserLimit", "the QOS's limit of jobs per user is reached"},
      {"AssocGrpGRES", "the account's GPU limit is reached"},
      {"AssocMaxJobsLimit", "the account's job limit is reached"},
      {"ReqNodeNotAvail", "the nodes it needs are unavailable"},
      {"PartitionDown", "the partition is down"},
      {"BeginTime", "its start time has not come yet"},
      {"JobHeldAdmin", "an administrator holds it"},
      {"JobHeldUser", "it is held"},
      {"None", "Slurm has not placed it yet"},
  };
  auto it = kWords.find(reason);
  if (it == kWords.end()) return std::string(reason);
  return std::string(reason) + ": " + std::string(it->second);
}

Result<std::string> RenderLauncher(const std::vector<std::string>& launcher,
                                   const std::map<std::string, std::string>& values,
                                   const std::vector<std::string>& command) {
  auto quote = [](std::string_view s) {
    std::string out = "'";
    for (char c : s) {
      if (c == '\'') {
        out += "'\\''";
      } else {
        out += c;
      }
    }
    return out + "'";
  };
  std::string line;
  for (const std::string& word : launcher) {
    if (word == "{command}") {
      for (const std::string& arg : command) line += (line.empty() ? "" : " ") + quote(arg);
      continue;
    }
    std::string rendered;
    size_t pos = 0;
    while (pos < word.size()) {
      const size_t open = word.find('{', pos);
      if (open == std::string::npos) {
        rendered += quote(word.substr(pos));
        break;
      }
      const size_t close = word.find('}', open);
      if (close == std::string::npos) {
        rendered += quote(word.substr(pos));
        break;
      }
      if (open > pos) rendered += quote(word.substr(pos, open - pos));
      const std::string key = word.substr(open + 1, close - open - 1);
      if (key == "gpus") {
        rendered += "\"${SLURM_JOB_GPUS:-}\"";
      } else if (auto it = values.find(key); it != values.end()) {
        rendered += quote(it->second);
      } else {
        return Unexpected(ErrorCode::kInvalidArgument,
                          "the launcher names {" + key +
                              "}; known: {image} {workdir} {env_file} {name} {gpus} {command}");
      }
      pos = close + 1;
    }
    if (rendered.empty()) rendered = "''";
    line += (line.empty() ? "" : " ") + rendered;
  }
  return line;
}

Status CheckSlurmSettings(const SlurmSettings& s) {
  if (s.partition.empty())
    return Unexpected(ErrorCode::kInvalidArgument, "slurm.partition is required");
  if (s.shared_dir.empty() || !s.shared_dir.is_absolute()) {
    return Unexpected(ErrorCode::kInvalidArgument,
                      "slurm.shared_dir must be an absolute folder that the nodes see too");
  }
  bool image = false;
  for (const std::string& w : s.launcher) image |= w.find("{image}") != std::string::npos;
  if (!image) {
    return Unexpected(ErrorCode::kInvalidArgument,
                      "slurm.launcher must be an argv that names {image}, e.g. [apptainer, exec, "
                      "--nv, docker://{image}, {command}]");
  }
  if (Result<std::string> r = RenderLauncher(
          s.launcher, {{"image", ""}, {"workdir", ""}, {"env_file", ""}, {"name", ""}}, {});
      !r) {
    return Unexpected(ErrorCode::kInvalidArgument, "slurm.launcher: " + r.error().message());
  }
  return Ok();
}

}  // namespace labelrun::runtime
