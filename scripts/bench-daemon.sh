#!/usr/bin/env bash
# The daemon's load benchmark: lineage daemon vs olah serving the same LFS files to 1, 4 and 16
# concurrent huggingface_hub clients, in one run (throughput, peak RSS, every byte checked).
# Not a timed test; prints a Markdown table. Options go to Benchmarks/daemon_bench.py
# (--files N, --size BYTES_PER_FILE, --clients 1,4,16, --repeat N, --dir DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product lineage
exec python3 Benchmarks/daemon_bench.py "$@"
