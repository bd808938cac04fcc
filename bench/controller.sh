#!/usr/bin/env bash
# The controller core with a 10,000-host farm in 5 roles, no HTTP, no DNS:
# reconcile time (plan; the pure part of a tick; Engine::tick on SQLite),
# heartbeat ingest on one thread, and the controller's memory.
#
# Runs controller/benches/controller.rs (cargo bench -p muster-controller
# --bench controller) pinned to one CPU (BENCH_CPU, default 1) with taskset,
# after building it unpinned. Every thread it starts (SQLite's included)
# inherits the pin. Prints a table with the goals and PASS/MISS; exits 1 when
# a goal is missed.
#
# Settings (environment): BENCH_CPU=1 BENCH_HOSTS=10000 BENCH_ITERS=300
# BENCH_TICK_ITERS=200 BENCH_INGEST_SECS=1.5
#
# Usage: bench/controller.sh | tee /tmp/controller-bench.txt
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CPU=${BENCH_CPU:-1}
command -v taskset >/dev/null || { echo "needs taskset (util-linux)" >&2; exit 1; }
if [ "$CPU" -ge "$(nproc --all)" ]; then
  echo "BENCH_CPU=$CPU but the machine has $(nproc --all) CPU(s)" >&2
  exit 1
fi
busy=$(pgrep -x 'dnsperf|knotd' || true)
[ -z "$busy" ] || echo "[bench] warning: dnsperf/knotd running (pids $busy); timings will be disturbed" >&2

cd "$ROOT"
echo "[bench] building the controller bench (release)" >&2
cargo bench -p muster-controller --bench controller --no-run --quiet

echo "machine: $(nproc --all) CPU $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)"
echo "tree: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo '+uncommitted changes'), $(rustc --version)"
echo "pinned: taskset -c $CPU; hosts: ${BENCH_HOSTS:-10000} in 5 roles"
exec taskset -c "$CPU" cargo bench -p muster-controller --bench controller --quiet
