#pragma once
// Where a job's code comes from. The scheduler asks for the commit when the job is
// decided and for the archive of exactly that commit when the container is created,
// so what runs is what was decided on, and no credential enters the container.

#include <cstdint>
#include <string>

#include "labelrun/core/result.hpp"

namespace labelrun::runtime {

class SourceProvider {
 public:
  virtual ~SourceProvider() = default;
  // The commit a job decided now would run, e.g. the head of the default branch.
  // `installation` is the GitHub App installation the delivery came from (0: none).
  virtual Result<std::string> ResolveCommit(const std::string& repo, int64_t installation) = 0;
  // A gzip tar of the repository at `commit`, paths relative to the repository root
  // (no leading folder), ready for Runtime::CopyIn.
  virtual Result<std::string> Archive(const std::string& repo, int64_t installation,
                                      const std::string& commit) = 0;
};

}  // namespace labelrun::runtime
