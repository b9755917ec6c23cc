#!/usr/bin/env bash
# The lineage graph benchmark: a generated Hub-like lineage of N models (default 1,000,000),
# imported, queried and exported by lineage and by networkx in the same run, medians of
# REPEAT rounds (default 3) side by side with the ratio networkx / lineage.
#   bash scripts/bench-graph.sh [N] [REPEAT]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000000}
repeats=${2:-3}
bash scripts/setup.sh
swift build -c release --product lineage-graph-bench >&2
bench=$(swift build -c release --show-bin-path)/lineage-graph-bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bench" generate "$count" "$work/graph.tsv"
echo "graph: $count models, $(wc -c < "$work/graph.tsv") bytes of TSV; $(nproc) cores; medians of $repeats" >&2
"$bench" run "$work/graph.tsv" "$repeats" > "$work/lineage.json"
python3 Benchmarks/graph_networkx.py "$work/graph.tsv" "$repeats" > "$work/networkx.json"
python3 - "$work/lineage.json" "$work/networkx.json" <<'PY'
import json, statistics, sys
ours, theirs = (json.load(open(p)) for p in sys.argv[1:3])
print(f"nodes {ours['facts']['nodes']:,}  edges {ours['facts']['edges']:,}  "
      f"descendants of the largest root: lineage {ours['facts']['descendants']:,}, networkx {theirs['facts']['descendants']:,}")
print(f"| operation | lineage (s) | networkx (s) | networkx / lineage |")
print(f"|---|---:|---:|---:|")
for name, times in ours["seconds"].items():
    mine = statistics.median(times)
    other = theirs["seconds"].get(name)
    if other:
        ref = statistics.median(other)
        print(f"| {name} | {mine:.3f} | {ref:.3f} | {ref / mine:.1f}x |")
    else:
        print(f"| {name} | {mine:.3f} | - | - |")
print(f"| peak RSS (MB) | {ours['peak_rss_mb']:.0f} | {theirs['peak_rss_mb']:.0f} | {theirs['peak_rss_mb'] / ours['peak_rss_mb']:.1f}x |")
PY
