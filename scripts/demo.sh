#!/usr/bin/env bash
# README's first command: installs what meshsim needs, builds it, and runs `meshsim demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release --product meshsim
exec "$(swift build -c release --show-bin-path)/meshsim" demo "$@"
