#!/usr/bin/env bash
# A private single-node Slurm cluster for the tests, everything under one folder:
# munged, MariaDB + slurmdbd (accounting, which sacct reads), slurmctld and slurmd,
# with two GPUs declared as GRES over fake device files.
#   cluster.sh start DIR   starts it; clients use SLURM_CONF=DIR/slurm.conf
#   cluster.sh stop DIR    stops every daemon it started (by their pid files)
# Needs root (slurmd runs jobs as the submitting user, and the tests' jobs run
# `docker run`). Facts behind the settings: docs/slurm.md.
set -euo pipefail

cmd=${1:?start|stop}
dir=${2:?folder}
dir=$(realpath -m "$dir")

stop() {
  # All at once: each may take seconds to end on SIGTERM.
  local pids=() name pid
  for name in slurmd slurmctld slurmdbd mariadb munged; do
    [[ -s "$dir/$name.pid" ]] || continue
    pid=$(cat "$dir/$name.pid")
    kill "$pid" 2>/dev/null && pids+=("$pid")
    rm -f "$dir/$name.pid"
  done
  for _ in $(seq 50); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_for() {  # what, tries (0.1 s each), command...
  local what=$1 tries=$2
  shift 2
  for _ in $(seq "$tries"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "slurm fixture: $what did not come up; logs in $dir" >&2
  tail -n 20 "$dir"/*.log >&2 || true
  return 1
}

start() {
  mkdir -p "$dir"/{state,spool,db,dev,jobs}
  # munged checks that every folder above its socket is reachable by all.
  chmod 755 "$dir"
  # GPUs for gres.conf: Slurm wants character devices (plain files are refused).
  for i in 0 1; do
    mknod "$dir/dev/nvidia$i" c 195 "$i" 2>/dev/null ||
      ln -sf "$([[ $i == 0 ]] && echo /dev/null || echo /dev/zero)" "$dir/dev/nvidia$i"
  done

  mungekey --create --keyfile="$dir/munge.key" --force >/dev/null
  chmod 600 "$dir/munge.key"
  munged --force --socket="$dir/munge.socket" --key-file="$dir/munge.key" \
    --log-file="$dir/munged.log" --pid-file="$dir/munged.pid" --seed-file="$dir/munge.seed"

  local db_port ctld_port slurmd_port dbd_port
  db_port=$(free_port)
  ctld_port=$(free_port)
  slurmd_port=$(free_port)
  dbd_port=$(free_port)

  mariadb-install-db --no-defaults --datadir="$dir/db" --user=root \
    --auth-root-authentication-method=normal --skip-test-db >"$dir/mariadb-install.log" 2>&1
  mariadbd --no-defaults --datadir="$dir/db" --socket="$dir/mariadb.sock" --port="$db_port" \
    --bind-address=127.0.0.1 --user=root --skip-grant-tables --skip-name-resolve \
    --pid-file="$dir/mariadb.pid" --log-error="$dir/mariadb.log" \
    --innodb-buffer-pool-size=16M --innodb-log-file-size=8M </dev/null >>"$dir/mariadb.log" 2>&1 &
  wait_for "MariaDB" 300 test -S "$dir/mariadb.sock"

  local node cpus mem
  node=$(slurmd -C | head -n1)
  cpus=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$node")
  mem=$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<<"$node")
  local cluster="lrtest$$"

  cat >"$dir/slurmdbd.conf" <<CONF
AuthType=auth/munge
AuthInfo=socket=$dir/munge.socket
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$dbd_port
SlurmUser=root
LogFile=$dir/slurmdbd.log
PidFile=$dir/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$db_port
StorageUser=root
StorageLoc=slurm_acct_db_$cluster
CONF
  chmod 600 "$dir/slurmdbd.conf"

  cat >"$dir/slurm.conf" <<CONF
ClusterName=$cluster
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge.socket
CryptoType=crypto/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=256
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
MinJobAge=2
KillWait=5
ReturnToService=2
MpiDefault=none
GresTypes=gpu
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$dbd_port
AccountingStoragePass=$dir/munge.socket
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem Gres=gpu:2 State=UNKNOWN
PartitionName=gpu Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
  cat >"$dir/gres.conf" <<CONF
AutoDetect=off
NodeName=localhost Name=gpu File=$dir/dev/nvidia[0-1]
CONF

  export SLURM_CONF="$dir/slurm.conf"
  slurmdbd
  wait_for "slurmdbd" 300 bash -c "grep -q 'slurmdbd version .* started' '$dir/slurmdbd.log'"
  slurmctld
  wait_for "slurmctld" 300 scontrol ping
  slurmd -N localhost
  wait_for "the node" 300 bash -c "sinfo -h -N -o %t | grep -qx idle"
  echo "SLURM_CONF=$dir/slurm.conf"
  echo "slurm fixture: started in ${SECONDS}s" >&2
}

case "$cmd" in
  start)
    trap 'stop' ERR
    start
    ;;
  stop) stop ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
