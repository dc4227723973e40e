#!/usr/bin/env bash
# Side by side, one run: syncproof as a load client against oha and wrk, on the same bare handler
# (mocks/examples/bare.rs: parse a contact, answer 201) at the same concurrency (64 connections),
# POSTing one contact per request. The handler is pinned to core 0, every client to core 1.
# syncproof runs benches/peers/harness-bare.toml: rate = "max" (a closed loop, like oha and
# wrk), [verify] kind = "none" (acknowledgements only), events to disk as in any run; its rate
# is records / sending time from summary.json, its p50/p99 the write calls' service time. oha
# sends the same number of requests, wrk runs for the same duration as syncproof's sending.
# oha and wrk send benches/peers/contact.json every time; syncproof sends a generated contact
# of the same shape (a new one each request, as it always does). Rounds alternate the three
# clients (order rotated each round) so a noisy machine hits them alike: quote the medians.
# Loopback only; every load is bounded by a count or a duration.
#
#   cargo install oha --locked    # oha (crates.io)
#   apt-get install -y wrk        # Debian's package
#   bash benches/peers/harness_vs_oha_wrk.sh [REQUESTS] [ROUNDS]   # defaults: 200000, 3
#   SYNCPROOF=/tmp/old/syncproof NO_BUILD=1 bash benches/peers/harness_vs_oha_wrk.sh   # another build
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-200000}"
rounds="${2:-3}"
port=18091
url="http://127.0.0.1:$port/crm/v3/objects/contacts"
if [ -z "${NO_BUILD:-}" ]; then # NO_BUILD=1: use the release binaries already built
  cargo build --release -q -p syncproof-mocks --example bare
  cargo build --release -q --bin syncproof
fi
bare_bin=target/release/examples/bare
harness_bin="${SYNCPROOF:-target/release/syncproof}" # SYNCPROOF=path: another build, for an A/B
oha_bin="${OHA:-$(command -v oha || echo "$HOME/.cargo/bin/oha")}"
clients=(harness oha wrk)
if [ ! -x "$oha_bin" ]; then
  echo "oha not found (cargo install oha --locked): comparing with wrk only" >&2
  clients=(harness wrk)
fi
out="$(mktemp -d /tmp/harness-vs-peers.XXXXXX)"
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null || true; rm -rf "$out"; }
trap cleanup EXIT
export BARE_TOKEN=unused # the plan names a token variable; the bare handler ignores it

taskset -c 0 "$bare_bin" "127.0.0.1:$port" >/dev/null &
server=$!
for _ in $(seq 100); do curl -s -o /dev/null -X POST -d '{}' "$url" && break; sleep 0.05; done

secs=10 # wrk's duration: set to the first syncproof run's sending time
run_harness() {
  rm -rf "$out/run"
  /usr/bin/time -f '%e %U %S' -o "$out/time" taskset -c 1 "$harness_bin" run \
    benches/peers/harness-bare.toml --records "$n" --out "$out/run" --quiet >/dev/null || true
  python3 - "$out/run/summary.json" "$out/time" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
wall, user, system = map(float, open(sys.argv[2]).read().split()[-3:])
r, a = s["run"], s["latency"]["api_ms"]
print(f"harness {r['rate_per_s']:.0f} {a['p50']:.3f} {a['p99']:.3f} cpu_s={r.get('cpu_s')} cpu_pct={r.get('cpu_pct_of_wall')} "
      f"acknowledged={s['records']['acknowledged']}/{s['records']['sent']} sending_s={s['records']['sent']/r['rate_per_s']:.2f}")
PY
}
run_oha() {
  taskset -c 1 "$oha_bin" -n "$n" -c 64 --no-tui --output-format json -m POST \
    -H 'Content-Type: application/json' -D benches/peers/contact.json "$url" > "$out/oha.json"
  python3 - "$out/oha.json" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
p = o["latencyPercentiles"]
codes = o.get("statusCodeDistribution", {})
print(f"oha {o['summary']['requestsPerSec']:.0f} {p['p50']*1000:.3f} {p['p99']*1000:.3f} status={codes}")
PY
}
run_wrk() {
  taskset -c 1 wrk -t1 -c64 -d"${secs}s" --latency -s benches/peers/post_contact.lua "$url" > "$out/wrk.txt"
  python3 - "$out/wrk.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def ms(v):  # wrk's units: us, ms, s, m; anything else (a failed run) is not a number
    m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
    if not m:
        return float("nan")
    n, u = m.groups()
    return float(n) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[u]
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
p50 = ms(re.search(r"50%\s+(\S+)", t).group(1))
p99 = ms(re.search(r"99%\s+(\S+)", t).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print(f"wrk {rate:.0f} {p50:.3f} {p99:.3f} non2xx={non2xx.group(1) if non2xx else 0}")
PY
}

: > "$out/results"
for round in $(seq "$rounds"); do
  order=("${clients[@]}")
  shift_by=$(( (round - 1) % ${#clients[@]} ))
  order=("${order[@]:$shift_by}" "${order[@]:0:$shift_by}")
  for client in "${order[@]}"; do
    line=$("run_$client")
    echo "round $round: $line" | tee -a "$out/results"
    if [ "$client" = harness ] && [ "$round" = 1 ]; then
      secs=$(python3 -c "import math,sys; print(max(1, math.ceil(float(sys.argv[1].split('sending_s=')[1]))))" "$line")
    fi
  done
done
python3 - "$out/results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, rate, p50, p99 = line.split(": ", 1)[1].split()[:4]
    rows.setdefault(name, []).append((float(rate), float(p50), float(p99)))
med = {k: [statistics.median(x[i] for x in v) for i in range(3)] for k, v in rows.items()}
for k, (rate, p50, p99) in med.items():
    print(f"median {k}: {rate:.0f} req/s, p50 {p50:.3f} ms, p99 {p99:.3f} ms ({len(rows[k])} rounds)")
h = med["harness"]
for peer in ("oha", "wrk"):
    if peer in med:
        p = med[peer]
        print(f"harness/{peer}: rate {h[0]/p[0]:.3f}, p50 {h[1]/p[1]:.3f}, p99 {h[2]/p[2]:.3f}")
PY
