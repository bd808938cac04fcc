#!/usr/bin/env bash
# Response rate limiting against a reflection flood, on loopback only.
#
# muster serves the benchmark's positive zone (bench/dns-bench-lib.sh) on
# 127.0.0.1, one UDP worker pinned to CPU 0, not capped. A flood comes from
# one prefix, 127.0.1.1 (dnsperf -a on CPU 1, FLOOD_QPS queries a second
# for DURATION seconds, a deep window and a short timeout so that dropped
# answers do not slow the sender): smtp-out MX, the largest answer in the
# zone (five MX with glue), the one a reflector would pick. Meanwhile a
# legitimate resolver on another prefix, 127.0.2.1, asks LEGIT_QPS (100)
# queries a second from a small Python client and counts full answers
# within a second.
#
# Each round runs the flood with rate limiting off and then on at
# RATE_LIMIT (the policy default unless given), and reports the bytes
# reflected at the flood's source (answers received x their average size,
# from dnsperf), the cut (off / on), and the legitimate resolver's answer
# rate in the run with rate limiting on. Other work on the machine (the
# other engineers' builds) shows as noise; the off/on pair is measured side
# by side in each round.
#
# Settings: ROUNDS=3 DURATION=10 FLOOD_QPS=50000 LEGIT_QPS=100
# FLOOD_NAME=smtp-out FLOOD_TYPE=MX (e.g. FLOOD_NAME=www FLOOD_TYPE=A for a
# small answer)
# RATE_LIMIT="{ }" (the default: 100/s, slip 2) PORT=25363 API_PORT=25390
# MUSTER_BIN=path (skips the build) BENCH_KEEP=1.
#
# Usage: bench/rrl.sh | tee /tmp/rrl.txt
set -euo pipefail
# shellcheck source=bench/dns-bench-lib.sh
source "$(dirname "$0")/dns-bench-lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
FLOOD_QPS=${FLOOD_QPS:-50000}
LEGIT_QPS=${LEGIT_QPS:-100}
RATE_LIMIT=${RATE_LIMIT:-"{ }"}
FLOOD_TYPE=${FLOOD_TYPE:-MX}
PORT=${PORT:-25363}
API_PORT=${API_PORT:-25390}
FLOOD_SRC=127.0.1.1
LEGIT_SRC=127.0.2.1

ensure_tools dnsperf:dnsperf dig:bind9-dnsutils taskset:util-linux python3:python3
build_muster
setup_workdir

# The legitimate resolver: QPS queries a second for SECS seconds from SRC,
# each for a name of the mix; prints "sent answered".
cat >"$WORK/legit.py" <<'EOF'
import select, socket, struct, sys, time
server, port, src, qps, secs, zone = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
names = [f"www.{zone}", f"smtp-out.{zone}", f"host01.{zone}", f"smurf1.{zone}"]
def query(qid, name):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00\x00\x01\x00\x01"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
s.setblocking(False)
sent, pending, answered = 0, {}, 0
start = time.monotonic()
while True:
    now = time.monotonic()
    if now - start >= secs and not pending:
        break
    if now - start < secs and sent < (now - start) * qps:
        qid = sent % 65536
        s.sendto(query(qid, names[sent % len(names)]), (server, port))
        pending[qid] = now
        sent += 1
    for qid in [q for q, t in pending.items() if now - t > 1.0]:
        del pending[qid]
    r, _, _ = select.select([s], [], [], 0.001)
    if r:
        data, _ = s.recvfrom(4096)
        qid, flags, _, ancount = struct.unpack(">HHHH", data[:8])
        if qid in pending and not flags & 0x0200 and ancount > 0:
            answered += 1
            del pending[qid]
print(sent, answered)
EOF

gen_positive_policy >"$WORK/policy-base.yaml"
grep -v '^rate_limit:' "$WORK/policy-base.yaml" >"$WORK/policy-body.yaml"
FLOOD_NAME=${FLOOD_NAME:-smtp-out}.$ZONE
for i in $(seq 100); do echo "$FLOOD_NAME $FLOOD_TYPE"; done >"$WORK/flood.txt"

# run_flood LABEL RATE_LIMIT ROUND: one flood with the legitimate resolver
# alongside; sets BYTES (reflected per second), ANSWERS, RESP, LEGIT.
run_flood() {
  local label=$1 limit=$2 round=$3 out pid
  { echo "rate_limit: $limit"; cat "$WORK/policy-body.yaml"; } >"$WORK/policy-$label.yaml"
  start_muster "$WORK/policy-$label.yaml" "$PORT" "$API_PORT" "" "muster-$label-$round"
  pid=$MUSTER_PID
  # Wait out the second the start-up probes were counted in.
  sleep 1.1
  taskset -c 1 python3 "$WORK/legit.py" "$ADDR" "$PORT" "$LEGIT_SRC" "$LEGIT_QPS" "$DURATION" "$ZONE" \
    >"$WORK/legit-$label-$round.txt" &
  local legit_pid=$!
  out=$WORK/flood-$label-$round.txt
  taskset -c 1 dnsperf -s "$ADDR" -p "$PORT" -a "$FLOOD_SRC" -d "$WORK/flood.txt" -l "$DURATION" \
    -Q "$FLOOD_QPS" -c 4 -q 20000 -t 0.5 >"$out" 2>&1 || { cat "$out" >&2; exit 1; }
  wait "$legit_pid"
  ANSWERS=$(completed_of "$out")
  RESP=$(resp_size_of "$out")
  SENT=$(awk '/Queries sent:/ { print $3 }' "$out")
  BYTES=$(awk -v n="$ANSWERS" -v s="$RESP" -v d="$(runtime_of "$out")" 'BEGIN { printf "%.0f", n * s / d }')
  LEGIT=$(awk '{ printf "%d/%d (%.2f%%)", $2, $1, ($1 ? 100 * $2 / $1 : 0) }' "$WORK/legit-$label-$round.txt")
  METRICS=$(curl -s "http://$ADDR:$API_PORT/metrics" | awk -F'[{}"]' '/^muster_dns_rate_limit_total/ && $NF + 0 > 0 { printf "%s=%d ", $3, $NF }')
  stop_pid "$pid"
}

echo "# bench/rrl.sh: $(date -u +%Y-%m-%dT%H:%MZ), muster $(muster_identity)"
echo "# flood: $FLOOD_NAME $FLOOD_TYPE from $FLOOD_SRC at $FLOOD_QPS q/s for ${DURATION}s; legitimate: $LEGIT_QPS q/s from $LEGIT_SRC"
echo "# rate limiting on: rate_limit: $RATE_LIMIT"
printf '%-6s %-4s %10s %10s %9s %14s %-24s %s\n' round rrl sent answers resp_B reflected_B/s legit_answered rate_limit_total
CUTS=()
for r in $(seq "$ROUNDS"); do
  run_flood off "{ responses_per_second: 0 }" "$r"
  off_bytes=$BYTES
  printf '%-6s %-4s %10s %10s %9s %14s %-24s %s\n' "$r" off "$SENT" "$ANSWERS" "$RESP" "$BYTES" "$LEGIT" "$METRICS"
  run_flood on "$RATE_LIMIT" "$r"
  printf '%-6s %-4s %10s %10s %9s %14s %-24s %s\n' "$r" on "$SENT" "$ANSWERS" "$RESP" "$BYTES" "$LEGIT" "$METRICS"
  cut=$(awk -v a="$off_bytes" -v b="$BYTES" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')
  CUTS+=("$cut")
  echo "round $r: reflected bytes cut ${cut}x; legitimate resolver with rate limiting on: $LEGIT"
done
echo "median cut: $(printf '%s\n' "${CUTS[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')x"
