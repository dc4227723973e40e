#!/usr/bin/env bash
# Instructions per request, the mock against the bare handler: the servers of mock_vs_bare.sh run
# under `valgrind --tool=callgrind` and take single-record creates from wrk (64 connections, the
# same Lua script) for a fixed time. Instrumentation starts once a server answers and stops when it
# is killed, so start-up is left out; the count is divided by the requests the server answered.
# Unlike requests per second, an instruction count does not move when other processes load
# the machine, so it compares builds on a shared machine; it leaves out the kernel's socket
# work, which both servers pay alike (so the wall-clock ratio is closer to 1 than this one).
# Loopback only; each load is bounded in time.
#
#   apt-get install -y wrk valgrind
#   bash benches/peers/mock_vs_bare_callgrind.sh [SECONDS] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-20}"
out="${2:-target/callgrind}"
mkdir -p "$out"
cargo build --release -q -p syncproof-mocks --example bare --example hubspot
url=/crm/v3/objects/contacts

wait_up() { for _ in $(seq 600); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null || true' EXIT

# measure NAME BIN PORT PATH [wrk args]: instructions per answered request.
measure() {
  local name=$1 bin=$2 port=$3 path=$4; shift 4
  rm -f "$out/$name.callgrind"*
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/$name.callgrind" \
    "$bin" "127.0.0.1:$port" >/dev/null 2>"$out/$name.log" &
  server=$!
  wait_up "http://127.0.0.1:$port$path"
  callgrind_control -i on "$server" >/dev/null
  local requests
  requests=$(wrk -t1 -c64 -d"${secs}s" -s benches/peers/mock_vs_bare.lua "$@" \
    "http://127.0.0.1:$port$url" | awk '/requests in/ {print $1}')
  callgrind_control -d "$server" >/dev/null
  kill "$server"
  wait "$server" 2>/dev/null || true
  server=""
  local ir
  ir=$(awk '/^summary:/ {print $2}' "$out/$name.callgrind".1)
  echo "$name: $requests requests, $ir instructions, $((ir / requests)) per request"
}

measure bare target/release/examples/bare 28191 /
measure mock target/release/examples/hubspot 28190 /__syncproof/health -H "Authorization: Bearer bench"
