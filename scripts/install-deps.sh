#!/usr/bin/env bash
# Installs the Debian 12 packages labelrun builds and tests with, when missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libboost1.81-dev libssl-dev openssl nlohmann-json3-dev libsimdjson-dev libspdlog-dev libfmt-dev
  libcurl4-openssl-dev libarchive-dev libsqlite3-dev sqlite3 libyaml-cpp-dev libcli11-dev libsystemd-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev clang-format
  curl
  systemd  # systemd-analyze verify and systemd-sysusers check config/systemd in the tests
  docker.io busybox-static chromium mmdebstrap
  # The Slurm runtime's tests run a private single-node cluster with accounting
  # (tests/support/slurm/cluster.sh); installing never leaves system daemons running.
  slurm-wlm munge slurmdbd slurm-wlm-mysql-plugin mariadb-server
)
# Node.js and npm fetch the test payloads; any install of them will do (a
# machine may carry Node from elsewhere, whose npm conflicts with Debian's).
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(wrk util-linux valgrind)  # valgrind: tests/bench/webhook_profile.sh
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
  # Where this install started Slurm's, munge's or MariaDB's system services (no
  # policy-rc.d), stop them: the tests run their own, on their own ports. Only the
  # services of packages installed just now.
  if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    declare -A units=([slurm-wlm]="slurmctld slurmd" [slurmdbd]=slurmdbd [munge]=munge
                      [mariadb-server]=mariadb)
    for p in "${missing[@]}"; do
      for unit in ${units[$p]:-}; do
        "${sudo_cmd[@]}" systemctl disable --now "$unit" >/dev/null 2>&1 || true
      done
    done
  fi
fi

# The test payloads (@octokit/webhooks-examples), and playwright-core, which drives
# the Chromium above in the dashboard's browser test (tests/support/browser/).
npm ci --prefix "$(dirname "$0")/../tests/support" --no-audit --no-fund --loglevel=error
