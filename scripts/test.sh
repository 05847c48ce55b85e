#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds, and runs every test (unit and end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build --build-tests
# One test at a time: Swift 6.3.1's Foundation on Linux can crash the test process when many
# tests launch child processes at once (Process.run reading /proc/self/fd, libdispatch sources);
# serially the whole suite still takes about two minutes.
swift test --skip-build --no-parallel "$@"
