#include "labelrun/app/jobs_cli.hpp"

#include <curl/curl.h>

#include <iomanip>
#include <memory>
#include <nlohmann/json.hpp>

#include "labelrun/app/jobs_setup.hpp"
#include "labelrun/core/json_text.hpp"

namespace labelrun::app {
namespace {

using nlohmann::json;

struct Reply {
  long status = 0;
  std::string body;
  std::string error;  // transport failure
};

size_t Collect(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

std::string Escape(const std::string& s) {
  std::unique_ptr<char, decltype(&curl_free)> e(
      curl_easy_escape(nullptr, s.data(), static_cast<int>(s.size())), &curl_free);
  return e ? e.get() : "";
}

Reply Call(const JobsArgs& args, const std::string& token, const std::string& method,
           const std::string& path) {
  Reply reply;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  std::string url = args.url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += path;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST") curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, "");
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &Collect);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, 5L);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  if (!args.ca_file.empty()) curl_easy_setopt(curl.get(), CURLOPT_CAINFO, args.ca_file.c_str());
  const std::string auth = "Authorization: Bearer " + token;
  curl_slist* headers = curl_slist_append(nullptr, auth.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
  CURLcode rc = curl_easy_perform(curl.get());
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    reply.error = url + ": " + curl_easy_strerror(rc);
    return reply;
  }
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

// Calls the API and parses its JSON; prints the failure and returns nullopt.
std::optional<json> Request(const JobsArgs& args, const std::string& method,
                            const std::string& path, std::ostream& err) {
  if (args.token_file.empty()) {
    err << "labelrun jobs: --token-file is required (the file api.token_file names)\n";
    return std::nullopt;
  }
  Result<std::string> token = ReadTokenFile(args.token_file);
  if (!token) {
    err << "labelrun jobs: " << token.error().message() << "\n";
    return std::nullopt;
  }
  Reply reply = Call(args, *token, method, path);
  if (!reply.error.empty()) {
    err << "labelrun jobs: cannot reach labelrun at " << reply.error << "\n";
    return std::nullopt;
  }
  json body = json::parse(reply.body, nullptr, false);
  if (reply.status < 200 || reply.status >= 300) {
    const std::string message =
        body.is_object() && body.contains("error") ? body["error"].get<std::string>() : reply.body;
    err << "labelrun jobs: " << reply.status << ": " << message << "\n";
    return std::nullopt;
  }
  if (body.is_discarded()) {
    err << "labelrun jobs: the server did not answer JSON\n";
    return std::nullopt;
  }
  return body;
}

std::string Text(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return "-";
  if (j[key].is_string())
    return j[key].get<std::string>().empty() ? "-" : j[key].get<std::string>();
  return JsonText(j[key]);
}

}  // namespace

int RunJobsList(const JobsArgs& args, std::ostream& out, std::ostream& err) {
  std::string path = "/api/jobs?limit=100";
  if (!args.repo.empty()) path += "&repo=" + Escape(args.repo);
  if (!args.state.empty()) path += "&state=" + Escape(args.state);
  std::optional<json> body = Request(args, "GET", path, err);
  if (!body) return 1;
  if (args.json) {
    out << body->dump(2) << "\n";
    return 0;
  }
  out << std::left << std::setw(13) << "ID" << std::setw(11) << "STATE" << std::setw(26) << "ISSUE"
      << std::setw(18) << "RULE" << std::setw(12) << "HOST"
      << "REASON\n";
  for (const json& job : (*body)["jobs"]) {
    std::string state = Text(job, "state");
    if (state == "queued" && job.value("queue_position", 0) > 0) {
      state += " #" + std::to_string(job.value("queue_position", 0));
    }
    out << std::setw(13) << Text(job, "id") << std::setw(11) << state << std::setw(26)
        << (Text(job, "repository") + "#" + Text(job, "issue")) << std::setw(18)
        << Text(job, "rule") << std::setw(12) << Text(job, "host") << Text(job, "reason") << "\n";
  }
  return 0;
}

int RunJobsShow(const JobsArgs& args, const std::string& id, std::ostream& out, std::ostream& err) {
  std::optional<json> job = Request(args, "GET", "/api/jobs/" + Escape(id), err);
  if (!job) return 1;
  if (args.json) {
    out << job->dump(2) << "\n";
    return 0;
  }
  for (const char* key :
       {"id",           "state",      "reason",         "repository",  "issue",
        "rule",         "priority",   "queue_position", "image",       "image_digest",
        "commit",       "host",       "gpus",           "exit_code",   "sender",
        "cancelled_by", "created_at", "started_at",     "finished_at", "metrics"}) {
    out << std::left << std::setw(16) << (std::string(key) + ":") << Text(*job, key) << "\n";
  }
  if (job->contains("events")) {
    out << "events:\n";
    for (const json& e : (*job)["events"]) {
      out << "  " << Text(e, "at") << "  " << std::setw(10) << Text(e, "state") << Text(e, "detail")
          << "\n";
    }
  }
  return 0;
}

int RunJobsCancel(const JobsArgs& args, const std::string& id, std::ostream& out,
                  std::ostream& err) {
  std::optional<json> body = Request(args, "POST", "/api/jobs/" + Escape(id) + "/cancel", err);
  if (!body) return 1;
  out << "job " << id << ": cancelling (the container gets its stop grace period)\n";
  return 0;
}

}  // namespace labelrun::app
