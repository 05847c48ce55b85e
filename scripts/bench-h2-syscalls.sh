#!/usr/bin/env bash
# System calls of the HTTP/2 proxy path, nghttpx against meshsim serve: each proxy (one worker)
# in front of one simulated h2c pod, driven by h2load -n REQUESTS -c 10 -m 10 while `perf stat`
# counts its syscalls and `strace -c` breaks them down. Needs root (perf tracepoint, ptrace).
# Usage: scripts/bench-h2-syscalls.sh MESHSIM_BINARY [REQUESTS]
set -euo pipefail
meshsim=$1; requests=${2:-30000}
source "$(dirname "$0")/bench-lib.sh"
pod=$(free_port); mesh_port=$(free_port)
"$meshsim" backend --listen "127.0.0.1:$pod" --name bench --threads 1 --h2c >"$work/pod.log" 2>&1 & pids+=($!)
wait_port "$pod"
start_nghttpx "$pod"
write_pod_service "$work/mesh.yaml" "$pod" h2
"$meshsim" serve -f "$work/mesh.yaml" --listen "127.0.0.1:$mesh_port" --admin 127.0.0.1:0 --workers 1 --no-debug-headers \
  >"$work/mesh.log" 2>&1 & mesh_pid=$!; pids+=($mesh_pid)
wait_port "$mesh_port"
for target in "nghttpx $nghttpx_worker $nghttpx_port" "meshsim $mesh_pid $mesh_port"; do
  read -r name pid port <<<"$target"
  url="http://127.0.0.1:$port/"
  h2load -n 5000 -c 10 -m 10 -H ":authority: bench.example:$pod" "$url" >/dev/null
  perf stat -x, -e raw_syscalls:sys_enter -p "$pid" -o "$work/count" & counter=$!
  strace -c -f -p "$pid" -o "$work/strace" 2>/dev/null & tracer=$!
  sleep 0.5
  answered=$(h2load -n "$requests" -c 10 -m 10 -H ":authority: bench.example:$pod" "$url" | awk '/^requests:/ {print $8}')
  kill -INT "$counter" "$tracer"; wait "$counter" "$tracer" 2>/dev/null || true
  awk -F, -v name="$name" -v n="$answered" '/sys_enter/ {printf "== %s: %.2f syscalls per request (%d requests)\n", name, $1 / n, n}' "$work/count"
  head -12 "$work/strace"
done
