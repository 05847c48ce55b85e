#!/usr/bin/env bash
# HTTP/2 proxying: h2load → proxy → one simulated h2c pod, with nghttpx (one worker) and with
# meshsim serve (one worker) as the proxy, in one run. Both proxies speak h2c to the pod.
# The load generator, the proxy and the pod share the machine's cores (2 here).
# Usage: scripts/bench-h2-peers.sh [requests] [clients] [streams-per-client]
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-200000}
clients=${2:-10}
streams=${3:-10}

swift build -c ${CONFIG:-release} --product meshsim >&2
meshsim=.build/${CONFIG:-release}/meshsim

source scripts/bench-lib.sh

# The pod: one event loop, HTTP/1.1 and h2c.
pod_port=$(free_port)
"$meshsim" backend --listen "127.0.0.1:$pod_port" --name bench --threads 1 --h2c >"$work/pod.log" 2>&1 &
pod_pid=$!; pids+=("$pod_pid")
wait_port "$pod_port"

# nghttpx: cleartext h2c frontend, h2 (prior knowledge) backend, one worker.
start_nghttpx "$pod_port"

# meshsim: a ServiceEntry for the pod (protocol HTTP2: h2c upstream), one worker.
write_pod_service "$work/mesh.yaml" "$pod_port" h2
mesh_port=$(free_port)
"$meshsim" serve -f "$work/mesh.yaml" --listen "127.0.0.1:$mesh_port" --workers 1 --no-debug-headers >"$work/mesh.log" 2>&1 &
mesh_pid=$!; pids+=("$mesh_pid")
wait_port "$mesh_port"

run() {
  local name=$1 url=$2 pid=$3; shift 3
  echo "== $name: h2load -n $requests -c $clients -m $streams $* $url"
  local before after pod_before pod_after
  before=$(cpu_ticks "$pid"); pod_before=$(cpu_ticks "$pod_pid")
  h2load -n "$requests" -c "$clients" -m "$streams" "$@" "$url" | grep -E "^(finished in|requests:|status codes:|time for request:)"
  after=$(cpu_ticks "$pid"); pod_after=$(cpu_ticks "$pod_pid")
  awk -v t=$((after - before)) -v p=$((pod_after - pod_before)) -v hz="$ticks_per_second" -v n="$requests" \
    'BEGIN { printf "proxy CPU: %.2f s, %.2f us per request; pod CPU: %.2f us per request\n", t / hz, t / hz * 1e6 / n, p / hz * 1e6 / n }'
}
echo "machine: $(nproc) cores shared by h2load, the proxy and the pod"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
run "nghttpx (1 worker)" "http://127.0.0.1:$nghttpx_port/" "$nghttpx_worker"
run "meshsim (1 worker)" "http://127.0.0.1:$mesh_port/" "$mesh_pid" -H ":authority: bench.example:$pod_port"
run "nghttpx (1 worker), again" "http://127.0.0.1:$nghttpx_port/" "$nghttpx_worker"
run "meshsim (1 worker), again" "http://127.0.0.1:$mesh_port/" "$mesh_pid" -H ":authority: bench.example:$pod_port"
