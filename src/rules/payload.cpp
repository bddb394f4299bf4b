#include "labelrun/rules/payload.hpp"

namespace labelrun::rules {
namespace {

constexpr size_t kMaxLabels = 1000;

Unexpected Bad(std::string what) {
  return Unexpected(ErrorCode::kInvalidArgument, "payload: " + std::move(what));
}

const nlohmann::json* Member(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

const std::string* StringAt(const nlohmann::json& object, const char* key) {
  const nlohmann::json* v = Member(object, key);
  return v != nullptr && v->is_string() ? v->get_ptr<const std::string*>() : nullptr;
}

EventKind KindFromAction(std::string_view action) {
  if (action == "labeled") return EventKind::kLabeled;
  if (action == "unlabeled") return EventKind::kUnlabeled;
  if (action == "closed") return EventKind::kClosed;
  if (action == "reopened") return EventKind::kReopened;
  if (action == "opened") return EventKind::kOpened;
  return EventKind::kOther;
}

}  // namespace

Result<Event> EventFromPayload(std::string_view event_name, const nlohmann::json& payload,
                               Permission sender_permission) {
  if (!payload.is_object()) return Bad("not a JSON object");
  const char* subject_key = nullptr;
  if (event_name == "issues" || event_name == "issue_comment") {
    subject_key = "issue";
  } else if (event_name == "pull_request") {
    subject_key = "pull_request";
  } else {
    return Bad("event '" + std::string(event_name.substr(0, 64)) +
               "' carries no labels; use issues, issue_comment or pull_request");
  }
  const std::string* action = StringAt(payload, "action");
  if (action == nullptr) return Bad("'action' is missing or not a string");
  const nlohmann::json* subject = Member(payload, subject_key);
  if (subject == nullptr || !subject->is_object()) {
    return Bad("'" + std::string(subject_key) + "' is missing or not an object");
  }

  Event event;
  event.permission = sender_permission;
  if (const nlohmann::json* sender = Member(payload, "sender")) {
    if (const std::string* login = StringAt(*sender, "login")) event.sender = *login;
  }
  if (const nlohmann::json* labels = Member(*subject, "labels")) {
    if (!labels->is_array()) return Bad(std::string(subject_key) + ".labels is not an array");
    if (labels->size() > kMaxLabels) return Bad("more than 1000 labels");
    for (size_t i = 0; i < labels->size(); ++i) {
      const std::string* name = StringAt((*labels)[i], "name");
      if (name == nullptr) {
        return Bad(std::string(subject_key) + ".labels[" + std::to_string(i) +
                   "].name is missing or not a string");
      }
      event.labels.push_back(*name);
    }
  }

  if (event_name == "issue_comment") {
    event.kind = EventKind::kOther;
    if (*action != "created") return event;
    const nlohmann::json* comment = Member(payload, "comment");
    const std::string* body = comment ? StringAt(*comment, "body") : nullptr;
    if (body == nullptr) return Bad("comment.body is missing or not a string");
    if (auto command = ParseCommand(*body)) {
      event.kind = EventKind::kCommand;
      event.command = *command;
    }
    return event;
  }

  event.kind = KindFromAction(*action);
  if (event_name == "pull_request") {
    // A head whose repository is not the base (or is gone) is a fork's.
    event.pull_request = true;
    const nlohmann::json* head = Member(*subject, "head");
    const nlohmann::json* head_repo = head ? Member(*head, "repo") : nullptr;
    const std::string* head_name = head_repo ? StringAt(*head_repo, "full_name") : nullptr;
    const nlohmann::json* repo = Member(payload, "repository");
    const std::string* base_name = repo ? StringAt(*repo, "full_name") : nullptr;
    event.from_fork = head_name == nullptr || base_name == nullptr || *head_name != *base_name;
  }
  if (event.kind == EventKind::kLabeled || event.kind == EventKind::kUnlabeled) {
    const nlohmann::json* label = Member(payload, "label");
    const std::string* name = label ? StringAt(*label, "name") : nullptr;
    if (name == nullptr) return Bad("label.name is missing or not a string");
    event.changed_label = *name;
  }
  return event;
}

}  // namespace labelrun::rules
