#pragma once
// `labelrun labels sync`: make a repository's labels match LABELS.md.

#include <cstdint>
#include <ostream>
#include <string>

namespace labelrun::app {

struct LabelsSyncArgs {
  std::string config_file;  // needs labels_file and a github section
  std::string repo;         // owner/name
  // The App installation that covers the repository. 0: the newest one seen in
  // this labelrun's inbox for the repository (not needed in token mode).
  int64_t installation = 0;
  bool dry_run = false;  // print the plan, change nothing
  bool prune = false;    // also delete labels of a LABELS.md category it no longer defines
};

// Prints the plan, then applies it unless dry_run. Idempotent: a second run
// finds nothing to do. Exit code: 0 done (or nothing to do), 1 a change failed,
// 2 the configuration or arguments are unusable.
int RunLabelsSync(const LabelsSyncArgs& args, std::ostream& out, std::ostream& err);

}  // namespace labelrun::app
