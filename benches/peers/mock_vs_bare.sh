#!/usr/bin/env bash
# Side by side, one run: the mock CRM with its full vendor logic (auth, limit accounting, rate
# headers, unique indexes, store, per-endpoint accounting) against a bare axum handler that only
# parses the contact and answers 201. wrk at 64 connections is the client. Each server is pinned
# to core 0, wrk to core 1. Loopback only; each load runs for a fixed, bounded time.
#
#   apt-get install -y wrk        # Debian's package
#   bash benches/peers/mock_vs_bare.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-10}"
cargo build --release -q -p syncproof-mocks --example bare
cargo build --release -q
lua=benches/peers/mock_vs_bare.lua
url=/crm/v3/objects/contacts

wait_up() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done; return 1; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

taskset -c 0 target/release/examples/bare 127.0.0.1:18081 >/dev/null &
bare=$!
taskset -c 0 target/release/syncproof mock --no-limits --port 18080 --token bench >/dev/null &
mock=$!
trap 'kill $bare $mock 2>/dev/null || true' EXIT
wait_up http://127.0.0.1:18081/ || true
wait_up http://127.0.0.1:18080/__syncproof/health

echo "== bare axum handler"
taskset -c 1 wrk -t1 -c64 -d"${secs}s" --latency -s "$lua" "http://127.0.0.1:18081$url" | grep -E "Requests/sec|50%|99%|Non-2xx"
echo "== syncproof mock (hubspot-pro logic, limits off)"
before=$(rss_kb "$mock")
taskset -c 1 wrk -t1 -c64 -d"${secs}s" --latency -s "$lua" -H "Authorization: Bearer bench" "http://127.0.0.1:18080$url" | grep -E "Requests/sec|50%|99%|Non-2xx"
after=$(rss_kb "$mock")
records=$(curl -s http://127.0.0.1:18080/__syncproof/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["records"])')
echo "mock RSS: ${before} kB before, ${after} kB after ${records} records stored"
echo "memory per stored record: $(( (after - before) * 1024 / (records > 0 ? records : 1) )) bytes"
