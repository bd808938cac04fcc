#!/usr/bin/env bash
# Fuzzes muster-dns's query path (Request::parse + respond) with cargo-fuzz.
# Manual only: needs the nightly toolchain and is never run by CI.
#
#   bench/fuzz.sh [SECONDS]    # default 60
#
# Crashes land in fuzz/artifacts/respond/; the corpus grows in fuzz/corpus/.
set -euo pipefail

seconds="${1:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

cd "$root/fuzz"
exec cargo +nightly fuzz run respond -- -max_total_time="$seconds"
