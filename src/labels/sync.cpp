#include "labelrun/labels/sync.hpp"

#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "labelrun/core/strings.hpp"
#include "labelrun/labels/name.hpp"
#include "labelrun/labels/suggest.hpp"

namespace labelrun::labels {

std::string LabelDescription(const LabelInfo& label) {
  const std::string& meaning = label.meaning;
  if (meaning.size() <= kMaxDescriptionLength) return meaning;
  size_t cut = kMaxDescriptionLength - 3;
  // Back off to a character boundary (not a UTF-8 continuation byte), then to a space.
  while (cut > 0 && (static_cast<unsigned char>(meaning[cut]) & 0xC0) == 0x80) --cut;
  size_t space = meaning.rfind(' ', cut);
  if (space != std::string::npos && space > kMaxDescriptionLength / 2) cut = space;
  return std::string(Trim(std::string_view(meaning).substr(0, cut))) + "...";
}

std::vector<SyncAction> PlanSync(const Dictionary& dictionary, std::span<const RepoLabel> repo,
                                 bool prune) {
  std::unordered_map<std::string, const RepoLabel*> by_name;
  std::unordered_map<std::string, const RepoLabel*> by_normal;
  for (const RepoLabel& label : repo) {
    by_name.emplace(label.name, &label);
    by_normal.emplace(NormalizeName(label.name), &label);
  }
  std::unordered_map<const RepoLabel*, bool> claimed;
  for (const LabelInfo& wanted : dictionary.labels()) {
    if (auto it = by_name.find(wanted.name); it != by_name.end()) claimed[it->second] = true;
  }
  // A repository label that misspells a dictionary label (`gpu-required`, `task:trainig`) is
  // that label's twin: it is on issues already, so it is renamed, never deleted.
  auto twin_of = [&](const LabelInfo& wanted) -> const RepoLabel* {
    if (auto it = by_normal.find(NormalizeName(wanted.name));
        it != by_normal.end() && !claimed[it->second]) {
      return it->second;
    }
    for (const RepoLabel& label : repo) {
      if (claimed[&label]) continue;
      if (std::optional<std::string> meant = Suggest(dictionary, label.name);
          meant && *meant == wanted.name) {
        return &label;
      }
    }
    return nullptr;
  };
  std::vector<SyncAction> plan;
  for (const LabelInfo& wanted : dictionary.labels()) {
    const std::string description = LabelDescription(wanted);
    if (auto it = by_name.find(wanted.name); it != by_name.end()) {
      const RepoLabel& have = *it->second;
      if (!IEquals(have.colour, wanted.colour) || have.description != description) {
        plan.push_back({SyncActionKind::kUpdate, wanted.name, "", wanted.colour, description,
                        "colour or description differs from LABELS.md"});
      }
      continue;
    }
    if (const RepoLabel* twin = twin_of(wanted)) {
      claimed[twin] = true;
      plan.push_back(
          {SyncActionKind::kRename, twin->name, wanted.name, wanted.colour, description,
           "`" + twin->name + "` is how LABELS.md spells `" + wanted.name + "` differently"});
      continue;
    }
    plan.push_back({SyncActionKind::kCreate, wanted.name, "", wanted.colour, description,
                    "defined in LABELS.md, missing in the repository"});
  }
  // --prune deletes only inside the dictionary's own categories (a `task:` label
  // LABELS.md no longer defines); labels such as `bug` belong to other
  // conventions and are never touched.
  std::unordered_set<std::string> categories;
  for (const LabelInfo& wanted : dictionary.labels()) {
    categories.insert(wanted.name.substr(0, wanted.name.find(':')));
  }
  for (const RepoLabel& label : repo) {
    if (claimed[&label]) continue;
    // A twin whose correct spelling exists too: renaming would fail (422, name taken) and
    // deleting would strip it from its issues. Left for a person.
    if (std::optional<std::string> meant = Suggest(dictionary, label.name)) {
      plan.push_back({SyncActionKind::kKeep, label.name, "", "", "",
                      "looks like a misspelling of `" + *meant +
                          "`, which exists too; kept (move its issues to `" + *meant +
                          "`, then delete it by hand)"});
      continue;
    }
    size_t colon = label.name.find(':');
    bool ours = colon != std::string::npos && categories.count(label.name.substr(0, colon)) > 0;
    if (prune && ours) {
      plan.push_back({SyncActionKind::kDelete, label.name, "", "", "",
                      "in a LABELS.md category but not defined there; deleted because of --prune"});
    } else {
      plan.push_back({SyncActionKind::kKeep, label.name, "", "", "",
                      ours ? "not in LABELS.md; kept (use --prune to delete)"
                           : "outside the LABELS.md categories; kept"});
    }
  }
  return plan;
}

}  // namespace labelrun::labels
