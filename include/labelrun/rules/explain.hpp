#pragma once
// Decisions for people (`labelrun explain`, `/labelrun explain`) and for tools (`--json`).

#include <nlohmann/json.hpp>
#include <string>

#include "labelrun/rules/decision.hpp"

namespace labelrun::rules {

// The job spec as JSON: image, command, env (object), gpus, cpus, memory_bytes, shm_bytes,
// timeout_ms, host_selector (object), outputs, metric (a string, or a list when the job
// names several), priority, max_concurrent.
nlohmann::json JobSpecToJson(const JobSpec& job);

// One JSON object: "decision" (dispatch|hold|cancel|deny|unknown_labels|none), "reasons",
// and where they apply "rule", "job", "hold_label", "suggestions" ([{label, suggestion}]),
// "other_rules" ([{rule, why}]), "explain_only".
nlohmann::json DecisionToJson(const Decision& decision);

// Plain text, stable for golden tests:
//   decision: dispatch
//   rule: train-on-gpu
//   reasons:
//     - ...
//   job:
//     image: ...
//   other rules:
//     - infer-on-gpu: needs all of [...]; missing ...
// A rule's env shows its keys only ("env: HF_TOKEN (value not shown)"), never the values.
std::string RenderExplainText(const Decision& decision);

// The issue comment that explains a decision (`/labelrun explain`, refusals, holds,
// did-you-mean suggestions): a bold "labelrun" line, then RenderExplainText in a fenced
// code block whose fence is longer than any backtick run inside it. Label names, rule
// names and reasons are therefore inert on GitHub: no @mention pings, no HTML, no images,
// no links, whatever a label is called. Redaction happens where comments are queued.
std::string RenderExplainComment(const Decision& decision);

}  // namespace labelrun::rules
