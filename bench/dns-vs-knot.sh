#!/usr/bin/env bash
# muster against Knot DNS, same zone, one UDP worker each, in one invocation.
#
# For each scenario both servers serve the same zone (Knot loads the exact
# master file muster publishes on GET /api/v1/zone), each pinned to CPU 0 and
# capped at CAP_PCT=50% of it with a cgroup CPU quota, so that the server and not
# dnsperf (pinned to CPU 1) is the bottleneck. The servers are run in turn,
# A B A B, ROUNDS times; the table shows every round, the medians and the
# muster/Knot ratio. Answers are compared with dig before measuring.
#
# Scenarios:
#   positive  ~50 host A records, a 5-member smtp-out MX pool, web A; the mix
#             30% pool MX, 25% pool A, 20% host A, 15% www A, 10% NXDOMAIN.
#   nxdomain  NX_HOSTS (50,000) static hosts; random non-existent names.
#   listdomain the positive zone as a whole list domain: an SPF over
#             smtp-out, a 2048-bit-sized DKIM key, DMARC, a CNAME, and two
#             reverse zones (10.0.0.0/24, 10.0.3.0/24) Knot serves too; the
#             mix adds SPF, DKIM and DMARC TXT, PTR and CNAME queries.
#
# Also printed: the server's CPU time per answered query (from
# /proc/PID/stat), its CPU use per run (it should sit at the cap: otherwise
# the run did not measure the server), where its CPU went by thread, average
# request/response sizes, RSS, and the CPU that other work on the machine
# used meanwhile (cgroup v1 cpuacct). The servers' and dnsperf's cgroups get
# the highest CPU weight, so a busy shared machine disturbs them little; each
# run first waits (IDLE_WAIT seconds at most) for a quiet second.
#
# Settings (environment): ROUNDS=3 DURATION=10 (seconds per run) WARMUP=2
# SCENARIOS="positive nxdomain listdomain" NX_HOSTS=50000 CAP_PCT=50 IDLE_WAIT=10
# QUIET_PCT=10 BENCH_ADDR=127.0.0.1 MUSTER_PORT=25353 KNOT_PORT=25354
# API_PORT=25380 MUSTER_BIN=path (skips the build) BENCH_KEEP=1 (keeps the
# temp dir with logs and dnsperf outputs).
#
# Usage: bench/dns-vs-knot.sh | tee /tmp/bench.txt
set -euo pipefail
# shellcheck source=bench/dns-bench-lib.sh
source "$(dirname "$0")/dns-bench-lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
SCENARIOS=${SCENARIOS:-positive nxdomain listdomain}
NX_HOSTS=${NX_HOSTS:-50000}
MUSTER_PORT=${MUSTER_PORT:-25353}
KNOT_PORT=${KNOT_PORT:-25354}
API_PORT=${API_PORT:-25380}

if [ "$(nproc --all)" -lt 2 ]; then
  echo "needs at least 2 CPUs (server on CPU 0, dnsperf on CPU 1)" >&2
  exit 1
fi
ensure_tools knotd:knot dnsperf:dnsperf dig:bind9-dnsutils jq:jq curl:curl taskset:util-linux
build_muster
setup_workdir
make_acct_group "muster-bench-$$-acct"
make_cpu_cap "muster-bench-$$-dnsperf" none
LOAD_CG=$CAP_DIR

MISMATCHES=0
SUMMARY=()
NOISY=()

# start_knot DIR ZONESDIR CGROUP: serves every ORIGIN.zone file of ZONESDIR
# (the zones muster serves, as GET /api/v1/zones gives them); sets KNOT_PID.
start_knot() {
  local dir=$1 zones=$2 cg=$3 file origin
  mkdir -p "$dir/db"
  cat >"$dir/knot.conf" <<EOF
server:
    rundir: "$dir"
    pidfile: "$dir/knot.pid"
    listen: [ "$ADDR@$KNOT_PORT" ]
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: warning
database:
    storage: "$dir/db"
template:
  - id: default
    storage: "$dir"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
EOF
  for file in "$zones"/*.zone; do
    origin=$(basename "$file" .zone)
    cp "$file" "$dir/$origin.zone"
    printf '  - domain: "%s"\n    file: "%s.zone"\n' "$origin" "$origin" >>"$dir/knot.conf"
  done
  start_on_cpu0 "$cg" "$dir/knotd.log" knotd -c "$dir/knot.conf"
  KNOT_PID=$STARTED_PID
  wait_dns "$KNOT_PORT" "$KNOT_PID" knotd || { cat "$dir/knotd.log" >&2; exit 1; }
  # Knot pins UDP worker i to CPU i mod ncpus itself: put every thread back.
  taskset -a -p -c 0 "$KNOT_PID" >/dev/null
}

# dig_view PORT NAME TYPE: the rcode, then the answer section sorted; for a
# negative answer (no answer records) the authority section sorted instead.
dig_view() {
  local out status answer
  out=$(dig +norec +time=2 +tries=1 @"$ADDR" -p "$1" "$2" "$3" +noall +comments +answer)
  status=$(sed -n 's/.*status: \([A-Z]*\).*/\1/p' <<<"$out")
  echo "status $status"
  answer=$(grep -v -e '^;' -e '^$' <<<"$out" | sort || true)
  if [ -n "$answer" ]; then
    sed 's/^/answer /' <<<"$answer"
  else
    dig +norec +time=2 +tries=1 @"$ADDR" -p "$1" "$2" "$3" +noall +authority | sort | sed 's/^/authority /'
  fi
}

# section_counts PORT NAME TYPE: "answer/authority/additional" and the size.
section_counts() {
  dig +norec +time=2 +tries=1 @"$ADDR" -p "$1" "$2" "$3" | awk '
    /ANSWER:/ { for (i = 1; i <= NF; i++) { gsub(",", "", $(i + 1)); if ($i == "ANSWER:") a = $(i + 1); if ($i == "AUTHORITY:") u = $(i + 1); if ($i == "ADDITIONAL:") d = $(i + 1) } }
    /MSG SIZE/ { s = $NF }
    END { printf "%s/%s/%s %sB", a, u, d, s }'
}

# compare_answers NAME TYPE...: pairs of arguments.
compare_answers() {
  local name type m k
  printf '  %-36s %-5s %-9s %-16s %-16s %s\n' query type status "muster an/au/ad" "knot an/au/ad" verdict
  while [ $# -gt 0 ]; do
    name=$1 type=$2
    shift 2
    m=$(dig_view "$MUSTER_PORT" "$name" "$type")
    k=$(dig_view "$KNOT_PORT" "$name" "$type")
    local verdict=same
    if [ "$m" != "$k" ]; then
      verdict=DIFFERENT
      MISMATCHES=$((MISMATCHES + 1))
    fi
    printf '  %-36s %-5s %-9s %-16s %-16s %s\n' "$name" "$type" "$(head -1 <<<"$m" | cut -d' ' -f2)" \
      "$(section_counts "$MUSTER_PORT" "$name" "$type")" "$(section_counts "$KNOT_PORT" "$name" "$type")" "$verdict"
    if [ "$verdict" != same ]; then
      diff <(echo "$m") <(echo "$k") | sed 's/^/      /' || true
    fi
  done
}

run_scenario() {
  local scenario=$1 dir=$WORK/$1 policy queries
  mkdir -p "$dir"
  policy=$dir/policy.yaml
  queries=$dir/queries.txt
  case "$scenario" in
    positive)
      gen_positive_policy >"$policy"
      gen_positive_queries >"$queries"
      ;;
    nxdomain)
      gen_big_policy "$NX_HOSTS" >"$policy"
      gen_nxdomain_queries >"$queries"
      ;;
    listdomain)
      gen_listdomain_policy >"$policy"
      gen_listdomain_queries >"$queries"
      ;;
    *) echo "unknown scenario $scenario" >&2; exit 2 ;;
  esac

  make_cpu_cap "muster-bench-$$-$scenario-muster"
  local mcg=$CAP_DIR
  make_cpu_cap "muster-bench-$$-$scenario-knot"
  local kcg=$CAP_DIR
  if [ -z "$mcg" ] || [ -z "$kcg" ]; then
    loud "NO WRITABLE CGROUP: the servers run UNCAPPED on CPU 0." \
      "dnsperf on one core is then likely the bottleneck and the ratio means little."
    mcg="" kcg=""
  fi

  log "$scenario: starting muster"
  local t0 t1
  t0=$(date +%s.%N)
  start_muster "$policy" "$MUSTER_PORT" "$API_PORT" "$mcg" "$scenario-muster"
  t1=$(date +%s.%N)
  local mpid=$MUSTER_PID
  if [ "$scenario" = listdomain ]; then
    # Sending hosts join smtp-out's MX once the SPF has listed them for its
    # TTL (1 s here): serve Knot the zone after that.
    local waited=0
    until [ "$(dig +short @"$ADDR" -p "$MUSTER_PORT" "smtp-out.$ZONE" MX | grep -c smurf)" = 5 ]; do
      sleep 0.5
      waited=$((waited + 1))
      [ "$waited" -lt 40 ] || { echo "smtp-out never reached 5 members" >&2; exit 1; }
    done
  fi
  mkdir -p "$dir/zones"
  local zones_json origin
  zones_json=$(curl -sf --retry 30 --retry-connrefused --retry-delay 1 "http://$ADDR:$API_PORT/api/v1/zones")
  for origin in $(jq -r '.[].zone' <<<"$zones_json"); do
    jq -r --arg z "$origin" '.[] | select(.zone == $z) | .zone_file' <<<"$zones_json" >"$dir/zones/${origin%.}.zone"
  done
  local records
  records=$(cat "$dir/zones"/*.zone | grep -c ' IN ')
  log "$scenario: starting knotd"
  start_knot "$dir/knot" "$dir/zones" "$kcg"
  local kpid=$KNOT_PID

  echo
  echo "== $scenario: $records records (SOA included), $(wc -l <"$queries") query lines; muster up in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
  echo "   answers, muster vs Knot (dig, answer sections sorted; authority too for negative answers):"
  case "$scenario" in
    positive)
      compare_answers "smtp-out.$ZONE" MX "smtp-out.$ZONE" A "www.$ZONE" A "host07.$ZONE" A \
        "smurf3.$ZONE" A "$ZONE" MX "$ZONE" NS "$ZONE" SOA "SMTP-Out.$ZONE" MX \
        "nx12345678.$ZONE" A "smtp-out.$ZONE" AAAA "a.b.www.$ZONE" A
      ;;
    listdomain)
      compare_answers "smtp-out.$ZONE" MX "$ZONE" TXT "mail2024._domainkey.$ZONE" TXT "_dmarc.$ZONE" TXT \
        "1.0.0.10.in-addr.arpa" PTR "7.3.0.10.in-addr.arpa" PTR "200.3.0.10.in-addr.arpa" PTR \
        "imap.$ZONE" A "host07.$ZONE" A "nx12345678.$ZONE" A
      ;;
    nxdomain)
      compare_answers "$(sed -n 1p "$queries" | cut -d' ' -f1)" A "$(sed -n 2p "$queries" | cut -d' ' -f1)" A \
        "h000001.$ZONE" A "h$(printf %06d "$NX_HOSTS").$ZONE" A "smtp-out.$ZONE" MX "$ZONE" SOA
      ;;
  esac

  local name port r qps pid c0 c1 us util
  local -a mq=() kq=() mus=() kus=() mo=() ko=() mu=() ku=()
  if [ "$WARMUP" -gt 0 ]; then
    run_dnsperf "$MUSTER_PORT" "$queries" "$WARMUP" "$dir/warmup-muster.txt"
    run_dnsperf "$KNOT_PORT" "$queries" "$WARMUP" "$dir/warmup-knot.txt"
  fi
  local mthr=0 kthr=0 th0 cg
  : >"$dir/muster-threads"
  : >"$dir/knot-threads"
  for r in $(seq "$ROUNDS"); do
    for name in muster knot; do
      port=$MUSTER_PORT pid=$mpid cg=$mcg
      [ "$name" = knot ] && port=$KNOT_PORT pid=$kpid cg=$kcg
      wait_quiet
      thread_ticks "$pid" >"$dir/threads-before"
      th0=$(throttled "$cg")
      c0=$(cpu_ticks "$pid")
      run_dnsperf "$port" "$queries" "$DURATION" "$dir/$name-$r.txt"
      c1=$(cpu_ticks "$pid")
      thread_ticks "$pid" >"$dir/threads-after"
      thread_delta "$dir/threads-before" "$dir/threads-after" >>"$dir/$name-threads"
      if [ -n "$cg" ]; then
        if [ "$name" = muster ]; then mthr=$((mthr + $(throttled "$cg") - th0)); else kthr=$((kthr + $(throttled "$cg") - th0)); fi
      fi
      qps=$(qps_of "$dir/$name-$r.txt")
      # Server CPU time (user + system) per answered query, in microseconds.
      us=$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" -v n="$(completed_of "$dir/$name-$r.txt")" \
        'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
      # Server CPU use over the wall time of the run (which includes the 5 s
      # dnsperf waits for lost queries, when there are any, idle time for
      # the server; those seconds are taken out).
      util=$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" -v w="$RUN_WALL" -v r="$(runtime_of "$dir/$name-$r.txt")" \
        -v lost="$(lost_of "$dir/$name-$r.txt")" 'BEGIN { if (lost > 0) w = r; printf "%.0f", 100 * t / hz / w }')
      log "$scenario round $r: $name $qps q/s, $us us CPU/query, server used ${util}% of CPU 0, other work ${OTHER_PCT}% of the CPUs (lost $(lost_of "$dir/$name-$r.txt"))"
      if [ "$name" = muster ]; then mq+=("$qps") mus+=("$us") mo+=("$OTHER_PCT") mu+=("$util"); else kq+=("$qps") kus+=("$us") ko+=("$OTHER_PCT") ku+=("$util"); fi
      if awk -v u="$util" -v c="$CAP_PCT" 'BEGIN { exit !(u < 0.9 * c) }'; then
        NOISY+=("$scenario round $r $name: the server used ${util}% of CPU 0, under 90% of its ${CAP_PCT}% cap (other work: ${OTHER_PCT}% of the CPUs)")
      fi
    done
  done
  local mmed kmed ratio
  mmed=$(median "${mq[@]}")
  kmed=$(median "${kq[@]}")
  ratio=$(awk -v a="$mmed" -v b="$kmed" 'BEGIN { printf "%.2f", a / b }')

  echo
  printf '   %-7s %-*s %9s %12s %11s %10s %12s %8s %8s\n' server $((ROUNDS * 9)) "q/s per round" median \
    "CPU us/query" "resp bytes" "req bytes" "lost (last)" "RSS MB" "HWM MB"
  for name in muster knot; do
    local -a vals cpus
    if [ "$name" = muster ]; then vals=("${mq[@]}") cpus=("${mus[@]}") pid=$mpid; else vals=("${kq[@]}") cpus=("${kus[@]}") pid=$kpid; fi
    printf '   %-7s %-*s %9s %12s %11s %10s %12s %8s %8s\n' "$name" $((ROUNDS * 9)) "$(printf '%8s ' "${vals[@]}")" \
      "$(median "${vals[@]}")" "$(printf '%s\n' "${cpus[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')" \
      "$(resp_size_of "$dir/$name-$ROUNDS.txt")" "$(req_size_of "$dir/$name-$ROUNDS.txt")" "$(lost_of "$dir/$name-$ROUNDS.txt")" \
      "$(mem_mb "$pid" VmRSS)" "$(mem_mb "$pid" VmHWM)"
  done
  echo "   server CPU use per run (% of CPU 0; the cap is ${CAP_PCT}%): muster ${mu[*]}; knot ${ku[*]}"
  echo "   where each server's CPU went during its runs, by thread: muster: $(thread_share "$dir/muster-threads")"
  echo "                                                           knot: $(thread_share "$dir/knot-threads")"
  if [ -n "$ACCT_DIR" ]; then
    echo "   CPU used by other work during each run (% of all CPUs): muster ${mo[*]}; knot ${ko[*]}"
  fi
  echo "   muster/Knot ($scenario): $ratio"
  if [ -n "$mcg" ]; then
    echo "   10 ms periods throttled by the cap during each server's runs: muster $mthr, knot $kthr (of ~$((ROUNDS * DURATION * 100)))"
  fi
  SUMMARY+=("$(printf '%-9s muster %8s q/s   knot %8s q/s   muster/Knot %s' "$scenario" "$mmed" "$kmed" "$ratio")")

  stop_pid "$mpid"
  stop_pid "$kpid"
}

echo "muster vs Knot DNS — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc --all) CPU $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)"
echo "muster: $(muster_identity), $(knotd --version), $(dnsperf -h 2>&1 | awk '/^Version/ { print "dnsperf " $2 }')"
echo "servers: CPU 0, one UDP worker each; dnsperf: CPU 1, -l $DURATION -Q 10000000 -c 8 -q 200 -T 1; $ROUNDS rounds A B A B after a ${WARMUP}s warm-up each"
if [ -n "$ACCT_DIR" ]; then
  echo "other work on the machine is measured per run (cpuacct); each run waits for a quiet second first"
else
  loud "cgroup v1 cpuacct is not writable: CPU used by other work during the runs is NOT measured."
fi
for scenario in $SCENARIOS; do
  run_scenario "$scenario"
done
echo
echo "CPU cap: $CAP_KIND"
echo "== summary (medians of $ROUNDS rounds of ${DURATION}s)"
printf '   %s\n' "${SUMMARY[@]}"
if [ ${#NOISY[@]} -gt 0 ]; then
  echo "== warnings: in ${#NOISY[@]} run(s) the server was not held at its CPU cap"
  printf '   %s\n' "${NOISY[@]}"
  loud "in ${#NOISY[@]} run(s) the server was not held at its CPU cap, so the run did not" \
    "measure the server alone (other work, or dnsperf starved); treat them with suspicion:" "${NOISY[@]}"
fi
if [ "$MISMATCHES" -gt 0 ]; then
  echo "== $MISMATCHES answer(s) differ between muster and Knot"
  loud "$MISMATCHES answer(s) differ between muster and Knot: see the tables above."
  exit 1
fi
