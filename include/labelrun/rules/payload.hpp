#pragma once
// Webhook payload -> Event, for `labelrun simulate` and for the server's dispatch path.

#include <nlohmann/json.hpp>
#include <string_view>

#include "labelrun/core/result.hpp"
#include "labelrun/rules/decision.hpp"

namespace labelrun::rules {

// Builds the Event from a parsed `issues`, `pull_request` or `issue_comment` payload
// (`event_name` is the X-GitHub-Event header): kind from `action`, changed_label from
// `label.name`, labels from `issue.labels[].name` (or `pull_request.labels`), sender from
// `sender.login`, and for issue_comment `created` the command from `comment.body` (a
// comment with no `/labelrun` command gives kOther). The permission is not in payloads:
// the caller passes what the API said. Wrong shapes give kInvalidArgument naming the field;
// other event names give kInvalidArgument. Never throws.
Result<Event> EventFromPayload(std::string_view event_name, const nlohmann::json& payload,
                               Permission sender_permission);

}  // namespace labelrun::rules
