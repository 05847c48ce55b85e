#!/usr/bin/env bash
# The demo from a fresh checkout: the system packages, a build of meshsim, then `meshsim demo`
# with this script's arguments (scripts/demo.sh --fast, scripts/demo.sh --output json, …).
#
# Debug build by default. Measured on the 2-core development machine, from scratch:
# `swift build --product meshsim` (debug) 3m31s, `swift build -c release --product meshsim`
# 7m30s. Debug also reuses the .build/debug that `swift build --build-tests` leaves, so it is
# seconds after a test run; and the demo's 200 requests/s take under half a core in debug.
# MESHSIM_BUILD=release builds optimized instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
configuration="${MESHSIM_BUILD:-debug}"
case "$configuration" in
  debug|release) ;;
  *) echo "MESHSIM_BUILD must be debug or release, not $configuration" >&2; exit 2 ;;
esac
# Build output goes to stderr so that `--output json` leaves only JSON lines on stdout.
echo "building meshsim ($configuration)…" >&2
source scripts/release-flags.sh
if [ "$configuration" = release ]; then build_flags=("${release_build_flags[@]}"); else build_flags=(-c debug); fi
swift build "${build_flags[@]}" --product meshsim 1>&2
binary="$(swift build "${build_flags[@]}" --show-bin-path)/meshsim"
exec "$binary" demo "$@"
