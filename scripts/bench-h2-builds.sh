#!/usr/bin/env bash
# HTTP/2 proxying with several meshsim builds and nghttpx in one run: h2load → proxy → one
# simulated h2c pod, every proxy in turn, ROUNDS times, then the median and the lowest CPU per
# request of each. Comparing two commits this way (each built into a binary of its own) puts
# them under the same neighbours; the load generator, the proxies and the pod share the
# machine's cores (2 here), so single runs swing a lot. The pod's CPU per request is printed
# too: what a proxy sends it (header blocks, HPACK table churn) costs the pod as well.
# Usage: scripts/bench-h2-builds.sh REQUESTS ROUNDS MESHSIM_BINARY...
set -euo pipefail
requests=$1; rounds=$2; shift 2
[ $# -gt 0 ] || { echo "usage: $0 REQUESTS ROUNDS MESHSIM_BINARY..." >&2; exit 2; }
binaries=("$@")
source "$(dirname "$0")/bench-lib.sh"

pod=$(free_port)
"${binaries[0]}" backend --listen "127.0.0.1:$pod" --name bench --threads 1 --h2c >"$work/pod.log" 2>&1 & pids+=($!)
pod_pid=$!
wait_port "$pod"
start_nghttpx "$pod"
write_pod_service "$work/mesh.yaml" "$pod" h2
names=(nghttpx); ports=("$nghttpx_port"); cpu_pids=("$nghttpx_worker")
for binary in "${binaries[@]}"; do
  port=$(free_port)
  "$binary" serve -f "$work/mesh.yaml" --listen "127.0.0.1:$port" --workers 1 --no-debug-headers >>"$work/mesh.log" 2>&1 & pid=$!; pids+=($pid)
  wait_port "$port"; names+=("$binary"); ports+=("$port"); cpu_pids+=("$pid")
done
echo "machine: $(nproc) cores shared by h2load, the proxies and the pod; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$rounds"); do
  for i in "${!names[@]}"; do
    before=$(cpu_ticks "${cpu_pids[$i]}"); pod_before=$(cpu_ticks "$pod_pid")
    out=$(h2load -n "$requests" -c 10 -m 10 -H ":authority: bench.example:$pod" "http://127.0.0.1:${ports[$i]}/")
    after=$(cpu_ticks "${cpu_pids[$i]}"); pod_after=$(cpu_ticks "$pod_pid")
    echo "$out" | awk -v name="${names[$i]}" -v round="$round" -v t=$((after - before)) -v pt=$((pod_after - pod_before)) \
      -v hz="$ticks_per_second" -v n="$requests" '
      /^finished in/ {rps = $4} /^status codes:/ {ok = $3}
      END {printf "round %d  %-40s %10.0f req/s  %6.2f us CPU per request  (%s 2xx)  pod %6.2f us\n", round, name, rps, t / hz * 1e6 / n, ok, pt / hz * 1e6 / n}'
  done
done | tee "$work/rounds"
summarize_build_rounds "$work/rounds"
