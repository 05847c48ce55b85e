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

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() {
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2; return 1
}
ticks_per_second=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# The pod: one event loop, HTTP/1.1 and h2c.
pod_port=$(free_port)
"$meshsim" backend --listen "127.0.0.1:$pod_port" --name bench --threads 1 --h2c >"$work/pod.log" 2>&1 &
pod_pid=$!; pids+=("$pod_pid")
wait_port "$pod_port"

# nghttpx: cleartext h2c frontend, h2 (prior knowledge) backend, one worker.
nghttpx_port=$(free_port)
nghttpx -f"127.0.0.1,$nghttpx_port;no-tls" -b"127.0.0.1,$pod_port;;proto=h2" -n1 \
  --no-ocsp --errorlog-file="$work/nghttpx.err" --accesslog-file=/dev/null >"$work/nghttpx.log" 2>&1 &
nghttpx_pid=$!; pids+=("$nghttpx_pid")
wait_port "$nghttpx_port"
nghttpx_worker=$(pgrep -P "$nghttpx_pid" | head -1)
nghttpx_worker=${nghttpx_worker:-$nghttpx_pid}

# meshsim: a ServiceEntry for the pod (protocol HTTP2: h2c upstream), one worker.
cat >"$work/mesh.yaml" <<YAML
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: bench, namespace: default}
spec:
  hosts: [bench.example]
  ports: [{number: $pod_port, name: http2, protocol: HTTP2}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
YAML
mesh_port=$(free_port)
"$meshsim" serve -f "$work/mesh.yaml" --listen "127.0.0.1:$mesh_port" --workers 1 --no-debug-headers >"$work/mesh.log" 2>&1 &
mesh_pid=$!; pids+=("$mesh_pid")
wait_port "$mesh_port"

run() {
  local name=$1 url=$2 pid=$3; shift 3
  echo "== $name: h2load -n $requests -c $clients -m $streams $* $url"
  local before after
  before=$(cpu_ticks "$pid")
  h2load -n "$requests" -c "$clients" -m "$streams" "$@" "$url" | grep -E "^(finished in|requests:|status codes:|time for request:)"
  after=$(cpu_ticks "$pid")
  awk -v t=$((after - before)) -v hz="$ticks_per_second" -v n="$requests" \
    'BEGIN { printf "proxy CPU: %.2f s, %.2f us per request\n", t / hz, t / hz * 1e6 / n }'
}
echo "machine: $(nproc) cores shared by h2load, the proxy and the pod"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
run "nghttpx (1 worker)" "http://127.0.0.1:$nghttpx_port/" "$nghttpx_worker"
run "meshsim (1 worker)" "http://127.0.0.1:$mesh_port/" "$mesh_pid" -H ":authority: bench.example:$pod_port"
run "nghttpx (1 worker), again" "http://127.0.0.1:$nghttpx_port/" "$nghttpx_worker"
run "meshsim (1 worker), again" "http://127.0.0.1:$mesh_port/" "$mesh_pid" -H ":authority: bench.example:$pod_port"
