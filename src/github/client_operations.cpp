// The REST operations labelrun uses, on top of Client::Call.

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "labelrun/core/json_text.hpp"
#include "labelrun/github/client.hpp"

namespace labelrun::github {
namespace {

using nlohmann::json;

// Percent-encodes one path segment (label names hold ':' and spaces).
std::string Segment(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string RepoPath(const Repo& repo) {
  return "/repos/" + Segment(repo.owner) + "/" + Segment(repo.name);
}

// Bodies may hold invalid UTF-8 (a log tail cut mid-character): replace, never throw.
std::string Dump(const json& j) { return JsonText(j); }

Error Malformed(std::string_view what) {
  return Error(ErrorCode::kUnavailable, "GitHub " + std::string(what) + ": malformed JSON answer");
}

std::string Str(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

std::optional<Comment> ToComment(const json& j) {
  if (!j.is_object() || !j.contains("id") || !j["id"].is_number_integer()) return std::nullopt;
  Comment c;
  c.id = j["id"].get<int64_t>();
  c.body = Str(j, "body");
  c.html_url = Str(j, "html_url");
  if (j.contains("user")) c.user_login = Str(j["user"], "login");
  return c;
}

std::optional<Label> ToLabel(const json& j) {
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) return std::nullopt;
  return Label{Str(j, "name"), Str(j, "color"), Str(j, "description")};
}

Result<Comment> ParseComment(const HttpResponse& res, std::string_view what) {
  std::optional<Comment> c = ToComment(json::parse(res.body, nullptr, false));
  if (!c) return Malformed(what);
  return *c;
}

Result<Label> ParseLabel(const HttpResponse& res, std::string_view what) {
  std::optional<Label> l = ToLabel(json::parse(res.body, nullptr, false));
  if (!l) return Malformed(what);
  return *l;
}

json LabelFields(const Label& label) {
  json j = {{"color", label.color}};
  // GitHub caps label descriptions at 100 characters.
  std::string d = label.description;
  if (d.size() > 100) {
    size_t cut = 100;
    while (cut > 0 && (static_cast<unsigned char>(d[cut]) & 0xC0) == 0x80) --cut;
    d.resize(cut);
  }
  j["description"] = d;
  return j;
}

}  // namespace

Result<Comment> Client::CreateComment(int64_t installation, const Repo& repo, int64_t issue,
                                      std::string_view body) {
  std::string payload = Dump(json{{"body", body}});
  Result<HttpResponse> res =
      Call(installation, "POST", RepoPath(repo) + "/issues/" + std::to_string(issue) + "/comments",
           &payload, /*idempotent=*/false);
  if (!res) return res.error();
  return ParseComment(*res, "create comment");
}

Result<Comment> Client::UpdateComment(int64_t installation, const Repo& repo, int64_t comment_id,
                                      std::string_view body) {
  std::string payload = Dump(json{{"body", body}});
  Result<HttpResponse> res =
      Call(installation, "PATCH", RepoPath(repo) + "/issues/comments/" + std::to_string(comment_id),
           &payload);
  if (!res) return res.error();
  return ParseComment(*res, "update comment");
}

Result<std::vector<Comment>> Client::ListComments(int64_t installation, const Repo& repo,
                                                  int64_t issue) {
  auto pages = CallPaginated(
      installation, RepoPath(repo) + "/issues/" + std::to_string(issue) + "/comments?per_page=100");
  if (!pages) return pages.error();
  std::vector<Comment> out;
  for (const HttpResponse& page : *pages) {
    json j = json::parse(page.body, nullptr, false);
    if (!j.is_array()) return Malformed("list comments");
    for (const json& item : j) {
      if (std::optional<Comment> c = ToComment(item)) out.push_back(std::move(*c));
    }
  }
  return out;
}

Result<std::optional<Comment>> Client::FindComment(int64_t installation, const Repo& repo,
                                                   int64_t issue, std::string_view marker) {
  Result<std::vector<Comment>> all = ListComments(installation, repo, issue);
  if (!all) return all.error();
  for (Comment& c : *all) {
    if (c.body.find(marker) != std::string::npos) return std::optional<Comment>(std::move(c));
  }
  return std::optional<Comment>();
}

Result<std::vector<std::string>> Client::AddLabels(int64_t installation, const Repo& repo,
                                                   int64_t issue,
                                                   const std::vector<std::string>& labels) {
  std::string payload = Dump(json{{"labels", labels}});
  Result<HttpResponse> res =
      Call(installation, "POST", RepoPath(repo) + "/issues/" + std::to_string(issue) + "/labels",
           &payload);
  if (!res) return res.error();
  json j = json::parse(res->body, nullptr, false);
  if (!j.is_array()) return Malformed("add labels");
  std::vector<std::string> names;
  for (const json& item : j) {
    if (std::optional<Label> l = ToLabel(item)) names.push_back(l->name);
  }
  return names;
}

Status Client::RemoveLabel(int64_t installation, const Repo& repo, int64_t issue,
                           std::string_view name) {
  Result<HttpResponse> res = Call(
      installation, "DELETE",
      RepoPath(repo) + "/issues/" + std::to_string(issue) + "/labels/" + Segment(name), nullptr);
  // 404: the label is not on the issue (any more), which is what we wanted.
  if (!res && res.error().code() != ErrorCode::kNotFound) return res.error();
  return Ok();
}

Result<std::vector<Label>> Client::ListRepoLabels(int64_t installation, const Repo& repo) {
  auto pages = CallPaginated(installation, RepoPath(repo) + "/labels?per_page=100");
  if (!pages) return pages.error();
  std::vector<Label> out;
  for (const HttpResponse& page : *pages) {
    json j = json::parse(page.body, nullptr, false);
    if (!j.is_array()) return Malformed("list labels");
    for (const json& item : j) {
      if (std::optional<Label> l = ToLabel(item)) out.push_back(std::move(*l));
    }
  }
  return out;
}

Result<Label> Client::CreateRepoLabel(int64_t installation, const Repo& repo, const Label& label) {
  json j = LabelFields(label);
  j["name"] = label.name;
  std::string payload = Dump(j);
  Result<HttpResponse> res = Call(installation, "POST", RepoPath(repo) + "/labels", &payload);
  if (!res) return res.error();
  return ParseLabel(*res, "create label");
}

Result<Label> Client::UpdateRepoLabel(int64_t installation, const Repo& repo, std::string_view name,
                                      const Label& label) {
  json fields = LabelFields(label);
  if (label.name != name) fields["new_name"] = label.name;
  std::string payload = Dump(fields);
  Result<HttpResponse> res =
      Call(installation, "PATCH", RepoPath(repo) + "/labels/" + Segment(name), &payload);
  if (!res) return res.error();
  return ParseLabel(*res, "update label");
}

Status Client::DeleteRepoLabel(int64_t installation, const Repo& repo, std::string_view name) {
  Result<HttpResponse> res =
      Call(installation, "DELETE", RepoPath(repo) + "/labels/" + Segment(name), nullptr);
  if (!res) return res.error();
  return Ok();
}

Result<PermissionInfo> Client::GetPermission(int64_t installation, const Repo& repo,
                                             std::string_view user) {
  Result<HttpResponse> res =
      Call(installation, "GET", RepoPath(repo) + "/collaborators/" + Segment(user) + "/permission",
           nullptr);
  if (!res) return res.error();
  json j = json::parse(res->body, nullptr, false);
  if (!j.is_object()) return Malformed("get permission");
  PermissionInfo info;
  info.role_name = Str(j, "role_name");
  info.level = PermissionFromResponse(info.role_name, Str(j, "permission"));
  return info;
}

Status Client::AddCommentReaction(int64_t installation, const Repo& repo, int64_t comment_id,
                                  std::string_view content) {
  std::string payload = Dump(json{{"content", content}});
  Result<HttpResponse> res = Call(
      installation, "POST",
      RepoPath(repo) + "/issues/comments/" + std::to_string(comment_id) + "/reactions", &payload);
  if (!res) return res.error();
  return Ok();
}

Status Client::AddIssueReaction(int64_t installation, const Repo& repo, int64_t issue,
                                std::string_view content) {
  std::string payload = Dump(json{{"content", content}});
  Result<HttpResponse> res =
      Call(installation, "POST", RepoPath(repo) + "/issues/" + std::to_string(issue) + "/reactions",
           &payload);
  if (!res) return res.error();
  return Ok();
}

Result<RepositoryInfo> Client::GetRepository(int64_t installation, const Repo& repo) {
  Result<HttpResponse> res = Call(installation, "GET", RepoPath(repo), nullptr);
  if (!res) return res.error();
  json j = json::parse(res->body, nullptr, false);
  if (!j.is_object() || Str(j, "default_branch").empty()) return Malformed("get repository");
  RepositoryInfo info;
  info.full_name = Str(j, "full_name");
  info.default_branch = Str(j, "default_branch");
  info.is_private = j.contains("private") && j["private"].is_boolean() && j["private"].get<bool>();
  return info;
}

Result<std::string> Client::GetBranchHead(int64_t installation, const Repo& repo,
                                          std::string_view branch) {
  if (branch.empty()) return Error(ErrorCode::kInvalidArgument, "empty branch name");
  // Branch names may hold '/': each part is one path segment, as GitHub expects.
  std::string ref = "heads";
  size_t start = 0;
  while (start <= branch.size()) {
    size_t end = std::min(branch.find('/', start), branch.size());
    ref += "/" + Segment(branch.substr(start, end - start));
    start = end + 1;
  }
  Result<HttpResponse> res = Call(installation, "GET", RepoPath(repo) + "/git/ref/" + ref, nullptr);
  if (!res) return res.error();
  json j = json::parse(res->body, nullptr, false);
  if (!j.is_object() || !j.contains("object")) return Malformed("get branch head");
  std::string sha = Str(j["object"], "sha");
  bool hex = !sha.empty() && std::all_of(sha.begin(), sha.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
  });
  if (!hex || Str(j["object"], "type") != "commit") return Malformed("get branch head");
  return sha;
}

Result<int64_t> Client::DownloadTarball(int64_t installation, const Repo& repo,
                                        std::string_view ref, const std::filesystem::path& dest,
                                        int64_t max_bytes) {
  Result<HttpResponse> res = Call(installation, "GET", RepoPath(repo) + "/tarball/" + Segment(ref),
                                  nullptr, true, &dest, max_bytes);
  if (!res) {
    std::error_code ignored;
    std::filesystem::remove(dest, ignored);
    return res.error();
  }
  return res->file_bytes;
}

Result<int64_t> Client::CreateCheckRun(int64_t installation, const Repo& repo,
                                       std::string_view body) {
  std::string payload(body);
  Result<HttpResponse> res = Call(installation, "POST", RepoPath(repo) + "/check-runs", &payload,
                                  /*idempotent=*/false);
  if (!res) return res.error();
  json j = json::parse(res->body, nullptr, false);
  if (!j.is_object() || !j.contains("id") || !j["id"].is_number_integer()) {
    return Malformed("create check run");
  }
  return j["id"].get<int64_t>();
}

Status Client::UpdateCheckRun(int64_t installation, const Repo& repo, int64_t check_run_id,
                              std::string_view body) {
  std::string payload(body);
  Result<HttpResponse> res =
      Call(installation, "PATCH", RepoPath(repo) + "/check-runs/" + std::to_string(check_run_id),
           &payload);
  if (!res) return res.error();
  return Ok();
}

Result<std::optional<int64_t>> Client::FindCheckRun(int64_t installation, const Repo& repo,
                                                    std::string_view head_sha,
                                                    std::string_view external_id) {
  auto pages = CallPaginated(
      installation, RepoPath(repo) + "/commits/" + Segment(head_sha) + "/check-runs?per_page=100");
  if (!pages) return pages.error();
  for (const HttpResponse& page : *pages) {
    json j = json::parse(page.body, nullptr, false);
    if (!j.is_object() || !j.contains("check_runs") || !j["check_runs"].is_array()) {
      return Malformed("list check runs");
    }
    for (const json& run : j["check_runs"]) {
      if (Str(run, "external_id") == external_id && run.contains("id") &&
          run["id"].is_number_integer()) {
        return std::optional<int64_t>(run["id"].get<int64_t>());
      }
    }
  }
  return std::optional<int64_t>();
}

Result<PullRequestInfo> Client::GetPullRequest(int64_t installation, const Repo& repo,
                                               int64_t number) {
  Result<HttpResponse> res =
      Call(installation, "GET", RepoPath(repo) + "/pulls/" + std::to_string(number), nullptr);
  if (!res) return res.error();
  json j = json::parse(res->body, nullptr, false);
  if (!j.is_object() || !j.contains("head") || !j["head"].is_object()) {
    return Malformed("get pull request");
  }
  PullRequestInfo info;
  info.number = j.value("number", int64_t{0});
  info.state = Str(j, "state");
  info.head_sha = Str(j["head"], "sha");
  if (j["head"].contains("repo") && j["head"]["repo"].is_object()) {
    info.head_repo = Str(j["head"]["repo"], "full_name");
  }
  if (j.contains("base") && j["base"].is_object() && j["base"].contains("repo") &&
      j["base"]["repo"].is_object()) {
    info.base_repo = Str(j["base"]["repo"], "full_name");
  }
  if (info.head_sha.empty()) return Malformed("get pull request");
  return info;
}

}  // namespace labelrun::github
