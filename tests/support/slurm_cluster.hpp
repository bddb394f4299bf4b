#pragma once
// A private single-node Slurm cluster (tests/support/slurm/cluster.sh): munged,
// MariaDB + slurmdbd, slurmctld and slurmd, two GPUs declared as GRES over fake
// device files. Started once per test binary, on first use; stopped at exit.
// Tests that need it never skip: when it cannot start, they fail with the
// script's output, which names the daemon that did not come up.

#include <string>
#include <vector>

namespace labelrun::testing {

struct SlurmCluster {
  std::string error;       // empty when the cluster runs
  std::string dir;         // its folder
  std::string slurm_conf;  // SLURM_CONF for clients
};

const SlurmCluster& TestSlurmCluster();

// Runs a Slurm command against the test cluster; its exit status, output in `out`.
int RunSlurm(const std::vector<std::string>& argv, std::string* out);

}  // namespace labelrun::testing
