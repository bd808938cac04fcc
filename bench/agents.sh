#!/usr/bin/env bash
# Agents at scale, against one real `muster serve` on 127.0.0.1:
#
# 1. Heartbeat load: agent/examples/loadgen.rs simulates N agents (default
#    10,000) over real HTTP/1.1 with keep-alive, one connection each, each
#    posting a heartbeat once per second. Reports heartbeats/s sustained,
#    latency p50/p99, the controller's CPU (utime+stime from /proc/PID/stat
#    over the measured window) and RSS. The N hosts are in the policy's
#    inventory (role `spare`, addresses the load generator reports), so this
#    is steady state, not an enrolment storm.
# 2. Failover: three real `muster agent` processes; `kill -9` one and time
#    until its address is absent from `dig` (policy: interval 1s,
#    dead_after 3s, TTL 1). Median over BENCH_RUNS runs, then it is started
#    again and must come back before the next run.
#
# On a 2-CPU machine the controller is pinned to CPU 0 and the load
# generator to CPU 1 (taskset), so neither steals the other's core.
#
# Settings (environment): BENCH_AGENTS=10000 BENCH_SECONDS=20
# BENCH_WARMUP=10 BENCH_RUNS=10 BENCH_SKIP_LOAD=0 BENCH_SKIP_FAILOVER=0
# BENCH_LOADGEN_ARGS="--clients 100" (extra load generator flags)
# BENCH_PIN=1 (0: let both processes use both CPUs)
#
# Usage: bench/agents.sh 2>&1 | tee /tmp/agents-bench.txt
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AGENTS=${BENCH_AGENTS:-10000}
SECONDS_MEASURED=${BENCH_SECONDS:-20}
WARMUP=${BENCH_WARMUP:-10}
RUNS=${BENCH_RUNS:-10}
TOKEN=bench-agent-token

log() { printf '[bench] %s\n' "$*" >&2; }

command -v dig >/dev/null || {
  log "installing dig"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends bind9-dnsutils >/dev/null
}
PIN_SERVER=(); PIN_LOAD=()
if [ "${BENCH_PIN:-1}" = 1 ] && command -v taskset >/dev/null && [ "$(nproc --all)" -ge 2 ]; then
  PIN_SERVER=(taskset -c 0); PIN_LOAD=(taskset -c 1)
fi
# One connection per simulated agent, on both ends.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -gt $((AGENTS + 1000)) ] || log "warning: ulimit -n $(ulimit -n) is low for $AGENTS connections"

cd "$ROOT"
log "building muster and the load generator (release)"
cargo build --release --quiet -p muster --bin muster
cargo build --release --quiet -p muster-agent --example loadgen
MUSTER=$ROOT/target/release/muster
LOADGEN=$ROOT/target/release/examples/loadgen

WORK=$(mktemp -d /tmp/muster-agents-bench.XXXXXX)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_serve POLICY DIR -> sets SERVE_PID, API, DNS_PORT
start_serve() {
  local policy=$1 dir=$2
  API=127.0.0.1:$(free_port)
  DNS_PORT=$(free_port)
  "${PIN_SERVER[@]}" "$MUSTER" serve --policy "$policy" --db "sqlite://$dir/muster.db" \
    --dns-listen "127.0.0.1:$DNS_PORT" --api-listen "$API" --agent-token "$TOKEN" \
    >"$dir/serve.log" 2>&1 &
  SERVE_PID=$!
  PIDS+=("$SERVE_PID")
  local i
  for i in $(seq 1 600); do
    if dig @127.0.0.1 -p "$DNS_PORT" +time=1 +tries=1 lists.example.test SOA 2>/dev/null | grep -q 'status: NOERROR'; then
      return 0
    fi
    kill -0 "$SERVE_PID" 2>/dev/null || { cat "$dir/serve.log" >&2; exit 1; }
    sleep 0.1
  done
  log "muster serve did not come up"; tail -20 "$dir/serve.log" >&2; exit 1
}

echo "machine: $(nproc --all) CPU $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)"
echo "tree: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo '+uncommitted changes'), $(rustc --version)"
echo "pinning: server '${PIN_SERVER[*]:-none}', load generator '${PIN_LOAD[*]:-none}'"

# ------------------------------------------------------------ 1. heartbeat load
if [ "${BENCH_SKIP_LOAD:-0}" != 1 ]; then
  dir=$WORK/load; mkdir -p "$dir"
  {
    cat <<'EOF'
zone: lists.example.test
ttl: 30
nameservers: [ns1.lists.example.test]
heartbeat: { interval: 1s, dead_after: 3s, revive_after: 3, panic_threshold: 50% }
roles:
  smtp-out: { min: 0, records: [ { name: smtp-out, type: A } ] }
  spare: { min: 0, records: [] }
hosts:
  - { name: ns1, address: 127.0.0.1, static: true }
EOF
    # The addresses the load generator reports: 127.1.(i/250 % 250).(i%250 + 1).
    awk -v n="$AGENTS" 'BEGIN { for (i = 0; i < n; i++) printf "  - { name: lg%d, address: 127.1.%d.%d, role: spare }\n", i, int(i / 250) % 250, i % 250 + 1 }'
  } >"$dir/policy.yaml"
  start_serve "$dir/policy.yaml" "$dir"
  log "muster serve pid $SERVE_PID, API $API; $AGENTS agents, warmup ${WARMUP}s, measuring ${SECONDS_MEASURED}s"
  cmd=("${PIN_LOAD[@]}" "$LOADGEN" --api "$API" --token "$TOKEN" --agents "$AGENTS"
       --duration "$SECONDS_MEASURED" --warmup "$WARMUP" --threads 1 --server-pid "$SERVE_PID"
       ${BENCH_LOADGEN_ARGS:-})
  echo "load command: ${cmd[*]}"
  "${cmd[@]}" | tee "$dir/loadgen.txt"
  echo "controller log: $(grep -c ' WARN ' "$dir/serve.log" || true) warnings, $(grep -c ' ERROR ' "$dir/serve.log" || true) errors"
  grep -E 'panic|WARN|ERROR' "$dir/serve.log" | head -5 || true
  kill -9 "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true
fi

# ------------------------------------------------------------ 2. failover
if [ "${BENCH_SKIP_FAILOVER:-0}" != 1 ]; then
  dir=$WORK/failover; mkdir -p "$dir"
  cat >"$dir/policy.yaml" <<'EOF'
zone: lists.example.test
ttl: 1
nameservers: [ns1.lists.example.test]
heartbeat: { interval: 1s, dead_after: 3s, revive_after: 3, panic_threshold: 50% }
roles:
  smtp-out:
    min: 1
    records: [ { name: smtp-out, type: MX, priority: 5 }, { name: smtp-out, type: A } ]
hosts:
  - { name: ns1, address: 127.0.0.1, static: true }
  - { name: smurf1, address: 127.0.1.1, role: smtp-out }
  - { name: smurf2, address: 127.0.1.2, role: smtp-out }
  - { name: smurf3, address: 127.0.1.3, role: smtp-out }
EOF
  start_serve "$dir/policy.yaml" "$dir"
  declare -A AGENT_PID
  start_agent() {
    local n=$1
    mkdir -p "$dir/smurf$n"
    printf 'state_dir: %s\nqueue_command: echo 0\nmax_backoff: 1s\n' "$dir/smurf$n" >"$dir/smurf$n/agent.yaml"
    "$MUSTER" agent --controller "http://$API" --name "smurf$n" --address "127.0.1.$n" \
      --token "$TOKEN" --config "$dir/smurf$n/agent.yaml" >>"$dir/smurf$n/agent.log" 2>&1 &
    AGENT_PID[$n]=$!
    PIDS+=("$!")
    disown "$!"
  }
  pool() { dig @127.0.0.1 -p "$DNS_PORT" +short +time=1 +tries=1 smtp-out.lists.example.test A 2>/dev/null; }
  wait_present() {
    local i
    for i in $(seq 1 400); do pool | grep -qx "$1" && return 0; sleep 0.05; done
    log "$1 never appeared"; exit 1
  }
  for n in 1 2 3; do start_agent "$n"; done
  for n in 1 2 3; do wait_present "127.0.1.$n"; done
  times=()
  for run in $(seq 1 "$RUNS"); do
    n=$(( (run - 1) % 3 + 1 ))
    wait_present "127.0.1.$n"
    # Kill at a random point of the heartbeat second, like a real crash.
    sleep "0.$(printf '%03d' $((RANDOM % 1000)))"
    t0=$(date +%s%N)
    kill -9 "${AGENT_PID[$n]}"
    while pool | grep -qx "127.0.1.$n"; do sleep 0.02; done
    t1=$(date +%s%N)
    ms=$(( (t1 - t0) / 1000000 ))
    times+=("$ms")
    echo "failover run $run (smurf$n): ${ms} ms"
    start_agent "$n"
  done
  sorted=$(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')
  median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
  echo "failover_ms_sorted=$sorted"
  echo "failover_median_ms=$median (dead_after 3000 ms, heartbeat interval 1000 ms, $RUNS runs)"
fi
