#!/usr/bin/env bash
# HTTP/2 server throughput: h2load against MeshHTTP2's answer server (one event loop, release
# build) and against nghttpd (one worker) serving the same 6-byte body, in one run.
# Usage: scripts/bench-h2.sh [requests] [clients] [streams-per-client]
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-1000000}
clients=${2:-10}
streams=${3:-10}

bash scripts/install-deps.sh
# Release with testability: the answer server lives in the test target.
source scripts/release-flags.sh
swift build "${release_build_flags[@]}" --build-tests -Xswiftc -enable-testing >&2

work=$(mktemp -d)
nghttpd_pid=""
server_pid=""
cleanup() {
  touch "$work/stop"
  [ -n "$server_pid" ] && wait "$server_pid" 2>/dev/null || true
  [ -n "$nghttpd_pid" ] && kill "$nghttpd_pid" 2>/dev/null && wait "$nghttpd_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# MeshHTTP2 answer server, hosted by the test harness.
MESHHTTP2_BENCH_DIR="$work" swift test -c release --skip-build \
  --filter BenchmarkHarness/serveAnswerServerForBenchmark >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "answer server did not start" >&2; cat "$work/server.log" >&2; exit 1; }
mesh_port=$(cat "$work/port")
mesh_pid=$(pgrep -P "$server_pid" -f xctest | head -1)
[ -n "$mesh_pid" ] || { echo "cannot find the answer server process" >&2; exit 1; }

# nghttpd with one worker, same body.
mkdir -p "$work/docroot"
printf 'hello\n' >"$work/docroot/hello"
nghttpd_port=""
for _ in 1 2 3 4 5; do
  candidate=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  nghttpd --no-tls -a 127.0.0.1 -n 1 -d "$work/docroot" "$candidate" >"$work/nghttpd.log" 2>&1 &
  nghttpd_pid=$!
  for _ in $(seq 1 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then nghttpd_port=$candidate; break; fi
    sleep 0.1
  done
  [ -n "$nghttpd_port" ] && kill -0 "$nghttpd_pid" 2>/dev/null && break
  kill "$nghttpd_pid" 2>/dev/null || true; nghttpd_pid=""; nghttpd_port=""
done
[ -n "$nghttpd_port" ] || { echo "nghttpd did not start" >&2; exit 1; }

# CPU time the server process spent (user + system), in clock ticks: unlike req/s, it does not
# depend on what else the machine is running.
ticks_per_second=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

run() {
  local name=$1 url=$2 pid=$3
  echo "== $name: h2load -n $requests -c $clients -m $streams $url"
  local before after
  before=$(cpu_ticks "$pid")
  h2load -n "$requests" -c "$clients" -m "$streams" "$url" | grep -E "^(finished in|requests:|status codes:|time for request:)"
  after=$(cpu_ticks "$pid")
  awk -v t=$((after - before)) -v hz="$ticks_per_second" -v n="$requests" \
    'BEGIN { printf "server CPU: %.2f s, %.2f us per request\n", t / hz, t / hz * 1e6 / n }'
}
echo "machine: $(nproc) cores; h2load and the server share them"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
run "MeshHTTP2 answer server (1 event loop)" "http://127.0.0.1:$mesh_port/hello" "$mesh_pid"
run "nghttpd (1 worker)" "http://127.0.0.1:$nghttpd_port/hello" "$nghttpd_pid"
run "MeshHTTP2 answer server (1 event loop), again" "http://127.0.0.1:$mesh_port/hello" "$mesh_pid"
run "nghttpd (1 worker), again" "http://127.0.0.1:$nghttpd_port/hello" "$nghttpd_pid"
