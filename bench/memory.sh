#!/usr/bin/env bash
# muster's memory with a 10,000-host zone under load.
#
# The zone: POOLS roles (500) of PER_POOL members (20), every host in a pool,
# each role publishing MX and A on its own name: 10,000 host A records plus
# 10,000 MX and 10,000 A pool records. muster (one UDP worker) is pinned to
# CPU 0, uncapped, and dnsperf (CPU 1) sends the mix 30% pool MX, 25% pool A,
# 35% host A, 10% NXDOMAIN for DURATION seconds (10). RSS is sampled every
# 0.2 s: when DNS first answers, SETTLE (5) seconds later (the controller's
# first ticks allocate too), after one GET /api/v1/zone, the highest under
# load, and at the end the peak (VmHWM, the whole life, start-up included),
# in MB (MiB) against LIMIT_MB (100). Exits 1 when the peak is over.
#
# Settings (environment): POOLS=500 PER_POOL=20 DURATION=10 LIMIT_MB=100 SETTLE=5
# BENCH_ADDR=127.0.0.1 MUSTER_PORT=25363 API_PORT=25390 MUSTER_BIN=path
# (skips the build) BENCH_KEEP=1 (keeps the temp dir).
set -euo pipefail
# shellcheck source=bench/dns-bench-lib.sh
source "$(dirname "$0")/dns-bench-lib.sh"

POOLS=${POOLS:-500}
PER_POOL=${PER_POOL:-20}
DURATION=${DURATION:-10}
LIMIT_MB=${LIMIT_MB:-100}
SETTLE=${SETTLE:-5}
MUSTER_PORT=${MUSTER_PORT:-25363}
API_PORT=${API_PORT:-25390}

ensure_tools dnsperf:dnsperf dig:bind9-dnsutils jq:jq curl:curl taskset:util-linux
build_muster
setup_workdir

gen_pools_policy "$POOLS" "$PER_POOL" >"$WORK/policy.yaml"
gen_pools_queries "$POOLS" "$PER_POOL" >"$WORK/queries.txt"

t0=$(date +%s.%N)
start_muster "$WORK/policy.yaml" "$MUSTER_PORT" "$API_PORT" "" memory
t1=$(date +%s.%N)
pid=$MUSTER_PID
hosts=$((POOLS * PER_POOL))
# RSS sampled every 0.2 s from here to the end, with a phase label.
echo start >"$WORK/phase"
(
  while kill -0 "$pid" 2>/dev/null; do
    echo "$(cat "$WORK/phase") $(mem_mb "$pid" VmRSS)"
    sleep 0.2
  done
) >"$WORK/rss.txt" &
PIDS+=("$!")
sampler=$!
up_rss=$(mem_mb "$pid" VmRSS)
# The controller's first ticks after start-up allocate too: let it settle.
sleep "$SETTLE"
idle_rss=$(mem_mb "$pid" VmRSS)
# One GET /api/v1/zone (the record count): a zone dump is part of normal
# operation and its buffers raise the RSS, so it is done before the load.
echo api >"$WORK/phase"
records=$(curl -sf "http://$ADDR:$API_PORT/api/v1/zone" | jq '.records | length')
api_rss=$(mem_mb "$pid" VmRSS)

echo "muster memory — $(date -u +%Y-%m-%dT%H:%M:%SZ); muster $(muster_identity)"
echo "zone: $hosts hosts in $POOLS pools of $PER_POOL, $records records (+SOA); up in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
echo "RSS when DNS first answers: $up_rss MB; ${SETTLE}s later, idle: $idle_rss MB; after one GET /api/v1/zone: $api_rss MB"

echo load >"$WORK/phase"
run_dnsperf "$MUSTER_PORT" "$WORK/queries.txt" "$DURATION" "$WORK/dnsperf.txt"
load_max=$(awk '$1 == "load" { print $2 }' "$WORK/rss.txt" | sort -n | tail -1)
rss=$(mem_mb "$pid" VmRSS)
hwm=$(mem_mb "$pid" VmHWM)
stop_pid "$sampler"

echo "under load: $(qps_of "$WORK/dnsperf.txt") q/s for ${DURATION}s ($(completed_of "$WORK/dnsperf.txt") answered, $(lost_of "$WORK/dnsperf.txt") lost, avg response $(resp_size_of "$WORK/dnsperf.txt") B)"
echo "RSS: highest sampled under load $load_max MB, at the end $rss MB"
echo "peak RSS (VmHWM, whole life): $hwm MB   (limit $LIMIT_MB MB)"
if awk -v h="$hwm" -v l="$LIMIT_MB" 'BEGIN { exit !(h < l) }'; then
  echo "PASS: peak under $LIMIT_MB MB"
else
  loud "peak RSS $hwm MB is not under $LIMIT_MB MB"
  exit 1
fi
