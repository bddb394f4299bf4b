#include "support/issue_timeline.hpp"

#include <nlohmann/json.hpp>
#include <regex>

namespace labelrun::testing {
namespace {

std::string LabelOf(const std::string& state) {
  if (state == "Queued" || state == "Starting" || state == "Pulling the image") {
    return "status:queued";
  }
  if (state == "Running") return "status:in-progress";
  if (state == "Succeeded") return "status:done";
  return "status:failed";
}

bool IsStep(const std::string& state) {
  return state == "Starting" || state == "Pulling the image";
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::vector<IssueWrite> IssueWrites(const std::vector<FakeRequest>& requests,
                                    const std::string& repo, int64_t issue) {
  const std::string issue_path = "/repos/" + repo + "/issues/" + std::to_string(issue);
  const std::string comments_path = "/repos/" + repo + "/issues/comments/";
  const std::regex status_line(R"(\*\*([A-Z][a-z]+(?: [a-z]+)*)\*\*)");
  std::vector<IssueWrite> out;
  for (const FakeRequest& r : requests) {
    if (r.method == "GET") continue;
    IssueWrite w;
    w.status = r.status;
    w.at_unix_ms = r.at_unix_ms;
    const bool create = r.method == "POST" && r.target == issue_path + "/comments";
    const bool edit = r.method == "PATCH" && r.target.starts_with(comments_path);
    if (create || edit) {
      if (r.body.find("labelrun:job=") == std::string::npos) continue;
      w.kind = create ? IssueWrite::Kind::kCommentCreate : IssueWrite::Kind::kCommentEdit;
      const nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
      const std::string text = body.is_object() ? body.value("body", "") : r.body;
      std::smatch m;
      if (std::regex_search(text, m, status_line)) w.state = m[1];
    } else if (r.method == "POST" && r.target == issue_path + "/labels") {
      w.kind = IssueWrite::Kind::kAddLabels;
      const nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
      if (body.is_object() && body.contains("labels") && body["labels"].is_array()) {
        for (const auto& l : body["labels"]) {
          if (l.is_string()) w.labels.push_back(l.get<std::string>());
        }
      }
    } else if (r.method == "DELETE" && r.target.starts_with(issue_path + "/labels/")) {
      w.kind = IssueWrite::Kind::kRemoveLabel;
      w.labels.push_back(PercentDecode(r.target.substr(issue_path.size() + 8)));
    } else {
      continue;
    }
    out.push_back(std::move(w));
  }
  return out;
}

std::string DescribeWrites(const std::vector<IssueWrite>& writes, int64_t t0_unix_ms) {
  std::string out;
  for (const IssueWrite& w : writes) {
    out += "  +" + std::to_string(w.at_unix_ms - t0_unix_ms) + " ms ";
    switch (w.kind) {
      case IssueWrite::Kind::kCommentCreate:
        out += "POST comment " + w.state;
        break;
      case IssueWrite::Kind::kCommentEdit:
        out += "PATCH comment " + w.state;
        break;
      case IssueWrite::Kind::kAddLabels:
        out += "POST labels";
        for (const std::string& l : w.labels) out += " " + l;
        break;
      case IssueWrite::Kind::kRemoveLabel:
        out += "DELETE label " + (w.labels.empty() ? "" : w.labels[0]);
        break;
    }
    out += " -> " + std::to_string(w.status) + "\n";
  }
  return out;
}

std::vector<std::string> CommentStates(const std::vector<IssueWrite>& writes) {
  std::vector<std::string> states;
  for (const IssueWrite& w : writes) {
    if (w.kind != IssueWrite::Kind::kCommentCreate && w.kind != IssueWrite::Kind::kCommentEdit) {
      continue;
    }
    if (IsStep(w.state) || (!states.empty() && states.back() == w.state)) continue;
    states.push_back(w.state);
  }
  return states;
}

std::string CheckJobTimeline(const std::vector<IssueWrite>& writes,
                             const std::string& final_state) {
  const std::vector<std::string> expected = {"Queued", "Running", final_state};
  if (CommentStates(writes) != expected) {
    std::string got;
    for (const std::string& s : CommentStates(writes)) got += s + " ";
    return "the comment showed " + got + "instead of Queued Running " + final_state;
  }
  std::string shown;  // the state the comment shows at this point
  std::string last_added;
  int creates = 0;
  for (size_t i = 0; i < writes.size(); ++i) {
    const IssueWrite& w = writes[i];
    const std::string at = "write " + std::to_string(i + 1) + ": ";
    switch (w.kind) {
      case IssueWrite::Kind::kCommentCreate:
        if (++creates > 1 || i != 0) return at + "the comment was created again";
        shown = w.state;
        break;
      case IssueWrite::Kind::kCommentEdit:
        if (creates == 0) return at + "an edit before the comment was created";
        shown = w.state;
        break;
      case IssueWrite::Kind::kAddLabels:
        for (const std::string& l : w.labels) {
          if (!l.starts_with("status:")) continue;
          if (shown.empty()) return at + l + " added before the comment";
          if (l != LabelOf(shown)) return at + l + " added while the comment shows " + shown;
          last_added = l;
        }
        break;
      case IssueWrite::Kind::kRemoveLabel:
        if (!w.labels.empty() && !shown.empty() && w.labels[0] == LabelOf(shown)) {
          return at + w.labels[0] + " removed while the comment shows " + shown;
        }
        break;
    }
    if (w.kind == IssueWrite::Kind::kAddLabels || w.kind == IssueWrite::Kind::kRemoveLabel) {
      if (w.status < 200 || w.status >= 300) {
        return at + "a label write answered " + std::to_string(w.status);
      }
    }
  }
  if (last_added != LabelOf(final_state)) {
    return "the last status label added is \"" + last_added + "\", not " + LabelOf(final_state);
  }
  return "";
}

}  // namespace labelrun::testing
