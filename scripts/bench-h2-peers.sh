#!/usr/bin/env bash
# HTTP/2 proxying: h2load → proxy → one simulated h2c pod, with nghttpx (one worker) and with
# meshsim serve (one worker) as the proxy, in one run, plus the "codec floor": h2-relay-floor
# (Sources/h2-relay-floor), meshsim's HTTP/2 codec relaying each stream to the pod with no
# routing, rewriting or metrics, which shows what the codec and SwiftNIO cost by themselves.
# All three speak h2c to the pod. The load generator, the proxy and the pod share the machine's
# cores (2 here).
# Each round runs every proxy, in an order that rotates from round to round (proxies in the same
# round share the VM's phase, which moves single runs by ±20 %); the script prints every run,
# then each proxy's medians and the medians of the per-round ratios.
# Usage: [MESHSIM_BIN=/path/to/meshsim] scripts/bench-h2-peers.sh [requests] [clients] [streams-per-client] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-200000}
clients=${2:-10}
streams=${3:-10}
rounds=${4:-3}

source scripts/release-flags.sh
if [ "${CONFIG:-release}" = debug ]; then build_flags=(-c debug); else build_flags=("${release_build_flags[@]}"); fi
swift build "${build_flags[@]}" --product h2-relay-floor >&2
bin=$(swift build "${build_flags[@]}" --show-bin-path)
if [ -n "${MESHSIM_BIN:-}" ]; then
  meshsim=$MESHSIM_BIN  # measure another build of meshsim
else
  swift build "${build_flags[@]}" --product meshsim >&2
  meshsim=$bin/meshsim
fi

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

# The codec floor: each stream relayed to the pod over one h2c connection per client connection.
floor_port=$(free_port)
"$bin/h2-relay-floor" "127.0.0.1:$floor_port" "127.0.0.1:$pod_port" >"$work/floor.log" 2>&1 &
floor_pid=$!; pids+=("$floor_pid")
wait_port "$floor_port"

run() { # round name url pid [h2load options]
  local round=$1 name=$2 url=$3 pid=$4; shift 4
  local before after pod_before pod_after out
  before=$(cpu_ticks "$pid"); pod_before=$(cpu_ticks "$pod_pid")
  out=$(h2load -n "$requests" -c "$clients" -m "$streams" "$@" "$url")
  after=$(cpu_ticks "$pid"); pod_after=$(cpu_ticks "$pod_pid")
  local rps succeeded cpu pod
  rps=$(awk '/^finished in/ {gsub(/,/, "", $4); print $4}' <<<"$out")
  succeeded=$(awk '/^requests:/ {print $8}' <<<"$out")
  cpu=$(awk -v t=$((after - before)) -v hz="$ticks_per_second" -v n="$requests" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
  pod=$(awk -v t=$((pod_after - pod_before)) -v hz="$ticks_per_second" -v n="$requests" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
  printf '%-8s %10s req/s  %s of %s succeeded  proxy CPU %6s us/request  pod CPU %6s us/request\n' "$name" "$rps" "$succeeded" "$requests" "$cpu" "$pod"
  echo "$round $name $rps $cpu $pod" >>"$work/results"
}
echo "machine: $(nproc) cores shared by h2load, the proxy and the pod; 1 worker each"
echo "h2load -n $requests -c $clients -m $streams; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
run_nghttpx() { run "$1" nghttpx "http://127.0.0.1:$nghttpx_port/" "$nghttpx_worker"; }
run_meshsim() { run "$1" meshsim "http://127.0.0.1:$mesh_port/" "$mesh_pid" -H ":authority: bench.example:$pod_port"; }
run_floor() { run "$1" h2-floor "http://127.0.0.1:$floor_port/" "$floor_pid"; }
for round in $(seq 1 "$rounds"); do
  echo "round $round"
  case $((round % 3)) in
    1) run_nghttpx "$round"; run_meshsim "$round"; run_floor "$round" ;;
    2) run_meshsim "$round"; run_floor "$round"; run_nghttpx "$round" ;;
    0) run_floor "$round"; run_nghttpx "$round"; run_meshsim "$round" ;;
  esac
done

awk '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { rps[$1, $2] = $3; all_rps[$2] = all_rps[$2] " " $3; all_cpu[$2] = all_cpu[$2] " " $4; all_pod[$2] = all_pod[$2] " " $5; last = $1 }
  END {
    print "medians of " last " rounds:"
    split("nghttpx meshsim h2-floor", names, " ")
    for (k = 1; k <= 3; k++) { n = names[k]
      printf "%-8s %10.0f req/s  proxy CPU %6.2f us/request  pod CPU %6.2f us/request\n", n, median(all_rps[n]), median(all_cpu[n]), median(all_pod[n]) }
    split("meshsim/nghttpx meshsim/h2-floor h2-floor/nghttpx", pairs, " ")
    for (k = 1; k <= 3; k++) { split(pairs[k], pair, "/")
      list = ""
      for (r = 1; r <= last; r++) list = list sprintf(" %.2f", rps[r, pair[1]] / rps[r, pair[2]])
      printf "%-17s %.2f   (per round:%s)\n", pairs[k], median(list), list }
  }' "$work/results"
