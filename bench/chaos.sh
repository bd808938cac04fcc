#!/usr/bin/env bash
# Faults against a running muster (see bench/chaos.py for what each does and
# the four rules it checks), loopback only, a few minutes in all:
#
#   bench/chaos.sh [--runs N] [--seed S] [kill diskfull pgrestart clock]
#
# Needs root (a tmpfs is mounted for the full-disk fault, PostgreSQL runs as
# the postgres user). Installs dig, PostgreSQL and libfaketime when missing,
# builds muster in release mode, and prints one line per fault with its
# runs, checks and violations; exits 1 when any rule was broken.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

need=()
command -v dig >/dev/null || need+=(bind9-dnsutils)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql)
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ] || need+=(libfaketime)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

cargo build --release --bin muster --manifest-path "$root/Cargo.toml" >&2
exec python3 "$root/bench/chaos.py" --muster "$root/target/release/muster" "$@"
