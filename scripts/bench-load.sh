#!/usr/bin/env bash
# Closed-loop throughput of `meshsim load` against wrk: the same nginx (one worker, a static
# 200 on 127.0.0.1), the same connections, threads and duration, one run each on the same machine.
# Both are release builds; generator and server share the machine's cores.
#
#   scripts/bench-load.sh [connections=50] [seconds=10] [threads=2]
set -euo pipefail
cd "$(dirname "$0")/.."
connections=${1:-50}
seconds=${2:-10}
threads=${3:-2}

bash scripts/install-deps.sh
source scripts/release-flags.sh
swift build "${release_build_flags[@]}" --product meshsim >/dev/null
meshsim=$(swift build "${release_build_flags[@]}" --show-bin-path)/meshsim

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
error_log $dir/error.log;
pid $dir/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:$port;
    location / { add_header x-meshsim-destination "bench.default.svc.cluster.local|v1"; return 200 "ok\n"; }
  }
}
CONF
nginx -c "$dir/nginx.conf" -p "$dir" &
nginx_pid=$!
trap 'kill "$nginx_pid" 2>/dev/null; wait "$nginx_pid" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/" >/dev/null 2>&1 && break
  sleep 0.1
done

url="http://127.0.0.1:$port/"
echo "nginx (1 worker) on $url; $connections connections, $threads threads, ${seconds}s each; $(nproc) cores shared by generator and server"
# One run each. CPU seconds (user+sys) per request are printed too: they are steadier than req/s
# on a machine shared with other work.
/usr/bin/time -f "%U %S" -o "$dir/wrk.time" wrk -t"$threads" -c"$connections" -d"${seconds}s" "$url" >"$dir/wrk.out"
/usr/bin/time -f "%U %S" -o "$dir/meshsim.time" "$meshsim" load "$url" --concurrency "$connections" --threads "$threads" \
  --duration "${seconds}s" --quiet --output json >"$dir/meshsim.json"
python3 - "$dir" <<'PY'
import json, re, sys
d = sys.argv[1]
wrk = open(f"{d}/wrk.out").read()
wrk_rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", wrk).group(1))
wrk_requests = int(re.search(r"([0-9]+) requests in", wrk).group(1))
report = json.load(open(f"{d}/meshsim.json"))
ms_rps, ms_requests = report["requestsPerSecond"], report["completed"]
def cpu(name):
    user, system = map(float, open(f"{d}/{name}.time").read().split()[-2:])
    return user, system
for name, rps, requests in (("wrk", wrk_rps, wrk_requests), ("meshsim load", ms_rps, ms_requests)):
    user, system = cpu("wrk" if name == "wrk" else "meshsim")
    print(f"{name:13} {rps:10.0f} req/s  {requests} requests  cpu {user:.2f}s user + {system:.2f}s sys"
          f" = {(user + system) / requests * 1e6:.1f} us/request")
print(f"ratio meshsim/wrk (req/s): {ms_rps / wrk_rps:.2f}")
PY
