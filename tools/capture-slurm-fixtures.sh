#!/usr/bin/env bash
# Regenerates Tests/ExecutionTests/Fixtures/slurm/ from a real cluster (scripts/slurm-local.sh up):
# the outputs of sbatch, scontrol and squeue that the pure parsers (SqueueParser, ScontrolParser,
# SbatchOutput) are tested against. Submits a handful of tiny jobs; takes ≈ 1.5 minutes because a
# TIMEOUT needs a 1-minute limit to expire.
set -euo pipefail
cd "$(dirname "$0")/.."
out=Tests/ExecutionTests/Fixtures/slurm
work=$(mktemp -d)
mkdir -p "$out"
trap 'rm -rf "$work"' EXIT

squeue_format='%i|%T|%r'        # the format SlurmClient uses (SqueueParser.format)
show() { scontrol show job -o "$1"; }
wait_state() {  # wait_state <id> <state>: until scontrol reports that JobState
  for _ in $(seq 300); do show "$1" | grep -q "JobState=$2 " && return 0; sleep 0.5; done
  echo "job $1 never reached $2" >&2; return 1
}

sbatch --parsable -o "$work/%j.out" --wrap 'sleep 600' -J capture:running > "$out/sbatch-parsable.txt"
running=$(cut -d';' -f1 "$out/sbatch-parsable.txt")
pending=$(sbatch --parsable -o "$work/%j.out" -J 'capture:pending[a, seed 1]' --dependency="afterok:$running" --kill-on-invalid-dep=yes --wrap true)
wait_state "$running" RUNNING
wait_state "$pending" PENDING
show "$running" > "$out/scontrol-running.txt"
show "$pending" > "$out/scontrol-pending-dependency.txt"

ok=$(sbatch --parsable -o "$work/%j.out" -J capture:ok --wrap 'echo fine')
bad=$(sbatch --parsable -o "$work/%j.out" -J capture:bad --wrap 'exit 3')
timeout=$(sbatch --parsable -o "$work/%j.out" -J capture:timeout --time=1 --wrap 'sleep 600')
wait_state "$ok" COMPLETED
wait_state "$bad" FAILED
show "$ok" > "$out/scontrol-completed.txt"
show "$bad" > "$out/scontrol-failed.txt"
orphan=$(sbatch --parsable -o "$work/%j.out" -J capture:orphan --dependency="afterok:$bad" --kill-on-invalid-dep=yes --wrap true)
wait_state "$orphan" CANCELLED
show "$orphan" > "$out/scontrol-dependency-never-satisfied.txt"

squeue --me -h -t all -o "$squeue_format" > "$out/squeue-all.txt"

scancel "$running"
wait_state "$running" CANCELLED
wait_state "$pending" CANCELLED
show "$running" > "$out/scontrol-cancelled.txt"

wait_state "$timeout" TIMEOUT
show "$timeout" > "$out/scontrol-timeout.txt"
squeue --me -h -t all -o "$squeue_format" > "$out/squeue-all-finished.txt"

# Errors, as sbatch and scontrol print them on stderr.
sbatch --parsable -p no-such-partition --wrap true 2> "$out/sbatch-invalid-partition.txt" || true
scontrol show job -o 999999999 2> "$out/scontrol-invalid-id.txt" || true
echo "captured into $out"
