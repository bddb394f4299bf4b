#pragma once
// `labelrun labels sync`: the changes that make a repository's labels match the dictionary.
// Pure: the caller lists the repository's labels and applies the plan through the outbox.

#include <span>
#include <string>
#include <vector>

#include "labelrun/labels/dictionary.hpp"

namespace labelrun::labels {

// GitHub refuses label descriptions longer than this.
inline constexpr size_t kMaxDescriptionLength = 100;

// A label as GitHub's API lists it.
struct RepoLabel {
  std::string name;
  std::string colour;  // 6 hex digits, either case, no '#'
  std::string description;
};

enum class SyncActionKind {
  kCreate,  // the dictionary label does not exist in the repository
  kUpdate,  // it exists with another colour or description
  kRename,  // a misspelt twin exists (`gpu-required`, `task:trainig`: see Suggest) and the
            // real one does not: renaming keeps it on every issue that carries it
  kDelete,  // not in the dictionary (only with prune)
  kKeep,    // not in the dictionary and left alone (without prune), or a misspelt twin whose
            // real label exists too (never deleted, even with prune); reported, not applied
};

struct SyncAction {
  SyncActionKind kind;
  std::string name;         // the repository label acted on (kCreate: the new name)
  std::string new_name;     // kRename: the dictionary name
  std::string colour;       // kCreate, kUpdate, kRename: the dictionary colour
  std::string description;  // kCreate, kUpdate, kRename: the meaning, cut to 100 characters
  std::string reason;       // a sentence for the dry-run listing
};

// The plan in a stable order: renames, creates and updates in dictionary order, then
// deletions or keeps in repository order. Colours compare case-insensitively. Empty when
// the repository already matches.
std::vector<SyncAction> PlanSync(const Dictionary& dictionary, std::span<const RepoLabel> repo,
                                 bool prune);

// The description GitHub gets for `label`: its meaning, cut at a word boundary to at most
// kMaxDescriptionLength bytes (with "..." when cut), never splitting a UTF-8 character.
std::string LabelDescription(const LabelInfo& label);

}  // namespace labelrun::labels
