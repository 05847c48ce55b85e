#!/usr/bin/env bash
# HTTP/1.1 proxying with several meshsim builds in one run: wrk (one thread, 50 keep-alive
# connections) → proxy → one simulated pod, every build in turn for DURATION seconds, ROUNDS
# times, then the median CPU per request and req/s of each. Comparing two commits this way (each
# built into a binary of its own) puts them under the same neighbours; wrk, the proxies and the
# pod share the machine's cores (2 here), so single runs swing a lot.
# Usage: scripts/bench-h1-builds.sh DURATION_SECONDS ROUNDS MESHSIM_BINARY...
set -euo pipefail
duration=$1; rounds=$2; shift 2
[ $# -gt 0 ] || { echo "usage: $0 DURATION_SECONDS ROUNDS MESHSIM_BINARY..." >&2; exit 2; }
binaries=("$@")
source "$(dirname "$0")/bench-lib.sh"

pod=$(free_port)
"${binaries[0]}" backend --listen "127.0.0.1:$pod" --name bench --threads 1 >"$work/pod.log" 2>&1 & pids+=($!)
pod_pid=$!
wait_port "$pod"
write_pod_service "$work/mesh.yaml" "$pod" h1
ports=(); cpu_pids=()
for binary in "${binaries[@]}"; do
  port=$(free_port)
  "$binary" serve -f "$work/mesh.yaml" --listen "127.0.0.1:$port" --admin 127.0.0.1:0 --workers 1 --no-debug-headers >>"$work/mesh.log" 2>&1 & pid=$!; pids+=($pid)
  wait_port "$port"; ports+=("$port"); cpu_pids+=("$pid")
done
echo "machine: $(nproc) cores shared by wrk, the proxies and the pod; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$rounds"); do
  for i in "${!binaries[@]}"; do
    before=$(cpu_ticks "${cpu_pids[$i]}"); pod_before=$(cpu_ticks "$pod_pid")
    out=$(wrk -t1 -c50 -d"${duration}s" -H "Host: bench.example:$pod" "http://127.0.0.1:${ports[$i]}/")
    after=$(cpu_ticks "${cpu_pids[$i]}"); pod_after=$(cpu_ticks "$pod_pid")
    echo "$out" | awk -v name="${binaries[$i]}" -v round="$round" -v t=$((after - before)) -v pt=$((pod_after - pod_before)) \
      -v hz="$ticks_per_second" '
      /requests in/ {n = $1} /Requests\/sec/ {rps = $2} /Non-2xx/ {bad = $NF}
      END {printf "round %d  %-40s %10.0f req/s  %6.2f us CPU per request  (%d non-2xx)  pod %6.2f us\n", round, name, rps, t / hz * 1e6 / n, bad, pt / hz * 1e6 / n}'
  done
done | tee "$work/rounds"
summarize_build_rounds "$work/rounds"
