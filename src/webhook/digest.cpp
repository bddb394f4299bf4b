#include "labelrun/webhook/digest.hpp"

#include <simdjson.h>

#include <optional>

#include "labelrun/core/json_writer.hpp"

namespace labelrun::webhook {
namespace {

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

// Reading goes through simdjson's DOM (runtime-dispatched SIMD): the processor
// decodes every stored delivery, and a DOM of std::map nodes cost it more than
// the I/O thread spends parsing the whole 12 KB body.
using simdjson::error_code;
using simdjson::dom::element;

error_code Get(element j, std::string_view key, std::string& out) {
  std::string_view s;
  if (auto err = j[key].get_string().get(s)) return err;
  out.assign(s);
  return simdjson::SUCCESS;
}

error_code Get(element j, std::string_view key, int64_t& out) {
  return j[key].get_int64().get(out);
}

error_code Get(element j, std::string_view key, bool& out) { return j[key].get_bool().get(out); }

error_code Get(element j, std::string_view key, std::vector<std::string>& out) {
  simdjson::dom::array array;
  if (auto err = j[key].get_array().get(array)) return err;
  out.clear();
  for (element item : array) {
    std::string_view s;
    if (auto err = item.get_string().get(s)) return err;
    out.emplace_back(s);
  }
  return simdjson::SUCCESS;
}

// null or absent: nullopt.
error_code Get(element j, std::string_view key, std::optional<std::string>& out) {
  element v;
  error_code err = j[key].get(v);
  if (err == simdjson::NO_SUCH_FIELD || (!err && v.is_null())) {
    out.reset();
    return simdjson::SUCCESS;
  }
  if (err) return err;
  std::string_view s;
  if (auto e = v.get_string().get(s)) return e;
  out.emplace(s);
  return simdjson::SUCCESS;
}

// The first error of a sequence of reads.
struct Reads {
  error_code err = simdjson::SUCCESS;
  template <typename T>
  Reads& operator()(element j, std::string_view key, T& out) {
    if (!err) err = Get(j, key, out);
    return *this;
  }
};

error_code ReadEnvelope(element j, Envelope& e) {
  element r, s;
  if (auto err = j["repository"].get(r)) return err;
  if (auto err = j["sender"].get(s)) return err;
  Reads read;
  read(j, "action", e.action)(j, "installation_id", e.installation_id);
  read(r, "id", e.repository.id)(r, "full_name", e.repository.full_name);
  read(r, "default_branch", e.repository.default_branch)(r, "private", e.repository.is_private);
  read(s, "login", e.sender.login)(s, "id", e.sender.id)(s, "type", e.sender.type);
  return read.err;
}

Result<Event> DecodeElement(std::string_view event_name, element j) {
  Reads read;
  Event event;
  if (event_name == "issues") {
    IssuesEvent e;
    read.err = ReadEnvelope(j, e);
    read(j, "number", e.number)(j, "title", e.title)(j, "state", e.state);
    read(j, "labels", e.labels)(j, "label", e.label)(j, "is_pull_request", e.is_pull_request);
    event = std::move(e);
  } else if (event_name == "issue_comment") {
    IssueCommentEvent e;
    read.err = ReadEnvelope(j, e);
    read(j, "number", e.number)(j, "state", e.state)(j, "labels", e.labels);
    read(j, "is_pull_request", e.is_pull_request)(j, "comment_id", e.comment_id);
    read(j, "comment_body", e.comment_body)(j, "author_association", e.author_association);
    event = std::move(e);
  } else if (event_name == "pull_request") {
    PullRequestEvent e;
    read.err = ReadEnvelope(j, e);
    read(j, "number", e.number)(j, "state", e.state)(j, "labels", e.labels);
    read(j, "label", e.label)(j, "head_sha", e.head_sha)(j, "head_ref", e.head_ref);
    // Digests stored before these fields existed lack them: a same-repository head.
    e.head_repo = e.repository.full_name;
    if (j["head_repo"].error() != simdjson::NO_SUCH_FIELD) read(j, "head_repo", e.head_repo);
    if (j["merged"].error() != simdjson::NO_SUCH_FIELD) read(j, "merged", e.merged);
    event = std::move(e);
  } else if (event_name == "check_run") {
    CheckRunEvent e;
    read.err = ReadEnvelope(j, e);
    read(j, "check_run_id", e.check_run_id)(j, "external_id", e.external_id);
    read(j, "head_sha", e.head_sha)(j, "name", e.name)(j, "pull_request", e.pull_request);
    read(j, "requested_action", e.requested_action);
    event = std::move(e);
  } else if (event_name == "installation" || event_name == "installation_repositories") {
    InstallationEvent e;
    read.err = ReadEnvelope(j, e);
    read(j, "account", e.account)(j, "repositories_added", e.repositories_added);
    read(j, "repositories_removed", e.repositories_removed);
    event = std::move(e);
  } else if (event_name == "ping") {
    PingEvent e;
    read(j, "zen", e.zen)(j, "hook_id", e.hook_id)(j, "app_id", e.app_id);
    event = std::move(e);
  } else {
    IgnoredEvent e;
    if (j["action"].error() != simdjson::NO_SUCH_FIELD) read(j, "action", e.action);
    event = std::move(e);
  }
  if (read.err) {
    return Unexpected(ErrorCode::kInvalidArgument, "corrupt inbox digest for " +
                                                       std::string(event_name) + ": " +
                                                       simdjson::error_message(read.err));
  }
  return event;
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
          w.Key("head_repo").String(e.head_repo);
          w.Key("merged").Bool(e.merged);
        } else if constexpr (std::is_same_v<T, CheckRunEvent>) {
          w.Key("check_run_id").Int(e.check_run_id);
          w.Key("external_id").String(e.external_id);
          w.Key("head_sha").String(e.head_sha);
          w.Key("name").String(e.name);
          w.Key("pull_request").Int(e.pull_request);
          w.Key("requested_action").String(e.requested_action);
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
  // One parser per thread keeps its buffers; a digest past this size gets a
  // parser of its own, so that one large delivery does not hold its buffers
  // for the life of the thread.
  constexpr size_t kReusedParserBytes = 64 * 1024;
  thread_local simdjson::dom::parser reused;
  std::optional<simdjson::dom::parser> own;
  simdjson::dom::parser& parser = digest.size() <= kReusedParserBytes ? reused : own.emplace();
  element root;
  if (auto err = parser.parse(digest.data(), digest.size()).get(root)) {
    return Unexpected(ErrorCode::kInvalidArgument, "corrupt inbox digest for " +
                                                       std::string(event_name) + ": " +
                                                       simdjson::error_message(err));
  }
  if (!root.is_object()) {
    return Unexpected(ErrorCode::kInvalidArgument,
                      "corrupt inbox digest for " + std::string(event_name) + ": not an object");
  }
  return DecodeElement(event_name, root);
}

}  // namespace labelrun::webhook
