#!/usr/bin/env bash
# The lineage graph benchmark: a generated Hub-like lineage of N models (default 1,000,000),
# imported, queried and exported by lineage and by networkx in the same run, medians of
# REPEAT rounds (default 3) side by side with the ratio networkx / lineage. The DOT both write
# is compared byte for byte.
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
LINEAGE_BENCH_DOT="$work/lineage.dot" "$bench" run "$work/graph.tsv" "$repeats" > "$work/lineage.json"
python3 Benchmarks/graph_networkx.py "$work/graph.tsv" "$repeats" "$work/networkx.dot" > "$work/networkx.json"
python3 - "$work/lineage.json" "$work/networkx.json" "$work/lineage.dot" "$work/networkx.dot" <<'PY'
import filecmp, json, os, statistics, sys
ours, theirs = (json.load(open(p)) for p in sys.argv[1:3])
same = filecmp.cmp(sys.argv[3], sys.argv[4], shallow=False)
print(f"DOT: lineage's and the Python writer's documents are {'identical' if same else 'DIFFERENT'} "
      f"({os.path.getsize(sys.argv[3]):,} and {os.path.getsize(sys.argv[4]):,} bytes)")
print(f"nodes {ours['facts']['nodes']:,}  edges {ours['facts']['edges']:,}  "
      f"descendants of the largest root: lineage {ours['facts']['descendants']:,}, networkx {theirs['facts']['descendants']:,}")
print("| operation | lineage wall s | networkx wall s | ratio (wall) | lineage CPU s | networkx CPU s | ratio (CPU) |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name, times in ours["seconds"].items():
    wall, cpu = statistics.median(times), statistics.median(ours["cpu_seconds"][name])
    if name in theirs["seconds"]:
        other_wall = statistics.median(theirs["seconds"][name])
        other_cpu = statistics.median(theirs["cpu_seconds"][name])
        print(f"| {name} | {wall:.3f} | {other_wall:.3f} | {other_wall / wall:.1f}x | {cpu:.3f} | {other_cpu:.3f} | {other_cpu / cpu:.1f}x |")
    else:
        print(f"| {name} | {wall:.3f} | - | - | {cpu:.3f} | - | - |")
    # The same lineage DOT export against a simpler Python document and networkx's own writer.
    for other in ("export DOT, one plain line per node and edge", "export DOT with networkx's write_dot (pydot, 1 run)"):
        if name == "export DOT to a file" and other in theirs["seconds"]:
            other_wall = statistics.median(theirs["seconds"][other])
            other_cpu = statistics.median(theirs["cpu_seconds"][other])
            print(f"| {other} | {wall:.3f} | {other_wall:.3f} | {other_wall / wall:.1f}x | {cpu:.3f} | {other_cpu:.3f} | {other_cpu / cpu:.1f}x |")
print(f"| peak RSS (MB) | {ours['peak_rss_mb']:.0f} | {theirs['peak_rss_mb']:.0f} | | | | |")
PY
