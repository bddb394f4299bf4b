#pragma once
// The label and rule subcommands, with arguments already parsed (the CLI11 wiring lives in
// app/cli.cpp). Each prints to `out` (results) and `err` (problems) and returns the exit
// code: 0 success, 1 the input is wrong (lint or config errors, bad payload), 2 a file
// could not be read or an argument is invalid.

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "labelrun/core/result.hpp"
#include "labelrun/labels/dictionary.hpp"
#include "labelrun/rules/rule_set.hpp"

namespace labelrun::app {

// `labelrun labels lint [--file PATH]` (default LABELS.md): prints the lint report; exit 1
// when it has errors.
int RunLabelsLint(const std::string& labels_file, std::ostream& out, std::ostream& err);

struct ExplainArgs {
  std::string config_file;
  std::vector<std::string> labels;     // items may themselves be "a,b,c"
  std::optional<std::string> added;    // --added: the label that changed (default: a retry)
  std::optional<std::string> removed;  // --removed
  std::string permission = "write";
  std::string sender = "cli";
  bool json = false;
};
// `labelrun explain --config FILE --labels a,b,c [--added b | --removed b]
// [--permission write] [--json]`: the decision, the job spec and why every other rule did
// not fire. With neither --added nor --removed it decides like `/labelrun retry`.
int RunExplain(const ExplainArgs& args, std::ostream& out, std::ostream& err);

struct SimulateArgs {
  std::string config_file;
  std::string event = "issues";  // X-GitHub-Event: issues, issue_comment, pull_request
  std::string payload_file;
  std::string permission = "write";
  bool json = false;
};
// `labelrun simulate --config FILE --event issues --payload FILE.json [--json]`.
int RunSimulate(const SimulateArgs& args, std::ostream& out, std::ostream& err);

struct ConfigRules {
  std::shared_ptr<const labels::Dictionary> dictionary;  // null without `labels_file`
  rules::RuleSet rule_set;
};
// Reads the config YAML at `path`: `labels_file` (relative to the config file's folder)
// parsed into the dictionary, then `rules` and `hold_labels`. Every problem is in the
// error, one per line. For `check-config` too.
Result<ConfigRules> LoadConfigRules(const std::string& path);

}  // namespace labelrun::app
