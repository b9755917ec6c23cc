#!/usr/bin/env bash
# The mirror benchmark: lineage mirror sync vs huggingface_hub.snapshot_download from the same
# local upstream (two 1 GiB safetensors files), the cost of inline SHA-256 on the transfer
# path, and the scrub against openssl. Not a timed test; prints a Markdown table.
# Options go to Benchmarks/mirror_bench.py (--size BYTES, --repeat N, --dir DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product lineage
swift build -c release --product lineage-mirror-bench
exec python3 Benchmarks/mirror_bench.py "$@"
