#!/usr/bin/env bash
# Installs the Debian packages meshsim builds, tests and benchmarks with (once; later runs are quick).
set -euo pipefail

packages=(
  pkg-config libre2-dev libnghttp2-dev   # build: RE2 (Istio's regex engine), nghttp2 (HTTP/2 codec)
  libjemalloc-dev                        # build: the binaries' malloc (Sources/CJemalloc)
  curl wrk nghttp2-client nghttp2-server # real clients and an h2c peer in end-to-end tests
  python3-grpcio                         # a real gRPC client and server (gRPC's C core) in end-to-end tests
  nginx-light haproxy nghttp2-proxy      # peers for the performance comparisons
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The distro's nginx and haproxy services are not wanted; tests start their own on 127.0.0.1:0.
for svc in nginx haproxy; do
  command -v systemctl >/dev/null 2>&1 && $sudo systemctl disable --now "$svc" >/dev/null 2>&1 || true
  command -v service >/dev/null 2>&1 && $sudo service "$svc" stop >/dev/null 2>&1 || true
done
exit 0
