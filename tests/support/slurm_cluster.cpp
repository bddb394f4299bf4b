#include "support/slurm_cluster.hpp"

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "support/process.hpp"

namespace labelrun::testing {
namespace {

const std::string kScript = std::string(LABELRUN_SOURCE_DIR) + "/tests/support/slurm/cluster.sh";

struct Owner {
  SlurmCluster cluster;
  ~Owner() {
    if (cluster.dir.empty()) return;
    std::string out;
    (void)RunCommand({kScript, "stop", cluster.dir}, &out);
    std::error_code ec;
    std::filesystem::remove_all(cluster.dir, ec);
  }
};

}  // namespace

const SlurmCluster& TestSlurmCluster() {
  static Owner owner;
  static std::once_flag once;
  std::call_once(once, [] {
    char tmpl[] = "/tmp/labelrun-slurm-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      owner.cluster.error = "cannot make a temp folder";
      return;
    }
    owner.cluster.dir = tmpl;
    std::string out;
    if (RunCommand({kScript, "start", owner.cluster.dir}, &out) != 0) {
      owner.cluster.error =
          "the Slurm test cluster did not start (scripts/install-deps.sh "
          "installs slurm-wlm, munge, slurmdbd, mariadb-server):\n" +
          out;
      return;
    }
    owner.cluster.slurm_conf = owner.cluster.dir + "/slurm.conf";
  });
  return owner.cluster;
}

int RunSlurm(const std::vector<std::string>& argv, std::string* out) {
  // RunCommand does not search PATH: env does.
  std::vector<std::string> full = {"/usr/bin/env", "SLURM_CONF=" + TestSlurmCluster().slurm_conf};
  full.insert(full.end(), argv.begin(), argv.end());
  return RunCommand(full, out);
}

}  // namespace labelrun::testing
