#include "labelrun/app/rules_cli.hpp"

#include <yaml-cpp/yaml.h>
#include <cerrno>
#include <cstring>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "labelrun/core/json_text.hpp"
#include "labelrun/core/strings.hpp"
#include "labelrun/labels/lint.hpp"
#include "labelrun/rules/explain.hpp"
#include "labelrun/rules/loader.hpp"
#include "labelrun/rules/payload.hpp"

namespace labelrun::app {
namespace {

constexpr std::uintmax_t kMaxFileBytes = 32 << 20;

Result<std::string> ReadFile(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxFileBytes) {
    return Unexpected(ErrorCode::kResourceExhausted, path + ": larger than 32 MiB");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Unexpected(ErrorCode::kNotFound, path + ": cannot open: " + std::strerror(errno));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

int Print(std::ostream& out, const rules::Decision& decision, bool json) {
  if (json) {
    out << JsonText(rules::DecisionToJson(decision), 2) << '\n';
  } else {
    out << rules::RenderExplainText(decision);
  }
  return 0;
}

std::optional<rules::Permission> PermissionArg(const std::string& text, std::ostream& err) {
  auto permission = rules::ParsePermission(text);
  if (!permission) {
    err << "--permission '" << text
        << "' is not one of none, read, triage, write, maintain, admin\n";
  }
  return permission;
}

}  // namespace

int RunLabelsLint(const std::string& labels_file, std::ostream& out, std::ostream& err) {
  auto text = ReadFile(labels_file);
  if (!text) {
    err << text.error().message() << '\n';
    return 2;
  }
  std::vector<labels::Diagnostic> diagnostics = labels::Lint(*text);
  size_t count = labels::ParseLabelsMarkdown(*text).sections.size();
  out << labels::RenderLintReport(diagnostics, count, labels_file);
  return labels::HasErrors(diagnostics) ? 1 : 0;
}

Result<ConfigRules> LoadConfigRules(const std::string& path) {
  auto text = ReadFile(path);
  if (!text) return text.error();
  YAML::Node root;
  try {
    root = YAML::Load(*text);
  } catch (const YAML::Exception& e) {
    return Unexpected(ErrorCode::kInvalidArgument, path + ": not valid YAML: " + e.what());
  }
  ConfigRules out;
  if (root.IsMap() && root["labels_file"]) {
    const YAML::Node file = root["labels_file"];
    if (!file.IsScalar()) {
      return Unexpected(ErrorCode::kInvalidArgument, "labels_file: must be a path");
    }
    std::filesystem::path labels_path = file.Scalar();
    if (labels_path.is_relative()) {
      labels_path = std::filesystem::path(path).parent_path() / labels_path;
    }
    auto labels_text = ReadFile(labels_path.string());
    if (!labels_text) {
      return Unexpected(ErrorCode::kInvalidArgument,
                        "labels_file: " + labels_text.error().message());
    }
    auto dictionary = labels::ParseDictionary(*labels_text);
    if (!dictionary) {
      return Unexpected(ErrorCode::kInvalidArgument, "labels_file: " + labels_path.string() + ": " +
                                                         dictionary.error().message());
    }
    out.dictionary = std::make_shared<const labels::Dictionary>(std::move(*dictionary));
  }
  auto rule_set = rules::LoadRuleSetOrError(root, out.dictionary);
  if (!rule_set) return rule_set.error();
  out.rule_set = std::move(*rule_set);
  return out;
}

int RunExplain(const ExplainArgs& args, std::ostream& out, std::ostream& err) {
  if (args.added && args.removed) {
    err << "give --added or --removed, not both\n";
    return 2;
  }
  auto permission = PermissionArg(args.permission, err);
  if (!permission) return 2;
  auto config = LoadConfigRules(args.config_file);
  if (!config) {
    err << config.error().message() << '\n';
    return 1;
  }
  rules::Event event;
  event.permission = *permission;
  event.sender = args.sender;
  for (const std::string& item : args.labels) {
    for (std::string_view label : Split(item, ',')) {
      if (!Trim(label).empty()) event.labels.emplace_back(Trim(label));
    }
  }
  if (args.added) {
    event.kind = rules::EventKind::kLabeled;
    event.changed_label = *args.added;
  } else if (args.removed) {
    event.kind = rules::EventKind::kUnlabeled;
    event.changed_label = *args.removed;
  } else {
    event.kind = rules::EventKind::kCommand;
    event.command = rules::Command::kRetry;
  }
  rules::Decision decision =
      rules::Evaluate(config->rule_set, event, {.explain_other_rules = true});
  return Print(out, decision, args.json);
}

int RunSimulate(const SimulateArgs& args, std::ostream& out, std::ostream& err) {
  auto permission = PermissionArg(args.permission, err);
  if (!permission) return 2;
  auto config = LoadConfigRules(args.config_file);
  if (!config) {
    err << config.error().message() << '\n';
    return 1;
  }
  auto text = ReadFile(args.payload_file);
  if (!text) {
    err << text.error().message() << '\n';
    return 2;
  }
  nlohmann::json payload = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (payload.is_discarded()) {
    err << args.payload_file << ": not valid JSON\n";
    return 1;
  }
  auto event = rules::EventFromPayload(args.event, payload, *permission);
  if (!event) {
    err << args.payload_file << ": " << event.error().message() << '\n';
    return 1;
  }
  rules::Decision decision =
      rules::Evaluate(config->rule_set, *event, {.explain_other_rules = true});
  return Print(out, decision, args.json);
}

}  // namespace labelrun::app
