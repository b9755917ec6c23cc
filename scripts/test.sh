#!/usr/bin/env bash
# Sets up what is missing, then builds and runs every test (unit, interop with dot, networkx,
# gguf-py, sqlite3, and the CLI as a process). One debug build configuration.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build --build-tests
swift test --skip-build
