#!/usr/bin/env bash
# A single-node Slurm cluster (munged + slurmctld + slurmd) on localhost, without systemd,
# for running and testing `runner apply --executor slurm` on one machine.
#
#   scripts/slurm-local.sh up       install slurm/munge if missing, write slurm.conf, start the daemons,
#                                   wait for the node to be idle. Idempotent: while up it changes nothing
#                                   (a changed slurm.conf restarts the daemons and drops their jobs).
#   scripts/slurm-local.sh down     cancel all jobs, stop the daemons by the PIDs in their pid files
#                                   (never by name). Idempotent.
#   scripts/slurm-local.sh status   exit 0 and print the node state when the cluster answers, else exit 1.
#
# Needs root. Logs: /var/log/slurm/{slurmctld,slurmd}.log; finished jobs: /var/log/slurm/jobcomp.log.
# Recipe and the behaviour it was checked against: ../shared/notes/platform.md §8–9.
set -euo pipefail

# running <pidfile> <comm>: the pid file names a live process with that command name
running() { [ -s "$1" ] && [ "$(cat "/proc/$(cat "$1")/comm" 2>/dev/null)" = "$2" ]; }
# stop <pidfile> <comm>: TERM, wait up to 10 s, then KILL; only the PID in the pid file
stop() {
  local pid
  if running "$1" "$2"; then
    pid=$(cat "$1"); kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then echo "$2 ($pid) ignored TERM, sending KILL" >&2; kill -KILL "$pid"; fi
  fi
  rm -f "$1"
}

install_packages() {
  local cmd
  for cmd in slurmctld slurmd sbatch munged sinfo; do
    if ! command -v "$cmd" >/dev/null; then
      echo "slurm: installing slurmctld slurmd slurm-client munge"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
      return
    fi
  done
}

start_munge() {
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/log/munge /etc/munge
  install -d -o munge -g munge -m 0711 /var/lib/munge
  [ -s /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
  if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    stop /run/munge/munged.pid munged
    rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
    runuser -u munge -- /usr/sbin/munged    # forks into the background, pid in /run/munge/munged.pid
    for _ in $(seq 50); do munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
    munge -n </dev/null | unmunge >/dev/null  # fail here (set -e) if munged is not answering
  fi
}

write_config() {
  # CPUs and memory as slurmd itself detects them (a RealMemory above that drains the node).
  local cpus mem_mb
  read -r cpus mem_mb < <(slurmd -C | awk '{for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }}
                                          END { print v["CPUs"], v["RealMemory"] }')
  install -d -m 0755 /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
  # kill_invalid_depend: dependants of a failed job are cancelled instead of pending forever.
  # EnforcePartLimits=ALL: impossible requests (too many CPUs) are rejected at submit time.
  # MinJobAge=3600: `scontrol show job` still knows finished jobs for an hour (no sacct here).
  cat > /etc/slurm/slurm.conf.new <<CONF
ClusterName=local
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.log
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
DependencyParameters=kill_invalid_depend
MailProg=/bin/true
EnforcePartLimits=ALL
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=3600
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${mem_mb} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  if cmp -s /etc/slurm/slurm.conf.new /etc/slurm/slurm.conf; then
    rm -f /etc/slurm/slurm.conf.new
  else
    mv /etc/slurm/slurm.conf.new /etc/slurm/slurm.conf
    stop /run/slurmd.pid slurmd        # restart with the new config (a no-op on first start)
    stop /run/slurmctld.pid slurmctld
  fi
}

node_state() { sinfo -h -N -n localhost -o '%T' 2>/dev/null || true; }

up() {
  install_packages
  start_munge
  write_config
  running /run/slurmctld.pid slurmctld || slurmctld -c   # forks; -c: no jobs from an earlier run
  running /run/slurmd.pid slurmd || slurmd -N localhost   # -N: node name from slurm.conf, whatever hostname says
  local state=""
  for _ in $(seq 120); do
    state=$(node_state)
    case "$state" in
      idle|mixed|allocated|completing) echo "slurm: node localhost $state"; return 0 ;;
      down*|drain*) scontrol update NodeName=localhost State=RESUME 2>/dev/null || true ;;
    esac
    sleep 0.5
  done
  echo "slurm: node not up after 60 s (state: ${state:-none})" >&2
  tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
  return 1
}

down() {
  if running /run/slurmctld.pid slurmctld; then   # cancel jobs first: their slurmstepd outlives slurmd
    squeue -h -o %i 2>/dev/null | xargs -r scancel || true
    for _ in $(seq 100); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.1; done
  fi
  stop /run/slurmd.pid slurmd
  stop /run/slurmctld.pid slurmctld
  stop /run/munge/munged.pid munged
  echo "slurm: stopped"
}

status() {
  if ! command -v sinfo >/dev/null; then echo "slurm: not installed" >&2; return 1; fi
  if ! scontrol ping >/dev/null 2>&1; then echo "slurm: controller not answering" >&2; return 1; fi
  local state; state=$(node_state)
  case "$state" in
    idle|mixed|allocated|completing) echo "slurm: node localhost $state"; return 0 ;;
    *) echo "slurm: node localhost ${state:-unknown}" >&2; return 1 ;;
  esac
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
