#!/usr/bin/env bash
# Per-request work of the proxy, counted rather than timed: malloc calls, swift_retain and
# swift_release calls, dynamic exclusivity checks (swift_beginAccess), and system calls of the `meshsim serve` process while a client drives a
# known number of requests through it to a simulated pod. Counts do not move with the machine's
# load the way req/s and CPU time do, so they compare two builds (or two commits) reliably.
# Needs root (uprobes via `perf probe`). The CPU time beside them comes from a run without
# probes and is as noisy as ever on a shared machine.
#
#   scripts/bench-counts.sh [h1|h2|h1-floor|h2-floor] [MESHSIM_BINARY]
#     h1: wrk -t1 -c50 for 3 s over HTTP/1.1 to an HTTP/1.1 pod
#     h2: h2load -n 30000 -c 10 -m 10 over h2c to an h2c pod
#     h1-floor, h2-floor: the same through the floors instead of meshsim serve: nio-relay-floor
#       (bytes relayed, no HTTP) and h2-relay-floor (streams relayed by meshsim's HTTP/2 codec,
#       no routing, rewriting or metrics), built with the scripts' release flags
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-h2}
meshsim=${2:-}
source scripts/release-flags.sh
if [ -z "$meshsim" ]; then
  swift build "${release_build_flags[@]}" --product meshsim >&2
  meshsim=$(swift build "${release_build_flags[@]}" --show-bin-path)/meshsim
fi
floor=""
case "$mode" in
  h1-floor) floor=nio-relay-floor; mode=h1 ;;
  h2-floor) floor=h2-relay-floor; mode=h2 ;;
  h1|h2) ;;
  *) echo "bench-counts: mode is h1, h2, h1-floor or h2-floor" >&2; exit 2 ;;
esac
if [ -n "$floor" ]; then
  swift build "${release_build_flags[@]}" --product "$floor" >&2
  floor=$(swift build "${release_build_flags[@]}" --show-bin-path)/$floor
fi
command -v perf >/dev/null || { echo "bench-counts: needs perf (apt-get install linux-perf)" >&2; exit 1; }
swift_core=$(find "$(dirname "$(dirname "$(command -v swift)")")" -name libswiftCore.so -path '*linux*' | head -1)
libc=$(ldconfig -p | awk '/libc.so.6 .*x86-64/ {print $NF; exit}')
perf probe -q -x "$libc" malloc 2>/dev/null || true
# The binaries link jemalloc (Sources/CJemalloc), which then serves malloc: count its calls too.
jemalloc=$(ldconfig -p | awk '/libjemalloc.so.2 .*x86-64/ {print $NF; exit}')
# By address: probed by name, `malloc` also matched libjemalloc's own `malloc@plt` entry, so a
# call jemalloc makes to malloc through its PLT counted twice.
jemalloc_malloc=$(nm -D --defined-only "$jemalloc" 2>/dev/null | awk '$3 == "malloc" {print $1; exit}')
if [ -n "$jemalloc_malloc" ]; then
  perf probe -q -d 'probe_jemalloc:*' 2>/dev/null || true
  perf probe -q -x "$jemalloc" -a "probe_jemalloc:jemalloc_malloc=0x$jemalloc_malloc" 2>/dev/null || true
else
  perf probe -q -x "$jemalloc" -a "probe_jemalloc:jemalloc_malloc=malloc" 2>/dev/null || true
fi
perf probe -q -x "$swift_core" swift_retain 2>/dev/null || true
perf probe -q -x "$swift_core" swift_release 2>/dev/null || true
perf probe -q -x "$swift_core" swift_beginAccess 2>/dev/null || true

source scripts/bench-lib.sh

pod=$(free_port); proxy=$(free_port)
if [ "$mode" = h2 ]; then pod_flags=(--h2c); else pod_flags=(); fi
"$meshsim" backend --listen "127.0.0.1:$pod" --name bench --threads 1 "${pod_flags[@]}" >"$work/pod.log" 2>&1 & pids+=($!)
write_pod_service "$work/mesh.yaml" "$pod" "$mode"
wait_port "$pod"
if [ -n "$floor" ]; then
  "$floor" "127.0.0.1:$proxy" "127.0.0.1:$pod" >"$work/floor.log" 2>&1 & mesh=$!; pids+=($mesh)
else
  "$meshsim" serve -f "$work/mesh.yaml" --listen "127.0.0.1:$proxy" --admin 127.0.0.1:0 --workers 1 --no-debug-headers \
    >"$work/mesh.log" 2>&1 & mesh=$!; pids+=($mesh)
fi
wait_port "$proxy"

drive() { # prints the number of requests answered
  if [ "$mode" = h2 ]; then
    h2load -n "$1" -c 10 -m 10 -H ":authority: bench.example:$pod" "http://127.0.0.1:$proxy/" | awk '/^requests:/ {print $8}'
  else
    wrk -t1 -c50 -d"$1"s -H "Host: bench.example:$pod" "http://127.0.0.1:$proxy/" | awk '/requests in/ {print $1}'
  fi
}
if [ "$mode" = h2 ]; then amount=30000; warm=5000; else amount=3; warm=1; fi
drive "$warm" >/dev/null
before=$(cpu_ticks "$mesh")
unprobed=$(drive "$amount")
after=$(cpu_ticks "$mesh")
cpu=$(awk -v n="$unprobed" -v t=$((after - before)) -v hz="$ticks_per_second" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
perf stat -x, -e probe_libc:malloc,probe_jemalloc:jemalloc_malloc,probe_libswiftCore:swift_retain,probe_libswiftCore:swift_release,probe_libswiftCore:swift_beginAccess,raw_syscalls:sys_enter \
  -p "$mesh" -o "$work/counts" & counter=$!
sleep 0.3
requests=$(drive "$amount")
kill -INT "$counter"; wait "$counter" 2>/dev/null || true
echo "$mode: ${floor:-$meshsim}"
awk -F, -v n="$requests" -v cpu="$cpu" -v u="$unprobed" '
  /malloc/ {m+=$1} /swift_retain/ {r=$1} /swift_release/ {l=$1} /sys_enter/ {s=$1} /beginAccess/ {b=$1}
  END {printf "per request: %.1f malloc, %.1f swift_retain, %.1f swift_release, %.2f syscalls, %.1f swift_beginAccess (over %d requests); CPU %s us (a run of %d without probes)\n", m/n, r/n, l/n, s/n, b/n, n, cpu, u}' "$work/counts"
