#!/usr/bin/env bash
# The quantization benchmark: a Llama-2-7B-shaped checkpoint (the 32000 x 4096 embeddings, the
# output and 2 of the 32 blocks; 2.67 GB of F32 safetensors) quantized per preset by lineage
# (from the safetensors) and by llama.cpp's own llama_model_quantize (from the same weights as
# an F32 GGUF), each with 1 and 2 threads, and by gguf-py's NumPy quantizers for Q8_0 and
# Q4_0, in one run: input GB/s (medians of REPEAT rounds), the ratio, peak RSS, and whether
# lineage's file is byte-identical to llama.cpp's. Every measurement is a process of its own.
#   bash scripts/bench-quantize.sh [REPEAT] [PRESET...]     (default: 3 Q8_0 Q4_0 Q4_K_M Q6_K)
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
shift || true
presets=("$@")
if ((${#presets[@]} == 0)); then presets=(Q8_0 Q4_0 Q4_K_M Q6_K); fi
bash scripts/setup.sh
swift build -c release --product lineage-quantize-bench >&2
bench=$(swift build -c release --show-bin-path)/lineage-quantize-bench
reference="python3 Benchmarks/quantize_reference.py"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "generating the checkpoint in $work ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))" >&2
"$bench" generate "$work/ckpt" Tests/ModelConversionTests/Fixtures/tokenizer.model 2>/dev/null
"$bench" run "$work/ckpt" F32 2 "$work/model-f32.gguf" >/dev/null
results="$work/results.jsonl"
: > "$results"

ftype() {
  case $1 in
    F16) echo 1;; Q4_0) echo 2;; Q4_1) echo 3;; Q8_0) echo 7;; Q5_0) echo 8;; Q5_1) echo 9;; Q2_K) echo 10;;
    Q3_K_S) echo 11;; Q3_K_M) echo 12;; Q3_K_L) echo 13;; Q4_K_S) echo 14;; Q4_K_M) echo 15;; Q5_K_S) echo 16;;
    Q5_K_M) echo 17;; Q6_K) echo 18;; BF16) echo 32;; *) echo "no llama_ftype for $1" >&2; exit 1;;
  esac
}
record() {  # preset tool threads round identical json
  python3 -c 'import json,sys; r=json.loads(sys.argv[6]); r.update(preset=sys.argv[1], tool=sys.argv[2], threads=int(sys.argv[3]), round=int(sys.argv[4]), identical=sys.argv[5]); print(json.dumps(r))' "$@" >> "$results"
}

for ((round = 1; round <= repeats; round++)); do
  for preset in "${presets[@]}"; do
    for threads in 1 2; do
      # Both inputs warm in the page cache, as they would be for the second of two runs.
      cat "$work/ckpt/model.safetensors" "$work/model-f32.gguf" > /dev/null
      echo "round $round/$repeats: $preset, $threads thread(s)" >&2
      ours=$("$bench" run "$work/ckpt" "$preset" "$threads" "$work/ours.gguf")
      theirs=$($reference llama "$work/model-f32.gguf" "$(ftype "$preset")" "$threads" "$work/llama.gguf" 2>/dev/null)
      same=no
      cmp -s "$work/ours.gguf" "$work/llama.gguf" && same=yes
      rm -f "$work/ours.gguf" "$work/llama.gguf"
      record "$preset" lineage "$threads" "$round" "$same" "$ours"
      record "$preset" llama.cpp "$threads" "$round" "$same" "$theirs"
    done
    if [[ $preset == Q8_0 || $preset == Q4_0 ]]; then
      numpy=$($reference numpy "$work/model-f32.gguf" "$preset" "$work/numpy.bin")
      rm -f "$work/numpy.bin"
      record "$preset" gguf-py 1 "$round" "-" "$numpy"
    fi
  done
done

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
# The same weights for everyone: the checkpoint's tensor bytes.
data = max(r["input_bytes"] for r in rows if r["tool"] == "lineage")
def stats(tool, preset, threads):
    rs = [r for r in rows if (r["tool"], r["preset"], r["threads"]) == (tool, preset, threads)]
    if not rs:
        return None
    return {"gbs": data / statistics.median(r["seconds"] for r in rs) / 1e9,
            "rss": max(r["peak_rss_mb"] for r in rs), "n": len(rs), "identical": {r["identical"] for r in rs}}
presets = list(dict.fromkeys(r["preset"] for r in rows))
print(f"input: {data / 1e9:.2f} GB of F32 weights (Llama-2-7B shapes: embeddings, output, 2 blocks); input GB/s, medians of {max(r['round'] for r in rows)}")
print("| preset | threads | lineage GB/s | llama.cpp GB/s | lineage / llama.cpp | gguf-py NumPy GB/s | lineage / NumPy | lineage peak RSS (MB) | llama.cpp peak RSS (MB) | byte-identical |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for preset in presets:
    for threads in (1, 2):
        ours, theirs = stats("lineage", preset, threads), stats("llama.cpp", preset, threads)
        numpy = stats("gguf-py", preset, 1) if threads == 1 else None
        numpy_cells = f"{numpy['gbs']:.3f} | {ours['gbs'] / numpy['gbs']:.1f}x" if numpy else "- | -"
        same = "yes" if ours["identical"] == {"yes"} else "NO"
        print(f"| {preset} | {threads} | {ours['gbs']:.3f} | {theirs['gbs']:.3f} | {ours['gbs'] / theirs['gbs']:.2f}x | "
              f"{numpy_cells} | {ours['rss']:.0f} | {theirs['rss']:.0f} | {same} |")
PY
