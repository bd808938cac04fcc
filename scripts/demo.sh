#!/usr/bin/env bash
# The main job on a fresh Debian machine: installs dig for the tour, builds
# muster and runs `muster demo` — DNS on 127.0.0.1:5300, the API and the
# status page on http://127.0.0.1:8700/, a dozen simulated agents and a
# time-compressed delivery bulge, its database in a temp dir removed at
# exit. Ctrl-C stops it. Arguments go to `muster demo` (e.g. `--speed 3`,
# `--dns-listen 127.0.0.1:5353 --api-listen 127.0.0.1:8701`).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v dig >/dev/null; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends bind9-dnsutils >/dev/null
fi
cargo build --release --locked
exec ./target/release/muster demo "$@"
