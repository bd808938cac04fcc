#!/usr/bin/env bash
# `muster simulate` of a 24-hour day at one-minute steps with 10,000
# synthetic hosts: the shipped morning-bulge policy and its day's trace,
# every step through the controller's own decide → plan → apply.
# Goal: under 2 seconds (release build), whole process, wall clock.
#
# Builds muster in release mode (MUSTER_BIN=path skips the build), runs
# ROUNDS times pinned to one CPU (BENCH_CPU, default 1) with taskset, prints
# each run's wall time and the replay's own time (the summary's "replayed
# in"), the median, and PASS/MISS; exits 1 on a MISS.
#
# Settings (environment): HOSTS=10000 ROUNDS=3 BENCH_CPU=1 RATE=600
# MOVES=N replaces the policy's limits with N moves per reconcile and N/2
# out of one role at once (a stress day: every host that can move, moves),
# instead of the shipped 2 and 1.
#
# Usage: bench/simulate.sh | tee /tmp/simulate-bench.txt
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HOSTS=${HOSTS:-10000}
ROUNDS=${ROUNDS:-3}
CPU=${BENCH_CPU:-1}
RATE=${RATE:-600}
GOAL=2.0
cd "$ROOT"

if [ -z "${MUSTER_BIN:-}" ]; then
  echo "[bench] building muster (release)" >&2
  cargo build --release --quiet --bin muster
  MUSTER_BIN=target/release/muster
fi
pin=()
if command -v taskset >/dev/null && [ "$CPU" -lt "$(nproc --all)" ]; then
  pin=(taskset -c "$CPU")
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
policy=policies/morning-bulge.yaml
if [ -n "${MOVES:-}" ]; then
  sed "s/^limits: .*/limits: { moves_per_tick: $MOVES, moves_per_role: $((MOVES / 2 > 0 ? MOVES / 2 : 1)), host_cooldown: 5m }/" \
    "$policy" >"$out/policy.yaml"
  grep -q "moves_per_tick: $MOVES," "$out/policy.yaml" || { echo "could not set the limits in $policy" >&2; exit 1; }
  policy=$out/policy.yaml
fi

echo "machine: $(nproc --all) CPU $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), kernel $(uname -r)"
echo "tree: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo '+uncommitted changes'), $(rustc --version)"
echo "run: ${pin[*]:-unpinned} $MUSTER_BIN simulate --policy $policy${MOVES:+ (limits: $MOVES moves a reconcile)} --load policies/bulge-day.csv --from 2026-11-24 --rate $RATE --hosts $HOSTS --quiet --svg OUT.svg"

times=()
for round in $(seq "$ROUNDS"); do
  start=$(date +%s.%N)
  "${pin[@]}" "$MUSTER_BIN" simulate --policy "$policy" --load policies/bulge-day.csv \
    --from 2026-11-24 --rate "$RATE" --hosts "$HOSTS" --quiet --svg "$out/day.svg" >"$out/day.txt"
  end=$(date +%s.%N)
  wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
  replay=$(sed -n 's/.*replayed in \([0-9.]*\) s.*/\1/p' "$out/day.txt")
  moves=$(sed -n 's/.*moves started: \([0-9]*\).*/\1/p' "$out/day.txt")
  echo "round $round: ${wall} s wall, replay ${replay} s, ${moves} moves"
  times+=("$wall")
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
verdict=$(awk -v m="$median" -v g="$GOAL" 'BEGIN { print (m < g) ? "PASS" : "MISS" }')
echo "median: ${median} s (goal < ${GOAL} s) ${verdict}"
grep -E 'summary|moves started|peak backlog|time below min|pool sizes' "$out/day.txt"
[ "$verdict" = PASS ]
