# Shared by bench/dns-vs-knot.sh and bench/memory.sh: tool installation, the
# muster build, zone/policy/query generators, CPU caps and process cleanup.
# Sourced, not run. Every server listens on 127.0.0.x only.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ZONE=lists.example.test
ADDR=${BENCH_ADDR:-127.0.0.1}
case "$ADDR" in
  127.*) ;;
  *) echo "BENCH_ADDR must be a 127.0.0.x address, not $ADDR" >&2; exit 2 ;;
esac

log() { printf '[bench] %s\n' "$*" >&2; }
loud() {
  printf '\n' >&2
  printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' >&2
  printf '!!! %s\n' "$@" >&2
  printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n' >&2
}

# Installs the Debian packages behind any missing command ("cmd:package ...").
ensure_tools() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  log "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Sets MUSTER to the release binary, building it unless MUSTER_BIN is given.
build_muster() {
  if [ -n "${MUSTER_BIN:-}" ]; then
    MUSTER=$MUSTER_BIN
  else
    log "building muster (release)"
    (cd "$BENCH_ROOT" && cargo build --release -p muster --quiet)
    MUSTER=$BENCH_ROOT/target/release/muster
  fi
  [ -x "$MUSTER" ] || { echo "no muster binary at $MUSTER" >&2; exit 1; }
}

# What muster binary is measured: the tree it was built from, or the path given.
muster_identity() {
  local v
  v=$("$MUSTER" --version 2>/dev/null | awk '{ print $2 }')
  if [ -n "${MUSTER_BIN:-}" ]; then
    echo "$v, MUSTER_BIN=$MUSTER_BIN (built $(date -u -r "$MUSTER" +%Y-%m-%dT%H:%MZ))"
  else
    echo "$v, built from $(cd "$BENCH_ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$BENCH_ROOT" && git diff --quiet HEAD 2>/dev/null || echo '+uncommitted changes')"
  fi
}

# ---------------------------------------------------------------- cleanup
PIDS=()
CGROUPS=()
WORK=""
cleanup() {
  local pid cg i
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
  for cg in "${CGROUPS[@]}"; do
    for i in $(seq 20); do rmdir "$cg" 2>/dev/null && break; sleep 0.1; done
    [ -d "$cg" ] && echo "could not remove cgroup $cg" >&2
  done
  CGROUPS=()
  if [ -n "$WORK" ] && [ -z "${BENCH_KEEP:-}" ]; then rm -rf "$WORK"; fi
}
setup_workdir() {
  WORK=$(mktemp -d /tmp/muster-bench.XXXXXX)
  trap cleanup EXIT
  trap 'exit 130' INT TERM
}

# Stops one server started by start_on_cpu0 and forgets it.
stop_pid() {
  local pid=$1 i keep=() p
  kill "$pid" 2>/dev/null || true
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# ---------------------------------------------------------------- CPU caps
# make_cpu_cap NAME [none]: sets CAP_DIR to a new cgroup capped at CAP_PCT
# (default 50) percent of one CPU (period 10 ms, quota 5 ms at 50%), or not
# capped at all with "none" (for dnsperf): cgroup v1's cpu controller when
# mounted and writable, else cgroup v2's cpu.max; CAP_DIR is empty when
# neither works. Either way the group gets the highest CPU weight
# (cpu.shares 262144 / cpu.weight 10000), so that other work on a shared
# machine gets the CPUs only when the benchmark leaves them idle.
# (Not for $(...): it records the cgroup for cleanup in this shell.)
CAP_KIND=none
CAP_DIR=""
CAP_PCT=${CAP_PCT:-50}
make_cpu_cap() {
  local name=$1 dir v2 quota=$((CAP_PCT * 100)) max
  CAP_DIR=""
  if [ "${2:-}" = none ]; then quota=-1 max=max; else max=$quota; fi
  if [ -w /sys/fs/cgroup/cpu ] && [ -e /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
    dir=/sys/fs/cgroup/cpu/$name
    if mkdir "$dir" 2>/dev/null; then
      CGROUPS+=("$dir")
      echo 262144 >"$dir/cpu.shares" 2>/dev/null || true
      if echo 10000 >"$dir/cpu.cfs_period_us" && echo "$quota" >"$dir/cpu.cfs_quota_us"; then
        [ "$quota" = -1 ] || CAP_KIND="cgroup v1 cpu controller, cpu.cfs_quota_us=$quota / cpu.cfs_period_us=10000 ($CAP_PCT% of CPU 0), cpu.shares=262144"
        CAP_DIR=$dir
        return 0
      fi
    fi
  fi
  v2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
  if [ -n "$v2" ] && grep -qw cpu "$v2/cgroup.controllers" 2>/dev/null; then
    echo +cpu >"$v2/cgroup.subtree_control" 2>/dev/null || true
    dir=$v2/$name
    if mkdir "$dir" 2>/dev/null; then
      CGROUPS+=("$dir")
      echo 10000 >"$dir/cpu.weight" 2>/dev/null || true
      if echo "$max 10000" >"$dir/cpu.max" 2>/dev/null; then
        [ "$quota" = -1 ] || CAP_KIND="cgroup v2 cpu.max = $quota 10000 ($CAP_PCT% of CPU 0), cpu.weight=10000"
        CAP_DIR=$dir
        return 0
      fi
    fi
  fi
  [ "$quota" = -1 ] || CAP_KIND=none
  return 0
}

# throttled CGROUP: how many periods the cap has throttled so far.
throttled() {
  [ -n "$1" ] && awk '$1 == "nr_throttled" { print $2 }' "$1/cpu.stat" 2>/dev/null || echo "-"
}

# ---------------------------------------------------------------- interference
# This machine may be shared: other people's builds on the same CPUs skew every
# figure. With cgroup v1's cpuacct, the servers and dnsperf join one
# accounting group, and the CPU time used by everything else during a run
# (the root group's usage minus ours) is reported per run.
ACCT_DIR=""
ACCT_ROOT=/sys/fs/cgroup/cpuacct
make_acct_group() {
  local dir=$ACCT_ROOT/$1
  if [ -w "$ACCT_ROOT" ] && [ -e "$ACCT_ROOT/cpuacct.usage" ] && mkdir "$dir" 2>/dev/null; then
    CGROUPS+=("$dir")
    ACCT_DIR=$dir
  fi
}
# other_ns: CPU nanoseconds used so far outside our accounting group.
other_ns() {
  if [ -n "$ACCT_DIR" ]; then
    echo $(($(cat "$ACCT_ROOT/cpuacct.usage") - $(cat "$ACCT_DIR/cpuacct.usage")))
  else
    echo 0
  fi
}
# other_pct NS0 NS1 SECONDS: that usage as a percentage of all CPUs.
other_pct() {
  if [ -z "$ACCT_DIR" ]; then echo "?"; return; fi
  awk -v d=$(($2 - $1)) -v s="$3" -v n="$(nproc --all)" 'BEGIN { printf "%.1f", 100 * d / 1e9 / s / n }'
}
# wait_quiet: waits (IDLE_WAIT seconds at most, default 10) until the rest of
# the machine used under QUIET_PCT (10) percent of the CPUs over one second.
wait_quiet() {
  [ -n "$ACCT_DIR" ] || return 0
  local waited=0 a b pct
  while :; do
    a=$(other_ns); sleep 1; b=$(other_ns)
    pct=$(other_pct "$a" "$b" 1)
    if awk -v p="$pct" -v q="${QUIET_PCT:-10}" 'BEGIN { exit !(p < q) }'; then
      [ "$waited" -gt 0 ] && log "quiet again after ${waited}s"
      return 0
    fi
    if [ "$waited" -ge "${IDLE_WAIT:-10}" ]; then
      log "other work still uses ${pct}% of the CPUs after ${waited}s; measuring anyway"
      return 0
    fi
    [ "$waited" -eq 0 ] && log "other work uses ${pct}% of the CPUs; waiting for quiet (IDLE_WAIT=${IDLE_WAIT:-10}s)"
    waited=$((waited + 1))
  done
}

# start_on_cpu0 CGROUP LOG CMD...: runs CMD on CPU 0, inside CGROUP when not
# empty (the wrapper joins the cgroup, then execs, so every thread is in it),
# and in the accounting group. Sets STARTED_PID.
start_on_cpu0() {
  local cg=$1 logfile=$2
  shift 2
  bash -c 'for g in "$1" "$2"; do if [ -n "$g" ]; then echo $$ >"$g/cgroup.procs"; fi; done
    shift 2; exec taskset -c 0 "$@"' _ "$cg" "$ACCT_DIR" "$@" >"$logfile" 2>&1 &
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
}

# wait_dns PORT PID NAME: until the server answers the SOA (60 s at most).
wait_dns() {
  local port=$1 pid=$2 name=$3 i
  for i in $(seq 600); do
    if dig +norec +time=1 +tries=1 @"$ADDR" -p "$port" "$ZONE" SOA 2>/dev/null | grep -q 'status: NOERROR'; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { echo "$name exited during startup" >&2; return 1; }
    sleep 0.1
  done
  echo "$name did not answer within 60 s" >&2
  return 1
}

# mem_mb PID FIELD: VmRSS/VmHWM of PID in MB (one decimal).
mem_mb() {
  awk -v f="$2:" '$1 == f { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"
}

# ---------------------------------------------------------------- generators
# Policy header shared by every zone: apex NS, the smtp-out pool with its
# fallback, an apex MX (smtp-in) and www (web). Response rate limiting is on
# at its default rate, with loopback, where the load generator sends from,
# exempt (as NSD is benchmarked with rrl-ratelimit: 0): the throughput runs
# still pay for the per-answer checks. BENCH_RATE_LIMIT replaces the
# setting, e.g. '{ responses_per_second: 0 }' to turn it off.
BENCH_RATE_LIMIT=${BENCH_RATE_LIMIT:-"{ exempt: [127.0.0.0/8] }"}
policy_head() {
  cat <<EOF
zone: $ZONE
ttl: 300
nameservers: [ns1.$ZONE]
rate_limit: $BENCH_RATE_LIMIT
roles:
  smtp-out:
    records: [ { name: smtp-out, type: MX, priority: 5 }, { name: smtp-out, type: A } ]
    fallback: [ { name: smtp-out, type: MX, priority: 20, target: fallback.$ZONE. } ]
  smtp-in: { records: [ { name: "@", type: MX, priority: 10 } ] }
  web: { records: [ { name: www, type: A } ] }
EOF
}

# The notes' zone: ~50 host A records, a 5-member smtp-out MX pool, web A.
# 2 infrastructure + 5 smtp-out + 2 smtp-in + 3 web + 38 plain = 50 hosts.
gen_positive_policy() {
  policy_head
  cat <<EOF
hosts:
  - { name: ns1, address: 127.0.0.1, static: true }
  - { name: fallback, address: 192.0.2.20, static: true }
EOF
  awk 'BEGIN {
    for (i = 1; i <= 5; i++) printf "  - { name: smurf%d, address: 10.0.0.%d, role: smtp-out, static: true }\n", i, i
    for (i = 1; i <= 2; i++) printf "  - { name: in%d, address: 10.0.2.%d, role: smtp-in, static: true }\n", i, i
    for (i = 1; i <= 3; i++) printf "  - { name: web%d, address: 10.0.1.%d, role: web, static: true }\n", i, i
    for (i = 1; i <= 38; i++) printf "  - { name: host%02d, address: 10.0.3.%d, static: true }\n", i, i
  }'
}

# Host names of the positive zone that have an A record.
positive_hosts() {
  awk 'BEGIN {
    print "ns1"; print "fallback"
    for (i = 1; i <= 5; i++) print "smurf" i
    for (i = 1; i <= 2; i++) print "in" i
    for (i = 1; i <= 3; i++) print "web" i
    for (i = 1; i <= 38; i++) printf "host%02d\n", i
  }'
}

# The notes' query mix, 10,000 lines: 30% smtp-out MX, 25% smtp-out A,
# 20% a host's A, 15% www A, 10% NXDOMAIN. The category of line i is
# (i*37) mod 100, a permutation of 0..99 in every 100 lines, so the mix is
# exact and spread out; hosts and NXDOMAIN names are pseudo-random (fixed seed).
gen_positive_queries() {
  positive_hosts | awk -v z="$ZONE" '
    { host[n++] = $1 }
    END {
      srand(42)
      for (i = 0; i < 10000; i++) {
        c = (i * 37) % 100
        if (c < 30) print "smtp-out." z " MX"
        else if (c < 55) print "smtp-out." z " A"
        else if (c < 75) print host[int(rand() * n)] "." z " A"
        else if (c < 90) print "www." z " A"
        else printf "nx%08d.%s A\n", int(rand() * 100000000), z
      }
    }'
}

# The positive zone as a whole list domain: SPF over smtp-out (its hosts
# join the MX 1 s after the SPF lists them), a 2048-bit-sized DKIM key,
# DMARC, a CNAME, and the reverse zones of two of its blocks.
gen_listdomain_policy() {
  gen_positive_policy
  local key
  key=$(head -c 350 /dev/zero | tr '\0' 'A')
  cat <<EOF
spf: { roles: [smtp-out], ttl: 1 }
records:
  - { name: mail2024._domainkey, type: TXT, data: "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA$key" }
  - { name: _dmarc, type: TXT, data: "v=DMARC1; p=quarantine; rua=mailto:dmarc@$ZONE" }
  - { name: imap, type: CNAME, target: host07 }
reverse: [ 10.0.0.0/24, 10.0.3.0/24 ]
EOF
}

# The positive mix with the list domain's other names, 10,000 lines: 20%
# smtp-out MX, 15% smtp-out A, 15% a host's A, 10% SPF TXT, 10% DKIM TXT,
# 5% DMARC TXT, 15% PTR (some for addresses with no host), 5% CNAME, 5%
# NXDOMAIN.
gen_listdomain_queries() {
  positive_hosts | awk -v z="$ZONE" '
    { host[n++] = $1 }
    END {
      srand(42)
      for (i = 0; i < 10000; i++) {
        c = (i * 37) % 100
        if (c < 20) print "smtp-out." z " MX"
        else if (c < 35) print "smtp-out." z " A"
        else if (c < 50) print host[int(rand() * n)] "." z " A"
        else if (c < 60) print z " TXT"
        else if (c < 70) print "mail2024._domainkey." z " TXT"
        else if (c < 75) print "_dmarc." z " TXT"
        else if (c < 83) printf "%d.0.0.10.in-addr.arpa PTR\n", 1 + int(rand() * 5)
        else if (c < 88) printf "%d.3.0.10.in-addr.arpa PTR\n", 1 + int(rand() * 38)
        else if (c < 90) printf "%d.3.0.10.in-addr.arpa PTR\n", 100 + int(rand() * 150)
        else if (c < 95) print "imap." z " A"
        else printf "nx%08d.%s A\n", int(rand() * 100000000), z
      }
    }'
}

# A zone of N static hosts h000001.. (10.x.y.z) plus the header's roles with
# small pools: N + ~10 records.
gen_big_policy() {
  local n=$1
  policy_head
  cat <<EOF
hosts:
  - { name: ns1, address: 127.0.0.1, static: true }
  - { name: fallback, address: 192.0.2.20, static: true }
  - { name: smurf1, address: 10.255.0.1, role: smtp-out, static: true }
  - { name: smurf2, address: 10.255.0.2, role: smtp-out, static: true }
  - { name: in1, address: 10.255.2.1, role: smtp-in, static: true }
  - { name: web1, address: 10.255.1.1, role: web, static: true }
EOF
  awk -v n="$n" 'BEGIN {
    for (i = 1; i <= n; i++)
      printf "  - { name: h%06d, address: 10.%d.%d.%d, static: true }\n", i, int(i / 65536) % 255, int(i / 256) % 256, i % 256
  }'
}

# 200,000 random names that do not exist (fixed seed), queried for A.
gen_nxdomain_queries() {
  awk -v z="$ZONE" 'BEGIN {
    srand(7)
    split("abcdefghijklmnopqrstuvwxyz0123456789", ch, "")
    for (i = 0; i < 200000; i++) {
      len = 6 + int(rand() * 10); s = ""
      for (j = 0; j < len; j++) s = s ch[1 + int(rand() * 36)]
      print "nx-" s "." z " A"
    }
  }'
}

# A 10,000-host zone with every host in a pool: 500 roles pool001..pool500 of
# 20 members, each publishing MX and A on its own name.
gen_pools_policy() {
  local pools=$1 per=$2
  cat <<EOF
zone: $ZONE
ttl: 300
nameservers: [ns1.$ZONE]
roles:
EOF
  awk -v p="$pools" 'BEGIN {
    for (r = 1; r <= p; r++)
      printf "  pool%03d: { records: [ { name: pool%03d, type: MX, priority: 10 }, { name: pool%03d, type: A } ] }\n", r, r, r
  }'
  echo "hosts:"
  echo "  - { name: ns1, address: 127.0.0.1, static: true }"
  awk -v p="$pools" -v per="$per" 'BEGIN {
    for (r = 1; r <= p; r++) for (m = 1; m <= per; m++) {
      i = (r - 1) * per + m
      printf "  - { name: p%03dh%02d, address: 10.%d.%d.%d, role: pool%03d, static: true }\n", r, m, int(i / 65536) % 255, int(i / 256) % 256, i % 256, r
    }
  }'
}

# Queries for the pools zone: 30% pool MX, 25% pool A, 35% host A, 10% NXDOMAIN.
gen_pools_queries() {
  local pools=$1 per=$2
  awk -v z="$ZONE" -v p="$pools" -v per="$per" 'BEGIN {
    srand(11)
    for (i = 0; i < 50000; i++) {
      c = (i * 37) % 100
      r = 1 + int(rand() * p)
      if (c < 30) printf "pool%03d.%s MX\n", r, z
      else if (c < 55) printf "pool%03d.%s A\n", r, z
      else if (c < 90) printf "p%03dh%02d.%s A\n", r, 1 + int(rand() * per), z
      else printf "nx%08d.%s A\n", int(rand() * 100000000), z
    }
  }'
}

# start_muster POLICY DNS_PORT API_PORT CGROUP NAME: sets MUSTER_PID.
start_muster() {
  local policy=$1 dport=$2 aport=$3 cg=$4 name=$5
  rm -f "$WORK/$name.db"
  start_on_cpu0 "$cg" "$WORK/$name.log" env MUSTER_LOG=warn "$MUSTER" serve --policy "$policy" \
    --db "sqlite://$WORK/$name.db" --dns-listen "$ADDR:$dport" --api-listen "$ADDR:$aport" --dns-workers 1
  MUSTER_PID=$STARTED_PID
  wait_dns "$dport" "$MUSTER_PID" muster || { cat "$WORK/$name.log" >&2; exit 1; }
  taskset -a -p -c 0 "$MUSTER_PID" >/dev/null
}

# run_dnsperf PORT QUERIES SECONDS OUT: dnsperf on CPU 1 with the notes'
# flags, in the accounting group. Sets OTHER_PCT: the CPU share (of all CPUs)
# that the rest of the machine used meanwhile.
OTHER_PCT="?"
LOAD_CG=""
run_dnsperf() {
  local port=$1 queries=$2 secs=$3 out=$4 o0 o1 t0 t1
  o0=$(other_ns)
  t0=$(date +%s%N)
  bash -c 'for g in "$1" "$2"; do if [ -n "$g" ]; then echo $$ >"$g/cgroup.procs"; fi; done
    shift 2; exec taskset -c 1 "$@"' _ "$LOAD_CG" "$ACCT_DIR" \
    dnsperf -s "$ADDR" -p "$port" -d "$queries" -l "$secs" -Q 10000000 -c 8 -q 200 -T 1 >"$out" 2>&1 || {
    cat "$out" >&2
    return 1
  }
  o1=$(other_ns)
  t1=$(date +%s%N)
  # Wall time, not -l: dnsperf waits out the timeout of lost queries.
  RUN_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1e9 }')
  OTHER_PCT=$(other_pct "$o0" "$o1" "$RUN_WALL")
}
qps_of() { awk '/Queries per second:/ { printf "%.0f", $4 }' "$1"; }
resp_size_of() { awk '/Average packet size:/ { gsub(",", ""); print $7 }' "$1"; }
req_size_of() { awk '/Average packet size:/ { gsub(",", ""); print $5 }' "$1"; }
lost_of() { awk '/Queries lost:/ { print $3 }' "$1"; }

# thread_ticks PID: "name ticks" per thread name (user + system so far).
thread_ticks() {
  local t
  for t in /proc/"$1"/task/*; do
    printf '%s %s\n' "$(tr ' ' '_' <"$t/comm")" "$(awk '{ print $14 + $15 }' "$t/stat")"
  done 2>/dev/null | awk '{ s[$1] += $2 } END { for (n in s) print n, s[n] }'
}
# thread_delta BEFORE AFTER: "name ticks" used by each thread name between
# two thread_ticks outputs (append these to one file per server).
thread_delta() {
  awk 'NR == FNR { b[$1] = $2; next } { print $1, $2 - b[$1] }' "$1" "$2"
}
# thread_share DELTAS: each thread name's share of the CPU time in a file of
# thread_delta lines, largest first.
thread_share() {
  awk '{ d[$1] += $2; t += $2 } END { for (n in d) if (d[n] > 0) printf "%d %s %.0f%%\n", d[n], n, 100 * d[n] / t }' "$1" |
    sort -rn | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $3 } END { print "" }'
}

# cpu_ticks PID: user + system CPU time of PID so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
CLK_TCK=$(getconf CLK_TCK)
runtime_of() { awk '/Run time \(s\):/ { print $4 }' "$1"; }
completed_of() { awk '/Queries completed:/ { print $3 }' "$1"; }

# median of the arguments (the mean of the middle two for an even count).
median() {
  printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
    if (NR % 2) printf "%.0f", v[(NR + 1) / 2]; else printf "%.0f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
