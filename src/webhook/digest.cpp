#include "labelrun/webhook/digest.hpp"

#include <nlohmann/json.hpp>

#include "labelrun/core/json_writer.hpp"

namespace labelrun::webhook {
namespace {

using nlohmann::json;

void WriteEnvelope(JsonWriter& w, const Envelope& e) {
  w.Key("action").String(e.action);
  w.Key("repository").BeginObject();
  w.Key("id").Int(e.repository.id);
  w.Key("full_name").String(e.repository.full_name);
  w.Key("default_branch").String(e.repository.default_branch);
  w.Key("private").Bool(e.repository.is_private);
  w.EndObject();
  w.Key("sender").BeginObject();
  w.Key("login").String(e.sender.login);
  w.Key("id").Int(e.sender.id);
  w.Key("type").String(e.sender.type);
  w.EndObject();
  w.Key("installation_id").Int(e.installation_id);
}

void WriteStrings(JsonWriter& w, std::string_view key, const std::vector<std::string>& values) {
  w.Key(key).BeginArray();
  for (const std::string& v : values) w.String(v);
  w.EndArray();
}

void ReadEnvelope(const json& j, Envelope& e) {
  e.action = j.at("action").get<std::string>();
  const json& r = j.at("repository");
  e.repository.id = r.at("id").get<int64_t>();
  e.repository.full_name = r.at("full_name").get<std::string>();
  e.repository.default_branch = r.at("default_branch").get<std::string>();
  e.repository.is_private = r.at("private").get<bool>();
  const json& s = j.at("sender");
  e.sender.login = s.at("login").get<std::string>();
  e.sender.id = s.at("id").get<int64_t>();
  e.sender.type = s.at("type").get<std::string>();
  e.installation_id = j.at("installation_id").get<int64_t>();
}

std::optional<std::string> OptionalString(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return it->get<std::string>();
}

}  // namespace

std::string EncodeDigest(const Event& event) {
  JsonWriter w(512);
  w.BeginObject();
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_base_of_v<Envelope, T>) WriteEnvelope(w, e);
        if constexpr (std::is_same_v<T, IssuesEvent>) {
          w.Key("number").Int(e.number);
          w.Key("title").String(e.title);
          w.Key("state").String(e.state);
          WriteStrings(w, "labels", e.labels);
          w.Key("label");
          e.label ? w.String(*e.label) : w.Null();
          w.Key("is_pull_request").Bool(e.is_pull_request);
        } else if constexpr (std::is_same_v<T, IssueCommentEvent>) {
          w.Key("number").Int(e.number);
          w.Key("state").String(e.state);
          WriteStrings(w, "labels", e.labels);
          w.Key("is_pull_request").Bool(e.is_pull_request);
          w.Key("comment_id").Int(e.comment_id);
          w.Key("comment_body").String(e.comment_body);
          w.Key("author_association").String(e.author_association);
        } else if constexpr (std::is_same_v<T, PullRequestEvent>) {
          w.Key("number").Int(e.number);
          w.Key("state").String(e.state);
          WriteStrings(w, "labels", e.labels);
          w.Key("label");
          e.label ? w.String(*e.label) : w.Null();
          w.Key("head_sha").String(e.head_sha);
          w.Key("head_ref").String(e.head_ref);
        } else if constexpr (std::is_same_v<T, InstallationEvent>) {
          w.Key("account").String(e.account);
          WriteStrings(w, "repositories_added", e.repositories_added);
          WriteStrings(w, "repositories_removed", e.repositories_removed);
        } else if constexpr (std::is_same_v<T, PingEvent>) {
          w.Key("zen").String(e.zen);
          w.Key("hook_id").Int(e.hook_id);
          w.Key("app_id").Int(e.app_id);
        } else {
          w.Key("action").String(e.action);
        }
      },
      event);
  w.EndObject();
  return w.Take();
}

Result<Event> DecodeDigest(std::string_view event_name, std::string_view digest) {
  try {
    const json j = json::parse(digest);
    if (event_name == "issues") {
      IssuesEvent e;
      ReadEnvelope(j, e);
      e.number = j.at("number").get<int64_t>();
      e.title = j.at("title").get<std::string>();
      e.state = j.at("state").get<std::string>();
      e.labels = j.at("labels").get<std::vector<std::string>>();
      e.label = OptionalString(j, "label");
      e.is_pull_request = j.at("is_pull_request").get<bool>();
      return Event(std::move(e));
    }
    if (event_name == "issue_comment") {
      IssueCommentEvent e;
      ReadEnvelope(j, e);
      e.number = j.at("number").get<int64_t>();
      e.state = j.at("state").get<std::string>();
      e.labels = j.at("labels").get<std::vector<std::string>>();
      e.is_pull_request = j.at("is_pull_request").get<bool>();
      e.comment_id = j.at("comment_id").get<int64_t>();
      e.comment_body = j.at("comment_body").get<std::string>();
      e.author_association = j.at("author_association").get<std::string>();
      return Event(std::move(e));
    }
    if (event_name == "pull_request") {
      PullRequestEvent e;
      ReadEnvelope(j, e);
      e.number = j.at("number").get<int64_t>();
      e.state = j.at("state").get<std::string>();
      e.labels = j.at("labels").get<std::vector<std::string>>();
      e.label = OptionalString(j, "label");
      e.head_sha = j.at("head_sha").get<std::string>();
      e.head_ref = j.at("head_ref").get<std::string>();
      return Event(std::move(e));
    }
    if (event_name == "installation" || event_name == "installation_repositories") {
      InstallationEvent e;
      ReadEnvelope(j, e);
      e.account = j.at("account").get<std::string>();
      e.repositories_added = j.at("repositories_added").get<std::vector<std::string>>();
      e.repositories_removed = j.at("repositories_removed").get<std::vector<std::string>>();
      return Event(std::move(e));
    }
    if (event_name == "ping") {
      PingEvent e;
      e.zen = j.at("zen").get<std::string>();
      e.hook_id = j.at("hook_id").get<int64_t>();
      e.app_id = j.at("app_id").get<int64_t>();
      return Event(std::move(e));
    }
    return Event(IgnoredEvent{j.value("action", std::string())});
  } catch (const json::exception& e) {
    return Unexpected(ErrorCode::kInvalidArgument,
                      "corrupt inbox digest for " + std::string(event_name) + ": " + e.what());
  }
}

}  // namespace labelrun::webhook
