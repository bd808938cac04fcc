#!/usr/bin/env bash
# Fuzzes every parser muster exposes to untrusted input, with cargo-fuzz
# (libFuzzer), each target for SECONDS:
#   respond      DNS queries: Request::parse + respond + the transfer writers
#   api_request  heartbeat and API bodies, path segments and query strings,
#                through the real router, controller and SQLite store
#   policy       policy files: loaded, or every problem located
#
#   bench/fuzz.sh [SECONDS] [TARGET...]     # default 60 s, every target
#
# Manual, not CI (CI runs the same properties as proptests). The project's
# pinned stable toolchain builds the sanitizer flags with RUSTC_BOOTSTRAP=1,
# so no nightly is needed. Crashes land in fuzz/artifacts/TARGET/, the corpus
# grows in fuzz/corpus/TARGET/; a summary line per target is printed last.
set -euo pipefail

seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(respond api_request policy)
root="$(cd "$(dirname "$0")/.." && pwd)"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

cd "$root/fuzz"
summary=()
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    log="$(mktemp)"
    status=ok
    if ! RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
        status="CRASH (see fuzz/artifacts/$target/)"
    fi
    grep -E "^(#[0-9]+.*(pulse|DONE)|==|thread|SUMMARY)" "$log" || true
    runs="$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')"
    cov="$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo '?')"
    summary+=("$target: $status, $runs inputs in ${seconds}s, coverage $cov edges")
    rm -f "$log"
done
printf '%s\n' "${summary[@]}"
for line in "${summary[@]}"; do
    case "$line" in *CRASH*) exit 1 ;; esac
done
