// The /repos/... routes of the loopback GitHub and its test accessors.

#include <algorithm>
#include <nlohmann/json.hpp>

#include "labelrun/core/strings.hpp"
#include "support/fake_github.hpp"

namespace labelrun::testing {
namespace {

using nlohmann::json;

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string Message(const std::string& m) { return json{{"message", m}}.dump(); }

json LabelJson(const FakeLabel& l) {
  return {{"name", l.name}, {"color", l.color}, {"description", l.description}};
}

}  // namespace

// /repos/{o}/{r}/... (seg[0] == "repos"); the caller checked the credential.
FakeGithub::Response FakeGithub::Api(const Parsed& req, const std::vector<std::string>& seg) {
  const std::string repo = seg[1] + "/" + seg[2];
  const std::string& m = req.method;
  json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
  if (!body.is_object()) return {400, Message("Problems parsing JSON"), {}, false};
  auto not_found = Response{404, Message("Not Found"), {}, false};
  std::lock_guard lock(mu_);
  size_t n = seg.size();

  // /repos/o/r/issues/comments/{id}[/reactions]
  if (n >= 6 && seg[3] == "issues" && seg[4] == "comments") {
    int64_t id = std::stoll(seg[5]);
    for (auto& [key, list] : comments_) {
      for (FakeComment& c : list) {
        if (c.id != id) continue;
        if (n == 6 && m == "PATCH") {
          std::string text = body.value("body", "");
          if (Utf8Length(text) > 65536) {
            return {422,
                    json{{"message", "Validation Failed"},
                         {"errors",
                          {{{"resource", "IssueComment"},
                            {"code", "custom"},
                            {"field", "body"},
                            {"message", "body is too long (maximum is 65536 characters)"}}}}}
                        .dump(),
                    {},
                    false};
          }
          c.body = text;
          return {
              200,
              json{{"id", c.id}, {"body", c.body}, {"user", {{"login", "labelrun[bot]"}}}}.dump(),
              {},
              false};
        }
        if (n == 7 && seg[6] == "reactions" && m == "POST") {
          reactions_[id].push_back(body.value("content", ""));
          return {201,
                  json{{"id", next_id_++}, {"content", body.value("content", "")}}.dump(),
                  {},
                  false};
        }
      }
    }
    return not_found;
  }
  // /repos/o/r/issues/{n}/...
  if (n >= 6 && seg[3] == "issues") {
    const std::string key = repo + "#" + seg[4];
    if (seg[5] == "comments" && n == 6 && m == "POST") {
      std::string text = body.value("body", "");
      if (Utf8Length(text) > 65536) {
        return {422,
                json{{"message", "Validation Failed"},
                     {"errors",
                      {{{"resource", "IssueComment"},
                        {"code", "custom"},
                        {"field", "body"},
                        {"message", "body is too long (maximum is 65536 characters)"}}}}}
                    .dump(),
                {},
                false};
      }
      FakeComment c{next_id_++, text};
      comments_[key].push_back(c);
      return {201,
              json{{"id", c.id},
                   {"body", c.body},
                   {"html_url", "https://github.com/" + repo + "/issues/" + seg[4] +
                                    "#issuecomment-" + std::to_string(c.id)},
                   {"user", {{"login", "labelrun[bot]"}}}}
                  .dump(),
              {},
              false};
    }
    if (seg[5] == "comments" && n == 6 && m == "GET") {
      const std::vector<FakeComment>& all = comments_[key];
      int per_page = req.query.count("per_page") ? std::stoi(req.query.at("per_page")) : 30;
      per_page = std::clamp(per_page, 1, options_.max_page_size);
      int page = req.query.count("page") ? std::stoi(req.query.at("page")) : 1;
      int pages = std::max<int>(1, (static_cast<int>(all.size()) + per_page - 1) / per_page);
      json out = json::array();
      for (size_t i = size_t(page - 1) * per_page; i < all.size() && i < size_t(page) * per_page;
           ++i) {
        out.push_back({{"id", all[i].id}, {"body", all[i].body}, {"user", {{"login", "someone"}}}});
      }
      std::vector<std::string> headers;
      if (page < pages) {
        std::string base = url() + req.path + "?per_page=" + std::to_string(per_page) + "&page=";
        headers.push_back("Link: <" + base + std::to_string(page + 1) + ">; rel=\"next\", <" +
                          base + std::to_string(pages) + ">; rel=\"last\"");
      }
      return {200, out.dump(), headers, false};
    }
    if (seg[5] == "labels" && n == 6 && m == "POST") {
      if (!body.contains("labels") || !body["labels"].is_array()) {
        return {422, Message("Invalid request."), {}, false};
      }
      std::vector<std::string>& labels = issue_labels_[key];
      for (const json& l : body["labels"]) {
        std::string name = l.get<std::string>();
        if (std::find(labels.begin(), labels.end(), name) == labels.end()) labels.push_back(name);
      }
      json out = json::array();
      for (const std::string& l : labels) out.push_back({{"name", l}, {"color", "ededed"}});
      return {200, out.dump(), {}, false};
    }
    if (seg[5] == "labels" && n == 7 && m == "DELETE") {
      std::vector<std::string>& labels = issue_labels_[key];
      auto it = std::find(labels.begin(), labels.end(), seg[6]);
      if (it == labels.end()) return {404, Message("Label does not exist"), {}, false};
      labels.erase(it);
      json out = json::array();
      for (const std::string& l : labels) out.push_back({{"name", l}, {"color", "ededed"}});
      return {200, out.dump(), {}, false};
    }
    if (seg[5] == "reactions" && n == 6 && m == "POST") {
      return {
          201, json{{"id", next_id_++}, {"content", body.value("content", "")}}.dump(), {}, false};
    }
    return not_found;
  }
  // /repos/o/r/labels[/{name}]
  if (n >= 4 && seg[3] == "labels") {
    std::vector<FakeLabel>& labels = repo_labels_[repo];
    if (n == 4 && m == "GET") {
      int per_page = req.query.count("per_page") ? std::stoi(req.query.at("per_page")) : 30;
      per_page = std::clamp(per_page, 1, options_.max_page_size);
      int page = req.query.count("page") ? std::stoi(req.query.at("page")) : 1;
      int pages = std::max<int>(1, (static_cast<int>(labels.size()) + per_page - 1) / per_page);
      json out = json::array();
      for (size_t i = size_t(page - 1) * per_page; i < labels.size() && i < size_t(page) * per_page;
           ++i) {
        out.push_back(LabelJson(labels[i]));
      }
      std::vector<std::string> headers;
      if (page < pages) {
        headers.push_back("Link: <" + url() + req.path + "?per_page=" + std::to_string(per_page) +
                          "&page=" + std::to_string(page + 1) + ">; rel=\"next\"");
      }
      return {200, out.dump(), headers, false};
    }
    if (n == 4 && m == "POST") {
      FakeLabel l{body.value("name", ""), body.value("color", ""), body.value("description", "")};
      for (const FakeLabel& e : labels) {
        if (IEquals(e.name, l.name)) {
          return {422,
                  json{{"message", "Validation Failed"},
                       {"errors",
                        {{{"resource", "Label"}, {"code", "already_exists"}, {"field", "name"}}}}}
                      .dump(),
                  {},
                  false};
        }
      }
      if (Utf8Length(l.description) > 100) {
        return {422,
                json{{"message", "Validation Failed"},
                     {"errors",
                      {{{"resource", "Label"},
                        {"code", "custom"},
                        {"field", "description"},
                        {"message", "description is too long (maximum is 100 characters)"}}}}}
                    .dump(),
                {},
                false};
      }
      labels.push_back(l);
      return {201, LabelJson(l).dump(), {}, false};
    }
    if (n == 5) {
      auto it = std::find_if(labels.begin(), labels.end(),
                             [&](const FakeLabel& l) { return IEquals(l.name, seg[4]); });
      if (it == labels.end()) return not_found;
      // Issue labels name the repository label, so a rename or a delete reaches every issue.
      auto on_issues = [&](const std::string& from, const std::string* to) {
        for (auto& [key, names] : issue_labels_) {
          if (key.rfind(repo + "#", 0) != 0) continue;
          for (auto n_it = names.begin(); n_it != names.end();) {
            if (!IEquals(*n_it, from)) {
              ++n_it;
            } else if (to != nullptr) {
              *n_it++ = *to;
            } else {
              n_it = names.erase(n_it);
            }
          }
        }
      };
      if (m == "PATCH") {
        if (body.contains("new_name")) {
          if (!body["new_name"].is_string() || body["new_name"].get<std::string>().empty()) {
            return {422, Message("Validation Failed"), {}, false};
          }
          std::string new_name = body["new_name"];
          for (const FakeLabel& other : labels) {
            if (&other != &*it && IEquals(other.name, new_name)) {
              return {
                  422,
                  json{{"message", "Validation Failed"},
                       {"errors",
                        {{{"resource", "Label"}, {"code", "already_exists"}, {"field", "name"}}}}}
                      .dump(),
                  {},
                  false};
            }
          }
          std::string old_name = it->name;
          it->name = new_name;
          on_issues(old_name, &new_name);
        }
        if (body.contains("color")) it->color = body["color"];
        if (body.contains("description")) it->description = body["description"];
        return {200, LabelJson(*it).dump(), {}, false};
      }
      if (m == "DELETE") {
        std::string old_name = it->name;
        labels.erase(it);
        on_issues(old_name, nullptr);
        return {204, "", {}, false};
      }
    }
    return not_found;
  }
  // /repos/o/r
  if (n == 3 && m == "GET") {
    auto it = default_branches_.find(repo);
    if (it == default_branches_.end()) return not_found;
    return {200,
            json{{"id", 1296269},
                 {"name", seg[2]},
                 {"full_name", repo},
                 {"owner", {{"login", seg[1]}}},
                 {"private", true},
                 {"default_branch", it->second}}
                .dump(),
            {},
            false};
  }
  // /repos/o/r/git/ref/heads/{branch, possibly with slashes}
  if (n >= 7 && seg[3] == "git" && seg[4] == "ref" && seg[5] == "heads" && m == "GET") {
    std::string branch = seg[6];
    for (size_t i = 7; i < n; ++i) branch += "/" + seg[i];
    auto it = branches_.find(repo + "@" + branch);
    if (it == branches_.end()) return not_found;
    std::string api = url() + "/repos/" + repo + "/git";
    return {
        200,
        json{{"ref", "refs/heads/" + branch},
             {"url", api + "/refs/heads/" + branch},
             {"object",
              {{"type", "commit"}, {"sha", it->second}, {"url", api + "/commits/" + it->second}}}}
            .dump(),
        {},
        false};
  }
  // /repos/o/r/check-runs[/{id}], /repos/o/r/commits/{sha}/check-runs
  if ((n >= 4 && seg[3] == "check-runs") ||
      (n == 6 && seg[3] == "commits" && seg[5] == "check-runs")) {
    return CheckRunApi(req, seg, req.body);
  }
  // /repos/o/r/pulls/{n}
  if (n == 5 && seg[3] == "pulls" && m == "GET") {
    auto it = pull_requests_.find(repo + "#" + seg[4]);
    if (it == pull_requests_.end()) return not_found;
    const FakePullRequest& pr = it->second;
    return {200,
            json{{"number", pr.number},
                 {"state", pr.state},
                 {"head",
                  {{"sha", pr.head_sha},
                   {"ref", "feature"},
                   {"repo", {{"full_name", pr.head_repo}, {"fork", pr.head_repo != repo}}}}},
                 {"base", {{"ref", "main"}, {"repo", {{"full_name", repo}}}}}}
                .dump(),
            {},
            false};
  }
  // /repos/o/r/tarball/{ref}
  if (n == 5 && seg[3] == "tarball" && m == "GET") {
    if (tarballs_.count(repo + "@" + seg[4]) == 0) return not_found;
    return {
        302, "", {"Location: " + url() + "/_codeload/" + repo + "/" + seg[4] + "?token=dl"}, false};
  }
  // /repos/o/r/collaborators/{user}/permission
  if (n == 6 && seg[3] == "collaborators" && seg[5] == "permission" && m == "GET") {
    auto it = roles_.find(repo + "@" + seg[4]);
    std::string role = it == roles_.end() ? "none" : it->second;
    std::string legacy = role == "maintain" ? "write" : role == "triage" ? "read" : role;
    if (legacy != "admin" && legacy != "write" && legacy != "read")
      legacy = legacy == "none" ? "none" : "write";
    return {200,
            json{{"permission", legacy}, {"role_name", role}, {"user", {{"login", seg[4]}}}}.dump(),
            {},
            false};
  }
  return not_found;
}

FakeGithub::Response FakeGithub::CheckRunApi(const Parsed& req, const std::vector<std::string>& seg,
                                             const std::string& raw) {
  const std::string repo = seg[1] + "/" + seg[2];
  const size_t n = seg.size();
  auto invalid = [](const std::string& why) {
    return Response{422,
                    json{{"message", "Invalid request."},
                         {"errors", {why}},
                         {"documentation_url", "https://docs.github.com/rest/checks/runs"}}
                        .dump(),
                    {},
                    false};
  };
  auto not_found = Response{404, Message("Not Found"), {}, false};
  json body = json::parse(raw.empty() ? "{}" : raw, nullptr, false);
  // Validates the fields GitHub limits; "" when they pass.
  auto check = [&](const json& b) -> std::string {
    if (b.contains("output")) {
      if (!b["output"].is_object()) return "output is not an object";
      for (const char* key : {"title", "summary", "text"}) {
        if (b["output"].contains(key) && b["output"][key].is_string() &&
            Utf8Length(b["output"][key].get<std::string>()) > 65535) {
          return std::string("output.") + key + " is too long (maximum is 65535 characters)";
        }
      }
    }
    if (b.contains("actions")) {
      if (!b["actions"].is_array() || b["actions"].size() > 3) return "at most 3 actions";
      for (const json& a : b["actions"]) {
        if (Utf8Length(a.value("label", "")) > 20) return "action label over 20 characters";
        if (Utf8Length(a.value("description", "")) > 40) {
          return "action description over 40 characters";
        }
        if (Utf8Length(a.value("identifier", "")) > 20) {
          return "action identifier over 20 characters";
        }
      }
    }
    static const std::vector<std::string> kStatus = {"queued", "in_progress", "completed"};
    static const std::vector<std::string> kConclusion = {"action_required", "cancelled", "failure",
                                                         "neutral",         "success",   "skipped",
                                                         "stale",           "timed_out"};
    if (b.contains("status") &&
        std::find(kStatus.begin(), kStatus.end(), b.value("status", "")) == kStatus.end()) {
      return "status is not one of queued, in_progress, completed";
    }
    if (b.contains("conclusion") && std::find(kConclusion.begin(), kConclusion.end(),
                                              b.value("conclusion", "")) == kConclusion.end()) {
      return "conclusion is not valid";
    }
    return "";
  };
  auto shown = [](int64_t id, const json& run) {
    json out = run;
    out["id"] = id;
    out.erase("repo");
    return out;
  };
  if (n == 4 && req.method == "POST") {
    if (!body.is_object() || !body.contains("name") || !body.contains("head_sha")) {
      return invalid("name and head_sha are required");
    }
    if (std::string why = check(body); !why.empty()) return invalid(why);
    if (body.value("status", "queued") == "completed" && !body.contains("conclusion")) {
      return invalid("conclusion is required when status is completed");
    }
    if (!body.contains("status")) body["status"] = "queued";
    body["repo"] = repo;
    const int64_t id = next_id_++;
    check_runs_[id] = body.dump();
    return {201, shown(id, body).dump(), {}, false};
  }
  if (n == 5 && seg[3] == "check-runs") {
    const int64_t id = std::stoll(seg[4]);
    auto it = check_runs_.find(id);
    if (it == check_runs_.end()) return not_found;
    json run = json::parse(it->second);
    if (run.value("repo", "") != repo) return not_found;
    if (req.method == "GET") return {200, shown(id, run).dump(), {}, false};
    if (req.method != "PATCH") return not_found;
    if (!body.is_object()) return invalid("body is not an object");
    if (std::string why = check(body); !why.empty()) return invalid(why);
    const std::string status = body.value("status", run.value("status", "queued"));
    if (status == "completed" && !body.contains("conclusion") && !run.contains("conclusion")) {
      return invalid("conclusion is required when status is completed");
    }
    for (auto& [key, value] : body.items()) {
      if (key == "output" && run.contains("output") && run["output"].is_object()) {
        for (auto& [k, v] : value.items()) run["output"][k] = v;
      } else {
        run[key] = value;
      }
    }
    run["updates"] = run.value("updates", 0) + 1;
    it->second = run.dump();
    return {200, shown(id, run).dump(), {}, false};
  }
  if (n == 6 && req.method == "GET") {
    json list = json::array();
    for (const auto& [id, text] : check_runs_) {
      json run = json::parse(text);
      if (run.value("repo", "") == repo && run.value("head_sha", "") == seg[4]) {
        list.push_back(shown(id, run));
      }
    }
    return {200, json{{"total_count", list.size()}, {"check_runs", list}}.dump(), {}, false};
  }
  return not_found;
}

void FakeGithub::SetPullRequest(const std::string& repo, FakePullRequest pr) {
  std::lock_guard lock(mu_);
  pull_requests_[repo + "#" + std::to_string(pr.number)] = std::move(pr);
}

std::vector<FakeCheckRun> FakeGithub::CheckRuns(const std::string& repo) const {
  std::scoped_lock lock(route_mu_, mu_);
  std::vector<FakeCheckRun> out;
  for (const auto& [id, text] : check_runs_) {
    json run = json::parse(text);
    if (run.value("repo", "") != repo) continue;
    FakeCheckRun c;
    c.id = id;
    c.repo = repo;
    c.name = run.value("name", "");
    c.head_sha = run.value("head_sha", "");
    c.external_id = run.value("external_id", "");
    c.details_url = run.value("details_url", "");
    c.status = run.value("status", "");
    c.conclusion = run.value("conclusion", "");
    if (run.contains("output") && run["output"].is_object()) {
      c.title = run["output"].value("title", "");
      c.summary = run["output"].value("summary", "");
      c.text = run["output"].value("text", "");
    }
    if (run.contains("actions") && run["actions"].is_array()) {
      for (const json& a : run["actions"])
        c.action_identifiers.push_back(a.value("identifier", ""));
    }
    c.updates = run.value("updates", 0);
    out.push_back(std::move(c));
  }
  return out;
}

void FakeGithub::SetTarball(const std::string& repo, const std::string& ref, std::string bytes) {
  std::lock_guard lock(mu_);
  tarballs_[repo + "@" + ref] = std::move(bytes);
}

void FakeGithub::SetRepository(const std::string& repo, const std::string& default_branch) {
  std::lock_guard lock(mu_);
  default_branches_[repo] = default_branch;
}

void FakeGithub::SetBranch(const std::string& repo, const std::string& branch,
                           const std::string& sha) {
  std::lock_guard lock(mu_);
  branches_[repo + "@" + branch] = sha;
}

void FakeGithub::PushFault(FakeFault fault, int times, int64_t seconds) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < times; ++i) faults_.emplace_back(fault, seconds);
}

void FakeGithub::PushTokenFault(FakeFault fault, int times, int64_t seconds) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < times; ++i) token_faults_.emplace_back(fault, seconds);
}

void FakeGithub::SetRepoInstallation(const std::string& repo, int64_t installation) {
  std::lock_guard lock(mu_);
  repo_installations_[repo] = installation;
}

void FakeGithub::Uninstall(int64_t installation) {
  std::lock_guard lock(mu_);
  uninstalled_.push_back(installation);
}

void FakeGithub::PushPathFault(const std::string& path, FakeFault fault, int times,
                               int64_t seconds) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < times; ++i) path_faults_.push_back({path, fault, seconds});
}

void FakeGithub::SetPermission(const std::string& repo, const std::string& user,
                               const std::string& role_name) {
  std::lock_guard lock(mu_);
  roles_[repo + "@" + user] = role_name;
}

void FakeGithub::AddRepoLabel(const std::string& repo, FakeLabel label) {
  std::lock_guard lock(mu_);
  repo_labels_[repo].push_back(std::move(label));
}

void FakeGithub::AddIssueLabel(const std::string& repo, int64_t issue, const std::string& name) {
  std::lock_guard lock(mu_);
  issue_labels_[repo + "#" + std::to_string(issue)].push_back(name);
}

int64_t FakeGithub::AddComment(const std::string& repo, int64_t issue, const std::string& body) {
  std::lock_guard lock(mu_);
  int64_t id = next_id_++;
  comments_[repo + "#" + std::to_string(issue)].push_back({id, body});
  return id;
}

std::vector<FakeComment> FakeGithub::Comments(const std::string& repo, int64_t issue) const {
  std::scoped_lock lock(route_mu_, mu_);
  auto it = comments_.find(repo + "#" + std::to_string(issue));
  return it == comments_.end() ? std::vector<FakeComment>{} : it->second;
}

std::vector<std::string> FakeGithub::IssueLabels(const std::string& repo, int64_t issue) const {
  std::scoped_lock lock(route_mu_, mu_);
  auto it = issue_labels_.find(repo + "#" + std::to_string(issue));
  return it == issue_labels_.end() ? std::vector<std::string>{} : it->second;
}

std::vector<FakeLabel> FakeGithub::RepoLabels(const std::string& repo) const {
  std::scoped_lock lock(route_mu_, mu_);
  auto it = repo_labels_.find(repo);
  return it == repo_labels_.end() ? std::vector<FakeLabel>{} : it->second;
}

std::vector<std::string> FakeGithub::Reactions(int64_t comment_id) const {
  std::scoped_lock lock(route_mu_, mu_);
  auto it = reactions_.find(comment_id);
  return it == reactions_.end() ? std::vector<std::string>{} : it->second;
}

std::vector<FakeRequest> FakeGithub::Requests() const {
  std::scoped_lock lock(route_mu_, mu_);
  return requests_;
}

int64_t FakeGithub::tokens_issued() const {
  std::scoped_lock lock(route_mu_, mu_);
  return tokens_issued_;
}

std::string FakeGithub::last_jwt_error() const {
  std::lock_guard lock(mu_);
  return last_jwt_error_;
}

}  // namespace labelrun::testing
