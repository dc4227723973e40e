#!/usr/bin/env bash
# Side by side, one run: the HubSpot mock with its full vendor logic (auth, rolling-window and
# daily limit accounting enforced at a ceiling the load never reaches, rate headers, `email`
# unique index, store, per-endpoint accounting; `mocks/examples/hubspot.rs`) against a bare axum
# handler that only parses the body and answers (`mocks/examples/bare.rs`). wrk at 64
# connections is the client. Each server is pinned to core 0, wrk to core 1. Single-record
# creates (mock_vs_bare.lua) and 100-input batch upserts (mock_vs_bare_batch.lua); each pair
# alternates ROUNDS times so a noisy machine hits both alike (quote the medians). Loopback only;
# each load runs for a fixed, bounded time. The mock's RSS is read from /proc before and after
# the single creates and divided by the records stored.
#
#   apt-get install -y wrk        # Debian's package
#   bash benches/peers/mock_vs_bare.sh [SECONDS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-10}"
rounds="${2:-3}"
cargo build --release -q -p syncproof-mocks --example bare --example hubspot
url=/crm/v3/objects/contacts
bare_bin=target/release/examples/bare
mock_bin=target/release/examples/hubspot

wait_up() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done; return 1; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
rate() { grep -E "Requests/sec" | awk '{print $2}'; }
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null || true' EXIT

# start BIN PORT PATH: a fresh server pinned to core 0, up once PATH answers.
start() {
  taskset -c 0 "$1" "127.0.0.1:$2" >/dev/null &
  server=$!
  wait_up "http://127.0.0.1:$2$3" || true
}
stop() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=""; }
load() { # load LUA PORT [wrk args]
  local lua=$1 port=$2; shift 2
  taskset -c 1 wrk -t1 -c64 -d"${secs}s" --latency -s "$lua" "$@" "http://127.0.0.1:$port$url"
}

for round in $(seq "$rounds"); do
  start "$bare_bin" 18081 /
  b1=$(load benches/peers/mock_vs_bare.lua 18081 | rate)
  b100=$(load benches/peers/mock_vs_bare_batch.lua 18081 | rate)
  stop
  start "$mock_bin" 18080 /__syncproof/health
  before=$(rss_kb "$server")
  m1=$(load benches/peers/mock_vs_bare.lua 18080 -H "Authorization: Bearer bench" | rate)
  after=$(rss_kb "$server")
  records=$(curl -s http://127.0.0.1:18080/__syncproof/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["records"])')
  m100=$(load benches/peers/mock_vs_bare_batch.lua 18080 -H "Authorization: Bearer bench" | rate)
  non2xx=$(curl -s http://127.0.0.1:18080/__syncproof/stats | python3 -c '
import json,sys
calls = json.load(sys.stdin)["accounting"]["calls"]
print(sum(n for by in calls.values() for s, n in by.items() if not s.startswith("2")))')
  stop
  per=$(( (after - before) * 1024 / (records > 0 ? records : 1) ))
  echo "round $round: create bare $b1/s mock $m1/s ratio $(python3 -c "print(f'{$m1/$b1:.2f}')") | batch_upsert_100 bare $b100/s mock $m100/s ratio $(python3 -c "print(f'{$m100/$b100:.2f}')") | mock RSS +$((after - before)) kB for $records records = $per B/record | mock non-2xx $non2xx"
done
