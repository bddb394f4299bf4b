#include "labelrun/webhook/parse.hpp"

#include <simdjson.h>

#include "labelrun/core/strings.hpp"

namespace labelrun::webhook {
namespace {

namespace od = simdjson::ondemand;
static_assert(kParsePadding == simdjson::SIMDJSON_PADDING);
using simdjson::error_code;

// Walks an object once, calling fn(key, value) for each field; fields fn leaves
// unread are skipped (and their brackets checked) by the iterator.
template <typename Fn>
error_code ForEachField(od::object obj, Fn&& fn) {
  for (auto field : obj) {
    std::string_view key;
    if (auto err = field.unescaped_key().get(key)) return err;
    od::value value;
    if (auto err = field.value().get(value)) return err;
    if (auto err = fn(key, value)) return err;
  }
  return simdjson::SUCCESS;
}

template <typename Fn>
error_code ForEachField(od::value v, Fn&& fn) {
  od::object obj;
  if (auto err = v.get_object().get(obj)) return err;
  return ForEachField(obj, std::forward<Fn>(fn));
}

// True when the whole document was consumed (simdjson 3.0 has no at_end()).
bool AtEnd(od::document& doc) { return doc.current_location().error() == simdjson::OUT_OF_BOUNDS; }

bool IsNull(od::value& v) {
  od::json_type t;
  return !v.type().get(t) && t == od::json_type::null;
}

// A string, or "" for null.
error_code ReadString(od::value v, std::string& out) {
  if (IsNull(v)) {
    out.clear();
    return simdjson::SUCCESS;
  }
  std::string_view s;
  if (auto err = v.get_string().get(s)) return err;
  out.assign(s);
  return simdjson::SUCCESS;
}

error_code ReadInt(od::value v, int64_t& out) {
  if (IsNull(v)) {
    out = 0;
    return simdjson::SUCCESS;
  }
  return v.get_int64().get(out);
}

error_code ReadActor(od::value v, Actor& out) {
  if (IsNull(v)) return simdjson::SUCCESS;
  return ForEachField(v, [&](std::string_view key, od::value f) -> error_code {
    if (key == "login") return ReadString(f, out.login);
    if (key == "id") return ReadInt(f, out.id);
    if (key == "type") return ReadString(f, out.type);
    return simdjson::SUCCESS;
  });
}

error_code ReadRepository(od::value v, Repository& out) {
  if (IsNull(v)) return simdjson::SUCCESS;
  return ForEachField(v, [&](std::string_view key, od::value f) -> error_code {
    if (key == "id") return ReadInt(f, out.id);
    if (key == "full_name") return ReadString(f, out.full_name);
    if (key == "default_branch") return ReadString(f, out.default_branch);
    if (key == "private") return f.get_bool().get(out.is_private);
    return simdjson::SUCCESS;
  });
}

error_code ReadLabelName(od::value v, std::optional<std::string>& out) {
  if (IsNull(v)) return simdjson::SUCCESS;
  std::string name;
  error_code err = ForEachField(v, [&](std::string_view key, od::value f) -> error_code {
    return key == "name" ? ReadString(f, name) : simdjson::SUCCESS;
  });
  if (!err) out = std::move(name);
  return err;
}

error_code ReadLabels(od::value v, std::vector<std::string>& out) {
  if (IsNull(v)) return simdjson::SUCCESS;
  od::array arr;
  if (auto err = v.get_array().get(arr)) return err;
  for (auto element : arr) {
    od::value item;
    if (auto err = element.get(item)) return err;
    std::optional<std::string> name;
    if (auto err = ReadLabelName(item, name)) return err;
    if (name) out.push_back(std::move(*name));
  }
  return simdjson::SUCCESS;
}

// Fields common to every repository event; false if `key` is not one of them.
bool EnvelopeField(std::string_view key, od::value& v, Envelope& out, error_code& err) {
  if (key == "action")
    err = ReadString(v, out.action);
  else if (key == "repository")
    err = ReadRepository(v, out.repository);
  else if (key == "sender")
    err = ReadActor(v, out.sender);
  else if (key == "installation") {
    err = IsNull(v) ? simdjson::SUCCESS : ForEachField(v, [&](std::string_view k, od::value f) {
      return k == "id" ? ReadInt(f, out.installation_id) : simdjson::SUCCESS;
    });
  } else {
    return false;
  }
  return true;
}

// The issue object of `issues` and `issue_comment`.
template <typename E>
error_code ReadIssue(od::value v, E& out, std::string* title) {
  return ForEachField(v, [&](std::string_view key, od::value f) -> error_code {
    if (key == "number") return ReadInt(f, out.number);
    if (key == "state") return ReadString(f, out.state);
    if (key == "labels") return ReadLabels(f, out.labels);
    if (key == "pull_request") {
      out.is_pull_request = !IsNull(f);
      return simdjson::SUCCESS;
    }
    if (key == "title" && title != nullptr) return ReadString(f, *title);
    return simdjson::SUCCESS;
  });
}

struct Required {
  std::vector<std::string_view> missing;
  void Check(bool present, std::string_view name) {
    if (!present) missing.push_back(name);
  }
};

Unexpected Malformed(std::string_view event, error_code err) {
  return Unexpected(ErrorCode::kInvalidArgument, "malformed " + std::string(event) +
                                                     " payload: " + simdjson::error_message(err));
}

Unexpected Missing(std::string_view event, const std::vector<std::string_view>& fields) {
  std::string list;
  for (std::string_view f : fields) list += (list.empty() ? "" : ", ") + std::string(f);
  return Unexpected(ErrorCode::kInvalidArgument,
                    std::string(event) + " payload lacks required field(s): " + list);
}

bool Acts(std::string_view event, std::string_view action) {
  if (event == "issues") {
    return action == "labeled" || action == "unlabeled" || action == "closed" ||
           action == "reopened";
  }
  if (event == "issue_comment") return action == "created";
  if (event == "pull_request") {
    return action == "labeled" || action == "unlabeled" || action == "closed" ||
           action == "synchronize";
  }
  if (event == "check_run") return action == "rerequested" || action == "requested_action";
  return event == "installation" || event == "installation_repositories";
}

Result<Event> ParseDocument(std::string_view event_name, od::document& doc) {
  od::object root;
  if (auto err = doc.get_object().get(root)) return Malformed(event_name, err);

  Envelope env;
  IssuesEvent issues;
  IssueCommentEvent comment;
  PullRequestEvent pr;
  InstallationEvent inst;
  PingEvent ping;
  CheckRunEvent check;
  bool has_check = false;
  bool has_issue = false, has_comment = false, has_pr = false, has_repo = false;
  bool has_sender = false, has_action = false, has_zen = false;

  const bool is_issues = event_name == "issues";
  const bool is_comment = event_name == "issue_comment";
  const bool is_pr = event_name == "pull_request";
  const bool is_installation =
      event_name == "installation" || event_name == "installation_repositories";
  const bool is_ping = event_name == "ping";
  const bool is_check = event_name == "check_run";

  if (!is_issues && !is_comment && !is_pr && !is_installation && !is_ping && !is_check) {
    // Not an event labelrun acts on: check the structure, keep the action.
    std::string action;
    error_code err = ForEachField(root, [&](std::string_view key, od::value v) -> error_code {
      od::json_type t;
      if (key == "action" && !v.type().get(t) && t == od::json_type::string) {
        return ReadString(v, action);
      }
      return simdjson::SUCCESS;
    });
    if (err) return Malformed(event_name, err);
    if (!AtEnd(doc)) return Malformed(event_name, simdjson::TRAILING_CONTENT);
    return Event(IgnoredEvent{std::move(action)});
  }

  Actor account;
  error_code err = ForEachField(root, [&](std::string_view key, od::value v) -> error_code {
    error_code e = simdjson::SUCCESS;
    if (is_installation && key == "installation") {
      return ForEachField(v, [&](std::string_view k, od::value f) -> error_code {
        if (k == "id") return ReadInt(f, env.installation_id);
        if (k == "account") return ReadActor(f, account);
        return simdjson::SUCCESS;
      });
    }
    if (EnvelopeField(key, v, env, e)) {
      has_action |= key == "action";
      has_repo |= key == "repository";
      has_sender |= key == "sender";
      return e;
    }
    if (is_issues || is_comment) {
      if (key == "issue") {
        has_issue = true;
        return is_issues ? ReadIssue(v, issues, &issues.title) : ReadIssue(v, comment, nullptr);
      }
      if (is_issues && key == "label") return ReadLabelName(v, issues.label);
      if (is_comment && key == "comment") {
        has_comment = true;
        return ForEachField(v, [&](std::string_view k, od::value f) -> error_code {
          if (k == "id") return ReadInt(f, comment.comment_id);
          if (k == "body") return ReadString(f, comment.comment_body);
          if (k == "author_association") return ReadString(f, comment.author_association);
          return simdjson::SUCCESS;
        });
      }
    } else if (is_pr) {
      if (key == "number") return ReadInt(v, pr.number);
      if (key == "label") return ReadLabelName(v, pr.label);
      if (key == "pull_request") {
        has_pr = true;
        return ForEachField(v, [&](std::string_view k, od::value f) -> error_code {
          if (k == "state") return ReadString(f, pr.state);
          if (k == "labels") return ReadLabels(f, pr.labels);
          if (k == "number" && pr.number == 0) return ReadInt(f, pr.number);
          if (k == "merged") {
            if (IsNull(f)) return simdjson::SUCCESS;
            return f.get_bool().get(pr.merged);
          }
          if (k == "head") {
            return ForEachField(f, [&](std::string_view hk, od::value hf) -> error_code {
              if (hk == "sha") return ReadString(hf, pr.head_sha);
              if (hk == "ref") return ReadString(hf, pr.head_ref);
              if (hk == "repo") {
                if (IsNull(hf)) return simdjson::SUCCESS;
                return ForEachField(hf, [&](std::string_view rk, od::value rf) {
                  return rk == "full_name" ? ReadString(rf, pr.head_repo) : simdjson::SUCCESS;
                });
              }
              return simdjson::SUCCESS;
            });
          }
          return simdjson::SUCCESS;
        });
      }
    } else if (is_check) {
      if (key == "requested_action") {
        if (IsNull(v)) return simdjson::SUCCESS;
        return ForEachField(v, [&](std::string_view k, od::value f) {
          return k == "identifier" ? ReadString(f, check.requested_action) : simdjson::SUCCESS;
        });
      }
      if (key == "check_run") {
        has_check = true;
        return ForEachField(v, [&](std::string_view k, od::value f) -> error_code {
          if (k == "id") return ReadInt(f, check.check_run_id);
          if (k == "external_id") return ReadString(f, check.external_id);
          if (k == "head_sha") return ReadString(f, check.head_sha);
          if (k == "name") return ReadString(f, check.name);
          if (k == "pull_requests") {
            if (IsNull(f)) return simdjson::SUCCESS;
            od::array arr;
            if (auto e2 = f.get_array().get(arr)) return e2;
            for (auto element : arr) {
              od::value item;
              if (auto e2 = element.get(item)) return e2;
              int64_t number = 0;
              if (auto e2 = ForEachField(item, [&](std::string_view pk, od::value pf) {
                    return pk == "number" ? ReadInt(pf, number) : simdjson::SUCCESS;
                  })) {
                return e2;
              }
              if (check.pull_request == 0) check.pull_request = number;
            }
          }
          return simdjson::SUCCESS;
        });
      }
    } else if (is_installation) {
      auto read_repos = [&](od::value f, std::vector<std::string>& out) -> error_code {
        if (IsNull(f)) return simdjson::SUCCESS;
        od::array arr;
        if (auto e2 = f.get_array().get(arr)) return e2;
        for (auto element : arr) {
          od::value item;
          if (auto e2 = element.get(item)) return e2;
          std::string name;
          if (auto e2 = ForEachField(item, [&](std::string_view k, od::value rf) {
                return k == "full_name" ? ReadString(rf, name) : simdjson::SUCCESS;
              })) {
            return e2;
          }
          out.push_back(std::move(name));
        }
        return simdjson::SUCCESS;
      };
      if (key == "repositories" || key == "repositories_added") {
        return read_repos(v, inst.repositories_added);
      }
      if (key == "repositories_removed") return read_repos(v, inst.repositories_removed);
    } else if (is_ping) {
      if (key == "zen") {
        has_zen = true;
        return ReadString(v, ping.zen);
      }
      if (key == "hook_id") return ReadInt(v, ping.hook_id);
      if (key == "hook") {
        return ForEachField(v, [&](std::string_view k, od::value f) {
          return k == "app_id" ? ReadInt(f, ping.app_id) : simdjson::SUCCESS;
        });
      }
    }
    return simdjson::SUCCESS;
  });
  if (err) return Malformed(event_name, err);
  if (!AtEnd(doc)) return Malformed(event_name, simdjson::TRAILING_CONTENT);

  if (is_ping) {
    if (!has_zen) return Missing(event_name, {"zen"});
    return Event(std::move(ping));
  }
  if (!Acts(event_name, env.action)) return Event(IgnoredEvent{env.action});

  Required req;
  req.Check(has_action, "action");
  req.Check(has_repo || is_installation, "repository");
  req.Check(has_sender, "sender");
  if (is_issues || is_comment) req.Check(has_issue, "issue");
  if (is_comment) req.Check(has_comment, "comment");
  if (is_pr) req.Check(has_pr, "pull_request");
  if (is_check) req.Check(has_check, "check_run");
  if (!req.missing.empty()) return Missing(event_name, req.missing);

  if (is_issues) {
    static_cast<Envelope&>(issues) = std::move(env);
    return Event(std::move(issues));
  }
  if (is_comment) {
    static_cast<Envelope&>(comment) = std::move(env);
    return Event(std::move(comment));
  }
  if (is_pr) {
    static_cast<Envelope&>(pr) = std::move(env);
    return Event(std::move(pr));
  }
  if (is_check) {
    static_cast<Envelope&>(check) = std::move(env);
    return Event(std::move(check));
  }
  static_cast<Envelope&>(inst) = std::move(env);
  inst.account = std::move(account.login);
  return Event(std::move(inst));
}

}  // namespace

Result<BodyFormat> ClassifyContentType(std::string_view content_type) {
  std::string_view media = Trim(content_type.substr(0, content_type.find(';')));
  if (IEquals(media, "application/json")) return BodyFormat::kJson;
  if (IEquals(media, "application/x-www-form-urlencoded")) return BodyFormat::kForm;
  return Unexpected(ErrorCode::kInvalidArgument,
                    "unsupported content type '" + std::string(media) +
                        "' (GitHub sends application/json or application/x-www-form-urlencoded)");
}

Result<std::string_view> ExtractJson(BodyFormat format, std::string_view body,
                                     std::string& scratch) {
  if (format == BodyFormat::kJson) return body;
  std::optional<std::string> payload = FormValue(body, "payload");
  if (!payload) {
    return Unexpected(ErrorCode::kInvalidArgument, "form body has no valid payload= field");
  }
  scratch = std::move(*payload);
  return std::string_view(scratch);
}

Result<Event> ParseEvent(std::string_view event_name, std::string_view json, size_t readable) {
  thread_local od::parser parser;
  simdjson::padded_string copy;
  simdjson::padded_string_view view;
  if (readable >= json.size() + simdjson::SIMDJSON_PADDING) {
    view = simdjson::padded_string_view(json.data(), json.size(), readable);
  } else {
    copy = simdjson::padded_string(json);
    view = copy;
  }
  od::document doc;
  if (auto err = parser.iterate(view).get(doc)) return Malformed(event_name, err);
  return ParseDocument(event_name, doc);
}

std::string_view ActionOf(const Event& event) {
  return std::visit(
      [](const auto& e) -> std::string_view {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, PingEvent>)
          return "";
        else
          return e.action;
      },
      event);
}

std::string_view RepositoryOf(const Event& event) {
  return std::visit(
      [](const auto& e) -> std::string_view {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_base_of_v<Envelope, T>)
          return e.repository.full_name;
        else
          return "";
      },
      event);
}

}  // namespace labelrun::webhook
