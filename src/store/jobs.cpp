#include "labelrun/store/jobs.hpp"

#include <nlohmann/json.hpp>

#include "labelrun/core/json_text.hpp"
#include "labelrun/core/strings.hpp"

namespace labelrun::store {
namespace {

using nlohmann::json;

constexpr std::string_view kColumns =
    "seq, id, delivery, repository, issue, installation, spec, commit_sha, sender, state, reason, "
    "host, gpus, container_id, image_digest, exit_code, cancel_by, created_at, started_at, "
    "finished_at, pull_request, from_fork, trigger_label";

std::string DedupeKey(const JobRecord& job) {
  return job.repository + "#" + std::to_string(job.issue) + "#" + job.spec.rule;
}

std::string JoinGpus(const std::vector<std::string>& gpus) {
  std::string out;
  for (const std::string& g : gpus) out += (out.empty() ? "" : ",") + g;
  return out;
}

json PairsToJson(const rules::KeyValues& kv) {
  json out = json::array();
  for (const auto& [k, v] : kv) out.push_back({k, v});
  return out;
}

rules::KeyValues PairsFromJson(const json& j) {
  rules::KeyValues out;
  if (!j.is_array()) return out;
  for (const json& p : j) {
    if (p.is_array() && p.size() == 2 && p[0].is_string() && p[1].is_string()) {
      out.emplace_back(p[0].get<std::string>(), p[1].get<std::string>());
    }
  }
  return out;
}

void BindOptional(Statement& st, int index, const std::optional<int64_t>& v) {
  if (v)
    st.Bind(index, *v);
  else
    st.BindNull(index);
}

std::optional<int64_t> OptionalColumn(const Statement& st, int index) {
  if (st.ColumnIsNull(index)) return std::nullopt;
  return st.ColumnInt(index);
}

}  // namespace

std::string SpecToJson(const rules::JobSpec& spec) {
  json j = {
      {"rule", spec.rule},
      {"image", spec.image},
      {"command", spec.command},
      {"env", PairsToJson(spec.env)},
      {"gpus", spec.gpus},
      {"cpus", spec.cpus},
      {"memory_bytes", spec.memory_bytes},
      {"shm_bytes", spec.shm_bytes},
      {"timeout_ms", spec.timeout.count()},
      {"host_selector", PairsToJson(spec.host_selector)},
      {"outputs", spec.outputs},
      {"outputs_max_bytes", spec.outputs_max_bytes},
      {"metric", spec.metrics.size() == 1 ? json(spec.metrics[0]) : json(spec.metrics)},
      {"priority", std::string(rules::JobPriorityName(spec.priority))},
      {"max_concurrent", spec.max_concurrent},
      {"working_dir", spec.working_dir},
      {"cap_add", spec.cap_add},
      {"mounts", spec.mounts},
      {"user", spec.user},
      {"network", spec.network},
  };
  return JsonText(j);
}

Result<rules::JobSpec> SpecFromJson(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Unexpected(ErrorCode::kInternal, "stored job spec is not JSON");
  rules::JobSpec spec;
  try {
    spec.rule = j.value("rule", "");
    spec.image = j.value("image", "");
    spec.command = j.value("command", std::vector<std::string>{});
    spec.env = PairsFromJson(j.value("env", json::array()));
    spec.gpus = j.value("gpus", 0);
    spec.cpus = j.value("cpus", 0.0);
    spec.memory_bytes = j.value("memory_bytes", uint64_t{0});
    spec.shm_bytes = j.value("shm_bytes", uint64_t{0});
    spec.timeout =
        std::chrono::milliseconds(j.value("timeout_ms", rules::kDefaultJobTimeout.count()));
    spec.host_selector = PairsFromJson(j.value("host_selector", json::array()));
    spec.outputs = j.value("outputs", "");
    spec.outputs_max_bytes = j.value("outputs_max_bytes", rules::kDefaultOutputsMaxBytes);
    // A string (one metric, and every spec stored before lists) or a list of names.
    const json metric = j.value("metric", json("loss"));
    spec.metrics = metric.is_array() ? metric.get<std::vector<std::string>>()
                                     : std::vector<std::string>{metric.get<std::string>()};
    const std::string priority = j.value("priority", "normal");
    spec.priority = priority == "high"  ? rules::JobPriority::kHigh
                    : priority == "low" ? rules::JobPriority::kLow
                                        : rules::JobPriority::kNormal;
    spec.max_concurrent = j.value("max_concurrent", 0);
    spec.working_dir = j.value("working_dir", "/workspace");
    spec.cap_add = j.value("cap_add", std::vector<std::string>{});
    spec.mounts = j.value("mounts", std::vector<std::string>{});
    spec.user = j.value("user", "");
    spec.network = j.value("network", "");
  } catch (const json::exception& e) {
    return Unexpected(ErrorCode::kInternal, std::string("stored job spec: ") + e.what());
  }
  return spec;
}

Result<std::unique_ptr<JobStore>> JobStore::Open(const std::filesystem::path& path) {
  Result<Database> db = Database::Open(path);
  if (!db) return db.error();
  if (Status s = Migrate(*db); !s) return s.error();
  return std::unique_ptr<JobStore>(new JobStore(std::move(*db)));
}

Status JobStore::Insert(JobRecord& job, int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (Status s = db_.Exec("BEGIN IMMEDIATE"); !s) return s;
  auto fail = [&](Error e) -> Status {
    (void)db_.Exec("ROLLBACK");
    return e;
  };
  // No conflict target: the open job of the rule on the issue (`dedupe`) and the
  // job the delivery already started for the rule (`jobs_once`) both stop it.
  Result<Statement> st = db_.Prepare(
      "INSERT INTO jobs (id, dedupe, delivery, repository, issue, installation, rule, priority, "
      "spec, commit_sha, sender, state, reason, created_at, once, pull_request, from_fork, "
      "trigger_label) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) "
      "ON CONFLICT DO NOTHING");
  if (!st) return fail(st.error());
  job.created_ms = now_ms;
  st->Bind(1, job.id)
      .Bind(2, DedupeKey(job))
      .Bind(3, job.delivery)
      .Bind(4, job.repository)
      .Bind(5, job.issue)
      .Bind(6, job.installation)
      .Bind(7, job.spec.rule)
      .Bind(8, static_cast<int64_t>(job.spec.priority))
      .Bind(9, SpecToJson(job.spec))
      .Bind(10, job.commit)
      .Bind(11, job.sender)
      .Bind(12, JobStateName(job.state))
      .Bind(13, job.reason)
      .Bind(14, now_ms)
      .Bind(15, int64_t{job.delivery.empty() ? 0 : 1})
      .Bind(16, int64_t{job.pull_request ? 1 : 0})
      .Bind(17, int64_t{job.from_fork ? 1 : 0})
      .Bind(18, job.trigger_label);
  if (Status s = st->Run(); !s) return fail(s.error());
  if (db_.Changes() == 0) {
    std::string started;
    if (!job.delivery.empty()) {
      Result<Statement> q =
          db_.Prepare("SELECT id FROM jobs WHERE delivery = ?1 AND rule = ?2 AND once = 1");
      if (!q) return fail(q.error());
      q->Bind(1, job.delivery).Bind(2, job.spec.rule);
      Result<bool> row = q->Step();
      if (!row) return fail(row.error());
      if (*row) started = q->ColumnText(0);
    }
    (void)db_.Exec("ROLLBACK");
    if (!started.empty()) {
      return Unexpected(ErrorCode::kAlreadyExists, "delivery " + job.delivery +
                                                       " already started job " + started +
                                                       " of rule '" + job.spec.rule + "'");
    }
    return Unexpected(ErrorCode::kAlreadyExists, "a job of rule '" + job.spec.rule +
                                                     "' is already open on " + job.repository +
                                                     "#" + std::to_string(job.issue));
  }
  job.seq = db_.LastInsertRowId();
  Result<Statement> ev =
      db_.Prepare("INSERT INTO job_events (job_id, at, state, detail) VALUES (?1, ?2, ?3, ?4)");
  if (!ev) return fail(ev.error());
  ev->Bind(1, job.id).Bind(2, now_ms).Bind(3, JobStateName(job.state)).Bind(4, job.reason);
  if (Status s = ev->Run(); !s) return fail(s.error());
  if (!job.delivery.empty()) {
    // The delivery's outcome commits with its job: once the job is stored, the
    // inbox never hands the delivery over again, even if labelrun dies before the
    // processor records its batch.
    Result<Statement> done = db_.Prepare(
        "UPDATE inbox SET state = 'done', processed_at = ?2, error = NULL "
        "WHERE guid = ?1 AND state = 'pending'");
    if (!done) return fail(done.error());
    done->Bind(1, job.delivery).Bind(2, now_ms);
    if (Status s = done->Run(); !s) return fail(s.error());
  }
  return db_.Exec("COMMIT");
}

Status JobStore::MarkDeliveryDone(const std::string& delivery, int64_t now_ms) {
  std::lock_guard lock(mu_);
  Result<Statement> done = db_.Prepare(
      "UPDATE inbox SET state = 'done', processed_at = ?2, error = NULL "
      "WHERE guid = ?1 AND state = 'pending'");
  if (!done) return done.error();
  done->Bind(1, delivery).Bind(2, now_ms);
  return done->Run();
}

Status JobStore::Update(const JobRecord& job, int64_t now_ms, std::string_view detail) {
  std::lock_guard lock(mu_);
  if (Status s = db_.Exec("BEGIN IMMEDIATE"); !s) return s;
  auto fail = [&](Error e) -> Status {
    (void)db_.Exec("ROLLBACK");
    return e;
  };
  Result<Statement> st = db_.Prepare(
      "UPDATE jobs SET state = ?2, reason = ?3, host = ?4, gpus = ?5, container_id = ?6, "
      "image_digest = ?7, exit_code = ?8, cancel_by = ?9, started_at = ?10, finished_at = ?11, "
      "commit_sha = ?12, dedupe = CASE WHEN ?13 THEN NULL ELSE dedupe END WHERE id = ?1");
  if (!st) return fail(st.error());
  st->Bind(1, job.id)
      .Bind(2, JobStateName(job.state))
      .Bind(3, job.reason)
      .Bind(4, job.host)
      .Bind(5, JoinGpus(job.gpus))
      .Bind(6, job.container_id)
      .Bind(7, job.image_digest);
  BindOptional(*st, 8, job.exit_code);
  st->Bind(9, job.cancel_by);
  BindOptional(*st, 10, job.started_ms);
  BindOptional(*st, 11, job.finished_ms);
  st->Bind(12, job.commit).Bind(13, int64_t{IsFinal(job.state) ? 1 : 0});
  if (Status s = st->Run(); !s) return fail(s.error());
  if (db_.Changes() == 0) {
    (void)db_.Exec("ROLLBACK");
    return Unexpected(ErrorCode::kNotFound, "no job " + job.id);
  }
  Result<Statement> ev =
      db_.Prepare("INSERT INTO job_events (job_id, at, state, detail) VALUES (?1, ?2, ?3, ?4)");
  if (!ev) return fail(ev.error());
  ev->Bind(1, job.id).Bind(2, now_ms).Bind(3, JobStateName(job.state)).Bind(4, detail);
  if (Status s = ev->Run(); !s) return fail(s.error());
  return db_.Exec("COMMIT");
}

Status JobStore::AddEvent(const std::string& id, int64_t now_ms, JobState state,
                          std::string_view detail) {
  std::lock_guard lock(mu_);
  Result<Statement> ev =
      db_.Prepare("INSERT INTO job_events (job_id, at, state, detail) VALUES (?1, ?2, ?3, ?4)");
  if (!ev) return ev.error();
  ev->Bind(1, id).Bind(2, now_ms).Bind(3, JobStateName(state)).Bind(4, detail);
  return ev->Run();
}

Status JobStore::SetCancelBy(const std::string& id, const std::string& by) {
  std::lock_guard lock(mu_);
  Result<Statement> st = db_.Prepare("UPDATE jobs SET cancel_by = ?2 WHERE id = ?1");
  if (!st) return st.error();
  st->Bind(1, id).Bind(2, by);
  return st->Run();
}

Result<std::vector<JobRecord>> JobStore::Query(std::string_view tail,
                                               const std::vector<std::string>& binds) {
  Result<Statement> st =
      db_.Prepare("SELECT " + std::string(kColumns) + " FROM jobs " + std::string(tail));
  if (!st) return st.error();
  for (size_t i = 0; i < binds.size(); ++i) st->Bind(static_cast<int>(i + 1), binds[i]);
  std::vector<JobRecord> out;
  while (true) {
    Result<bool> row = st->Step();
    if (!row) return row.error();
    if (!*row) break;
    JobRecord job;
    job.seq = st->ColumnInt(0);
    job.id = st->ColumnText(1);
    job.delivery = st->ColumnText(2);
    job.repository = st->ColumnText(3);
    job.issue = st->ColumnInt(4);
    job.installation = st->ColumnInt(5);
    Result<rules::JobSpec> spec = SpecFromJson(st->ColumnText(6));
    if (!spec) return spec.error();
    job.spec = std::move(*spec);
    job.commit = st->ColumnText(7);
    job.sender = st->ColumnText(8);
    job.state = ParseJobState(st->ColumnText(9)).value_or(JobState::kFailed);
    job.reason = st->ColumnText(10);
    job.host = st->ColumnText(11);
    const std::string gpus = st->ColumnText(12);
    if (!gpus.empty()) {
      for (std::string_view g : Split(gpus, ',')) job.gpus.emplace_back(g);
    }
    job.container_id = st->ColumnText(13);
    job.image_digest = st->ColumnText(14);
    job.exit_code = OptionalColumn(*st, 15);
    job.cancel_by = st->ColumnText(16);
    job.created_ms = st->ColumnInt(17);
    job.started_ms = OptionalColumn(*st, 18);
    job.finished_ms = OptionalColumn(*st, 19);
    job.pull_request = st->ColumnInt(20) != 0;
    job.from_fork = st->ColumnInt(21) != 0;
    job.trigger_label = st->ColumnText(22);
    out.push_back(std::move(job));
  }
  return out;
}

Result<std::optional<JobRecord>> JobStore::Get(const std::string& id) {
  std::lock_guard lock(mu_);
  Result<std::vector<JobRecord>> rows = Query("WHERE id = ?1", {id});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<JobRecord>();
  return std::optional<JobRecord>(std::move(rows->front()));
}

Result<std::vector<JobRecord>> JobStore::List(const JobFilter& filter) {
  std::lock_guard lock(mu_);
  std::string where = "WHERE 1";
  std::vector<std::string> binds;
  if (!filter.repository.empty()) {
    binds.push_back(filter.repository);
    where += " AND repository = ?" + std::to_string(binds.size());
  }
  if (filter.state) {
    binds.emplace_back(JobStateName(*filter.state));
    where += " AND state = ?" + std::to_string(binds.size());
  }
  if (filter.open_only) {
    where += " AND state NOT IN ('succeeded', 'failed', 'cancelled', 'timed_out')";
  }
  if (filter.before_seq > 0) where += " AND seq < " + std::to_string(filter.before_seq);
  where += " ORDER BY seq DESC LIMIT " + std::to_string(std::max<int64_t>(1, filter.limit));
  return Query(where, binds);
}

Result<std::vector<JobRecord>> JobStore::Open() {
  std::lock_guard lock(mu_);
  return Query("WHERE state NOT IN ('succeeded', 'failed', 'cancelled', 'timed_out') ORDER BY seq",
               {});
}

Result<std::vector<JobEvent>> JobStore::Events(const std::string& id) {
  std::lock_guard lock(mu_);
  Result<Statement> st =
      db_.Prepare("SELECT at, state, detail FROM job_events WHERE job_id = ?1 ORDER BY seq");
  if (!st) return st.error();
  st->Bind(1, id);
  std::vector<JobEvent> out;
  while (true) {
    Result<bool> row = st->Step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back({st->ColumnInt(0), ParseJobState(st->ColumnText(1)).value_or(JobState::kFailed),
                   st->ColumnText(2)});
  }
  return out;
}

}  // namespace labelrun::store
