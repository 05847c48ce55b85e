# Shared by the bench-*.sh scripts (source it, after `set -euo pipefail`): a work directory and
# the processes started in it, stopped on exit; free loopback ports; waiting for a listener;
# the one-pod ServiceEntry and the nghttpx peer the HTTP/2 comparisons put in front of it.

work=$(mktemp -d)
pids=()
bench_cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap bench_cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# wait_port PORT: until something accepts on 127.0.0.1:PORT, at most 10 s.
wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listening on 127.0.0.1:$1" >&2; return 1
}

ticks_per_second=$(getconf CLK_TCK)
# cpu_ticks PID: user + system time of a process so far, in clock ticks (fields counted after the
# command name, which may hold spaces).
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
# user_ticks PID: the user-space part of cpu_ticks (the rest is the kernel's: syscalls, loopback TCP).
user_ticks() { awk '{ sub(/^.*\) /, ""); print $12 }' "/proc/$1/stat"; }

# write_pod_service FILE POD_PORT h1|h2: the ServiceEntry `bench.example` with one endpoint, the
# pod on 127.0.0.1:POD_PORT, spoken to over HTTP/1.1 or h2c.
write_pod_service() {
  local protocol=HTTP name=http
  if [ "$3" = h2 ]; then protocol=HTTP2; name=http2; fi
  cat >"$1" <<YAML
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: bench, namespace: default}
spec:
  hosts: [bench.example]
  ports: [{number: $2, name: $name, protocol: $protocol}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
YAML
}

# start_nghttpx POD_PORT: nghttpx with one worker, cleartext h2c in front, h2 (prior knowledge)
# to the pod, no access log (its default and meshsim's: a log line per request is a write each). Sets nghttpx_port and nghttpx_worker (the process doing the proxying).
# --conf=/dev/null: Debian's /etc/nghttpx/nghttpx.conf adds a frontend on 127.0.0.1:3000, so a
# second nghttpx (or anything else on port 3000) would make it exit.
start_nghttpx() {
  nghttpx_port=$(free_port)
  nghttpx -f"127.0.0.1,$nghttpx_port;no-tls" -b"127.0.0.1,$1;;proto=h2" --conf=/dev/null -n1 --no-ocsp \
    --errorlog-file="$work/nghttpx.err" >"$work/nghttpx.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  wait_port "$nghttpx_port"
  nghttpx_worker=$(pgrep -P "$pid" | head -1 || true)
  nghttpx_worker=${nghttpx_worker:-$pid}
}

# summarize_build_rounds FILE: the lines "round N  NAME  RPS req/s  CPU us CPU per request ... pod POD us"
# of bench-h1-builds.sh / bench-h2-builds.sh, summed up per NAME: median and lowest CPU, median
# req/s and median pod CPU.
summarize_build_rounds() {
  awk '{cpu[$3] = cpu[$3] " " $6; rps[$3] = rps[$3] " " $4; pod[$3] = pod[$3] " " $(NF - 1)}
  END {for (name in cpu) print name, cpu[name], "|", rps[name], "|", pod[name]}' "$1" | python3 -c '
import statistics, sys
for line in sys.stdin:
    name, rest = line.split(None, 1)
    cpu, rps, pod = rest.split("|")
    cpu = [float(x) for x in cpu.split()]; rps = [float(x) for x in rps.split()]; pod = [float(x) for x in pod.split()]
    print(f"{name:40s} CPU per request median {statistics.median(cpu):.2f} us, lowest {min(cpu):.2f} us; median {statistics.median(rps):,.0f} req/s; pod median {statistics.median(pod):.2f} us")'
}
