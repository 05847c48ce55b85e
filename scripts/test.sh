#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds, and runs every test (unit and end-to-end),
# suites in parallel. Tests start child processes with MeshTestSupport's ChildProcess
# (posix_spawn), not Foundation's Process, which crashed under many concurrent launches.
# Arguments, if any, go to `swift test` (e.g. --filter Suite) in a single pass.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build --build-tests
if [ $# -gt 0 ]; then
  exec swift test --skip-build "$@"
fi
# Suites that measure this process's resident memory get a pass of their own: every other test
# runs in the same process, and its allocations would move the figure by hundreds of MiB.
exclusive='LargeUploadTests'
swift test --skip-build --skip "$exclusive"
swift test --skip-build --filter "$exclusive"
