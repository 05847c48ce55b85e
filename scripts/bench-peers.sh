#!/usr/bin/env bash
# HTTP/1.1 proxies compared in one run on one machine: meshsim, nginx and HAProxy in front of
# the same two backends (v1, v2: `meshsim backend`), each with the same routing (x-user-group:
# beta -> v2, otherwise 95/5 v1/v2), plus the backend direct and the "relay floor": a bare
# SwiftNIO byte relay (Sources/nio-relay-floor, one upstream connection per downstream
# connection, no HTTP work), which shows the cost SwiftNIO itself sets. wrk drives each in turn
# with the same connections and duration. Load generator, proxy and backends share this machine's
# cores, so read the ratios, not the absolute numbers; CPU time per request of each proxy process
# (user + system from /proc/PID/stat around its wrk run, divided by the requests it served; for
# nginx its worker process) depends less on what else runs.
#
# With ROUNDS > 1 every proxy runs once per round, in an order that rotates from round to round,
# and the summary gives each one's median req/s, p99 and CPU, and the median of the per-round
# ratios: two proxies measured in the same round share the VM's phase, which moves single runs
# by ±20 % here.
#
#   scripts/bench-peers.sh [DURATION_SECONDS=10] [CONNECTIONS=50] [ROUNDS=1]
#   MESHSIM_BIN=/path/to/meshsim scripts/bench-peers.sh ...   # measure another build of meshsim
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
connections=${2:-50}
rounds=${3:-1}

bash scripts/install-deps.sh
source scripts/release-flags.sh
swift build "${release_build_flags[@]}" --product meshsim >/dev/null
swift build "${release_build_flags[@]}" --product nio-relay-floor >/dev/null
bin=$(swift build "${release_build_flags[@]}" --show-bin-path)
meshsim=${MESHSIM_BIN:-$bin/meshsim}

source scripts/bench-lib.sh

v1=$(free_port); v2=$(free_port)
"$meshsim" backend --listen "127.0.0.1:$v1" --name reviews-v1 --version v1 >"$work/v1.log" 2>&1 & pids+=($!)
"$meshsim" backend --listen "127.0.0.1:$v2" --name reviews-v2 --version v2 >"$work/v2.log" 2>&1 & pids+=($!)
wait_port "$v1"; wait_port "$v2"

# meshsim: the backends as a ServiceEntry with labelled static endpoints.
mesh=$(free_port)
cat >"$work/mesh.yaml" <<YAML
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: reviews}
spec:
  hosts: [reviews.bench.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}]
  endpoints:
  - {address: 127.0.0.1, ports: {http: $v1}, labels: {version: v1}}
  - {address: 127.0.0.1, ports: {http: $v2}, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews.bench.local
  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews.bench.local]
  http:
  - match: [{headers: {x-user-group: {exact: beta}}}]
    route: [{destination: {host: reviews.bench.local, subset: v2}}]
  - route:
    - {destination: {host: reviews.bench.local, subset: v1}, weight: 95}
    - {destination: {host: reviews.bench.local, subset: v2}, weight: 5}
YAML
"$meshsim" serve -f "$work/mesh.yaml" --listen "127.0.0.1:$mesh" --admin 127.0.0.1:0 --workers 1 --no-debug-headers >"$work/mesh.log" 2>&1 & pids+=($!)
pid_meshsim=$!

# The relay floor: bytes to v1 on one event loop, no HTTP.
relay=$(free_port)
"$bin/nio-relay-floor" "127.0.0.1:$relay" "127.0.0.1:$v1" >"$work/relay.log" 2>&1 & pids+=($!)
pid_relay=$!

# nginx: split_clients on the request id for 95/5, a map for the header rule.
ngx=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  upstream v1 { server 127.0.0.1:$v1; keepalive 64; }
  upstream v2 { server 127.0.0.1:$v2; keepalive 64; }
  split_clients "\$request_id" \$split { 95% v1; * v2; }
  map \$http_x_user_group \$pool { beta v2; default \$split; }
  server {
    listen 127.0.0.1:$ngx;
    location / {
      proxy_pass http://\$pool;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
    }
  }
}
NGINX
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" -g 'daemon off;' 2>"$work/nginx/stderr" & pids+=($!)
pid_nginx_master=$!

# HAProxy: weighted servers 95/5 in one backend, an ACL for the header rule.
hap=$(free_port)
cat >"$work/haproxy.cfg" <<HAP
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend fe
  bind 127.0.0.1:$hap
  acl beta req.hdr(x-user-group) -m str beta
  use_backend v2 if beta
  default_backend split
backend split
  balance roundrobin
  http-reuse always
  server v1 127.0.0.1:$v1 weight 95
  server v2 127.0.0.1:$v2 weight 5
backend v2
  http-reuse always
  server v2 127.0.0.1:$v2
HAP
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 & pids+=($!)
pid_haproxy=$!

wait_port "$mesh"; wait_port "$ngx"; wait_port "$hap"; wait_port "$relay"
# nginx serves from its worker process, the master's child.
pid_nginx=$(pgrep -P "$pid_nginx_master" | head -n1)
pid_direct=${pids[0]}

run() { # round name port host pid
  local out before after user_before user_after
  before=$(cpu_ticks "$5"); user_before=$(user_ticks "$5")
  out=$(wrk -t1 -c"$connections" -d"${duration}s" --latency -H "Host: $4" "http://127.0.0.1:$3/" 2>&1)
  after=$(cpu_ticks "$5"); user_after=$(user_ticks "$5")
  local rps p99 p99_ms errors requests cpu user
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  p99_ms=$(awk '$1=="99%" { v=$2; u=v; sub(/[a-z]+$/, "", v); sub(/^[0-9.]+/, "", u);
    printf "%.3f", (u=="us" ? v/1000 : (u=="s" ? v*1000 : v)) }' <<<"$out")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')
  cpu=$(awk -v t=$((after - before)) -v hz="$ticks_per_second" -v n="$requests" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
  user=$(awk -v t=$((user_after - user_before)) -v hz="$ticks_per_second" -v n="$requests" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
  printf '%-11s %12s req/s   p99 %-9s cpu %6s us/request (user %5s)  %s\n' "$2" "$rps" "$p99" "$cpu" "$user" "$errors"
  echo "$1 $2 $rps $p99_ms $cpu $user" >>"$work/results"
}

names=(direct meshsim nginx haproxy relay-floor)
ports=("$v1" "$mesh" "$ngx" "$hap" "$relay")
cpu_pids=("$pid_direct" "$pid_meshsim" "$pid_nginx" "$pid_haproxy" "$pid_relay")
echo "wrk -t1 -c$connections -d${duration}s, keep-alive; 1 worker each; all on $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$rounds"); do
  [ "$rounds" -gt 1 ] && echo "round $round"
  for step in "${!names[@]}"; do
    i=$(( (step + round - 1) % ${#names[@]} ))
    run "$round" "${names[$i]}" "${ports[$i]}" reviews.bench.local "${cpu_pids[$i]}"
  done
done

# Medians of each proxy's figures, and medians of the per-round ratios.
awk -v rounds="$rounds" '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { rps[$1, $2] = $3; all_rps[$2] = all_rps[$2] " " $3; all_p99[$2] = all_p99[$2] " " $4
    all_cpu[$2] = all_cpu[$2] " " $5; all_user[$2] = all_user[$2] " " $6 }
  END {
    if (rounds > 1) {
      print "medians of " rounds " rounds:"
      split("direct meshsim nginx haproxy relay-floor", names, " ")
      for (k = 1; k <= 5; k++) { n = names[k]
        printf "%-11s %12.2f req/s   p99 %.2fms    cpu %6.1f us/request (user %5.1f)\n", n, median(all_rps[n]), median(all_p99[n]), median(all_cpu[n]), median(all_user[n]) }
    }
    split("meshsim/nginx meshsim/haproxy meshsim/relay-floor nginx/relay-floor", pairs, " ")
    for (k = 1; k <= 4; k++) { split(pairs[k], ab, "/"); list = ""
      for (r = 1; r <= rounds; r++) list = list sprintf(" %.2f", rps[r, ab[1]] / rps[r, ab[2]])
      printf "%-20s %.2f%s\n", pairs[k], median(list), (rounds > 1 ? "   (per round:" list ")" : "") }
  }' "$work/results"
