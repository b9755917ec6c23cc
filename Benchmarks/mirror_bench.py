#!/usr/bin/env python3
"""The mirror benchmark (scripts/bench-mirror.sh runs it; not a timed test).

In one run, side by side, on the same files in the page cache:
  1. `lineage mirror sync` (release build) of a repo with two 1 GiB safetensors files from a
     local HTTP upstream (Tests/Scripts/fault_hub.py, no faults: sendfile), against
     huggingface_hub.snapshot_download from the same upstream. Wall time, GB/s, peak RSS.
  2. The hashing overhead: the same transfers through the mirror's own transfer path
     (lineage-mirror-bench: HTTPDownloader -> StagedTransfer) with and without inline SHA-256.
  3. The scrub (`lineage mirror verify`) with 1 and 2 workers against `openssl dgst -sha256`
     on the same files, one process and two in parallel.
Medians of --repeat runs. Prints a Markdown table.
"""
import argparse
import hashlib
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GIB = 1 << 30


def timed(cmd, env=None, cwd=None):
    """Runs cmd under GNU time; returns (seconds, peak RSS in MiB, stdout)."""
    with tempfile.NamedTemporaryFile("r") as report:
        start = time.perf_counter()
        result = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report.name] + cmd, env=env, cwd=cwd,
                                capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit("benchmark step failed: %s\n%s\n%s" % (" ".join(cmd), result.stdout, result.stderr))
        rss_kib = int(report.read().strip().splitlines()[-1])
    return seconds, rss_kib / 1024, result.stdout


def make_safetensors(path, size, seed):
    """A valid safetensors file of `size` bytes: one U8 tensor over pseudo-random bytes."""
    if os.path.exists(path) and os.path.getsize(path) == size:
        return
    header = b""
    for _ in range(3):  # the header's own length changes the tensor's
        data = size - 8 - len(header)
        header = json.dumps({"w": {"dtype": "U8", "shape": [data], "data_offsets": [0, data]}}).encode()
        header += b" " * (-len(header) % 8)
    data = size - 8 - len(header)
    block = os.urandom(64 << 20) if seed else b""
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
        written = 0
        while written < data:
            chunk = block[: min(len(block), data - written)]
            # Vary each block so no two blocks of the file are equal.
            chunk = written.to_bytes(8, "little") + chunk[8:]
            f.write(chunk)
            written += len(chunk)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "lineage-mirror-bench"))
    parser.add_argument("--size", type=int, default=GIB, help="bytes per safetensors file")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build/release"))
    args = parser.parse_args()
    lineage = os.path.join(args.bin, "lineage")
    bench = os.path.join(args.bin, "lineage-mirror-bench")
    os.makedirs(args.dir, exist_ok=True)
    files = [os.path.join(args.dir, "model-0000%d-of-00002.safetensors" % i) for i in (1, 2)]
    for i, path in enumerate(files):
        make_safetensors(path, args.size, seed=i + 1)
    config = os.path.join(args.dir, "config.json")
    with open(config, "w") as f:
        json.dump({"architectures": ["LlamaForCausalLM"], "model_type": "llama"}, f)
    commit = "b" * 40
    manifest = os.path.join(args.dir, "manifest.json")
    with open(manifest, "w") as f:
        json.dump({"repos": {"bench/two-gib": {"commit": commit, "files": [
            {"path": "config.json", "content": config, "lfs": False},
            {"path": os.path.basename(files[0]), "content": files[0], "lfs": True},
            {"path": os.path.basename(files[1]), "content": files[1], "lfs": True}]}}}, f)
    faults = os.path.join(args.dir, "faults.json")
    with open(faults, "w") as f:
        f.write("{}")
    port_file = os.path.join(args.dir, "port")
    if os.path.exists(port_file):
        os.unlink(port_file)
    server = subprocess.Popen([sys.executable, os.path.join(ROOT, "Tests/Scripts/fault_hub.py"), "--manifest", manifest,
                               "--faults", faults, "--log", os.devnull, "--port-file", port_file])
    try:
        for _ in range(600):  # hashing 2 GiB for the manifest takes a few seconds
            if os.path.exists(port_file):
                break
            time.sleep(0.1)
        endpoint = "http://127.0.0.1:%s" % open(port_file).read().strip()
        total = sum(os.path.getsize(p) for p in files) + os.path.getsize(config)
        rows = {}

        def run_lineage_sync():
            store = os.path.join(args.dir, "store")
            shutil.rmtree(store, ignore_errors=True)
            env = dict(os.environ, LINEAGE_STORE=store, LINEAGE_CATALOG="")
            subprocess.run([lineage, "mirror", "add", "bench/two-gib", "--endpoint", endpoint], env=env, check=True,
                           capture_output=True)
            return timed([lineage, "mirror", "sync", "bench/two-gib"], env=env)

        def run_snapshot_download():
            cache = os.path.join(args.dir, "hf-cache")
            shutil.rmtree(cache, ignore_errors=True)
            env = dict(os.environ, HF_ENDPOINT=endpoint, HF_HUB_CACHE=cache, HF_HUB_DISABLE_PROGRESS_BARS="1",
                       HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_ENABLE_HF_TRANSFER="0")
            return timed([sys.executable, "-c", "from huggingface_hub import snapshot_download; "
                          "snapshot_download('bench/two-gib')"], env=env)

        mirror, hub = [], []
        for _ in range(args.repeat):  # interleaved, so drift hits both alike
            mirror.append(run_lineage_sync())
            hub.append(run_snapshot_download())
        shutil.rmtree(os.path.join(args.dir, "hf-cache"), ignore_errors=True)
        rows["mirror"] = mirror
        rows["hub"] = hub

        urls = ["%s/bench/two-gib/resolve/%s/%s" % (endpoint, commit, os.path.basename(p)) for p in files]
        hashed, plain = [], []
        # On tmpfs when it has room: the disk would otherwise bound both runs and hide what
        # the digest costs in CPU.
        shm = "/dev/shm"
        room = shutil.disk_usage(shm).free if os.path.isdir(shm) else 0
        transfer_dir = os.path.join(shm, "lineage-mirror-bench") if room > 2 * args.size + (256 << 20) else args.dir
        rows["transfer_dir"] = transfer_dir
        for _ in range(args.repeat):
            out = os.path.join(transfer_dir, "transfer")
            for flag, sink in (([], hashed), (["--no-hash"], plain)):
                seconds, rss, stdout = timed([bench, "transfer", "--out", out] + flag + urls)
                sink.append((json.loads(stdout)["seconds"], rss))
            shutil.rmtree(out, ignore_errors=True)

        store = os.path.join(args.dir, "store")
        env = dict(os.environ, LINEAGE_STORE=store, LINEAGE_CATALOG="")
        # The scrub and openssl hash the same files: the two blobs in the store, read once
        # first so that both find them in the page cache (the sync leaves them on disk only).
        blobs = []
        for path in files:
            with open(path, "rb") as f:
                digest = hashlib.sha256()
                for chunk in iter(lambda: f.read(8 << 20), b""):
                    digest.update(chunk)
            hexdigest = digest.hexdigest()
            blobs.append(os.path.join(store, "blobs/sha256", hexdigest[:2], hexdigest[2:4], hexdigest))
        for blob in blobs:
            subprocess.run(["cat", blob], stdout=subprocess.DEVNULL, check=True)
        scrub = {1: [], 2: []}
        openssl_one, openssl_two = [], []
        for _ in range(args.repeat):
            for workers in (1, 2):
                seconds, rss, _ = timed([lineage, "mirror", "verify", "--workers", str(workers)], env=env)
                scrub[workers].append((seconds, rss))
            start = time.perf_counter()
            subprocess.run(["openssl", "dgst", "-sha256", blobs[0]], check=True, capture_output=True)
            openssl_one.append(time.perf_counter() - start)
            start = time.perf_counter()
            procs = [subprocess.Popen(["openssl", "dgst", "-sha256", p], stdout=subprocess.DEVNULL) for p in blobs]
            for p in procs:
                p.wait()
            openssl_two.append(time.perf_counter() - start)
    finally:
        server.kill()
        server.wait()

    gb = 1e9
    med = statistics.median
    one_file = os.path.getsize(files[0])
    lines = ["| measurement | seconds (median of %d) | GB/s | peak RSS MiB |" % args.repeat, "|---|---|---|---|"]

    def row(name, runs, size):
        seconds = med(r[0] for r in runs)
        lines.append("| %s | %.2f | %.2f | %.0f |" % (name, seconds, size / seconds / gb, max(r[1] for r in runs)))
        return size / seconds / gb

    m = row("`lineage mirror sync` (2 x %.2f GiB, every byte SHA-256-verified)" % (args.size / GIB), rows["mirror"], total)
    h = row("huggingface_hub `snapshot_download` (size check only)", rows["hub"], total)
    where = "tmpfs" if rows["transfer_dir"].startswith("/dev/shm") else "disk"
    t_hash = row("transfer path (HTTPDownloader -> StagedTransfer, to %s) with inline SHA-256" % where, hashed, 2 * one_file)
    t_plain = row("same transfer path without hashing", plain, 2 * one_file)
    s1 = row("scrub `lineage mirror verify --workers 1`", scrub[1], 2 * one_file)
    s2 = row("scrub `lineage mirror verify --workers 2`", scrub[2], 2 * one_file)
    o1 = one_file / med(openssl_one) / gb
    o2 = 2 * one_file / med(openssl_two) / gb
    lines.append("| `openssl dgst -sha256`, one of the same store files | %.2f | %.2f | - |" % (med(openssl_one), o1))
    lines.append("| `openssl dgst -sha256`, both store files in parallel | %.2f | %.2f | - |" % (med(openssl_two), o2))
    lines.append("")
    lines.append("- mirror / snapshot_download throughput: %.2fx (target >= 1)" % (m / h))
    lines.append("- inline hashing cost on the transfer path: %.1f%% (target < 5%%)" % (100 * (1 - t_hash / t_plain)))
    lines.append("- scrub per core vs openssl: %.0f%% (target >= 90%%); 2 workers vs 1: %.2fx (openssl: %.2fx)"
                 % (100 * s1 / o1, s2 / s1, o2 / o1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
