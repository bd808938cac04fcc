#!/usr/bin/env bash
# The main job on a fresh Debian machine: installs dig for the tour, builds
# muster and serves policies/demo.yaml (DNS 127.0.0.1:5300, API 127.0.0.1:8700)
# with its database in a temp dir. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v dig >/dev/null; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends bind9-dnsutils >/dev/null
fi
db_dir=$(mktemp -d)
trap 'rm -rf "$db_dir"' EXIT
cargo build --release --locked
echo "try: dig @127.0.0.1 -p 5300 MX smtp-out.lists.example.test" >&2
./target/release/muster serve --policy policies/demo.yaml --db "sqlite://$db_dir/muster.db" "$@"
