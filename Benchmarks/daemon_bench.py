#!/usr/bin/env python3
"""The daemon's load benchmark: the same LFS files served by `lineage daemon` (from its
verified store) and by olah (offline, from its mirrors-path), downloaded by N concurrent
huggingface_hub clients (hf_hub_download, one file after another, each client with a cache
of its own on tmpfs), N = 1, 4, 16, in one run. Reports throughput (MB/s over the wall time
from "go" to the last byte, median of --repeat runs), peak RSS of each server while it
served that N (VmHWM, reset before each N), the ratio lineage / olah, and checks every byte
every client got against the SHA-256 of the file made here.

The upstream is a git + git-lfs working copy (olah's mirrors-path layout); lineage mirrors
it from olah itself (`lineage mirror sync` with HF_ENDPOINT at olah), so both serve the same
commit and bytes. Not a timed test.

Usage: daemon_bench.py [--files 4] [--size BYTES_PER_FILE] [--clients 1,4,16] [--repeat 3]
                       [--dir DIR] [--lineage PATH]
"""
import argparse
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

REPO = "bench/daemon-load"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, **kw):
    result = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if result.returncode != 0:
        sys.exit(f"daemon_bench: {' '.join(cmd)} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result.stdout


def make_upstream(mirrors, files, size):
    """A working copy at <mirrors>/models/bench/daemon-load with every *.bin in LFS."""
    work = os.path.join(mirrors, "models", REPO)
    os.makedirs(work)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    run(git + ["init", "-q", "-b", "main"], cwd=work)
    run(["git", "lfs", "install", "--local"], cwd=work)
    run(["git", "lfs", "track", "*.bin"], cwd=work)
    digests = {}
    for index in range(files):
        name = f"shard-{index:02d}.bin"
        h = hashlib.sha256()
        with open(os.path.join(work, name), "wb") as f:
            left = size
            while left:
                chunk = os.urandom(min(left, 1 << 22))
                h.update(chunk)
                f.write(chunk)
                left -= len(chunk)
        digests[name] = h.hexdigest()
    with open(os.path.join(work, "config.json"), "w") as f:
        f.write('{"model_type": "llama"}\n')
    digests["config.json"] = hashlib.sha256(b'{"model_type": "llama"}\n').hexdigest()
    run(["git", "add", "-A"], cwd=work)
    run(git + ["commit", "-q", "-m", "bench"], cwd=work)
    return digests


def wait_http(url, seconds=60):
    import urllib.request
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            time.sleep(0.2)
    sys.exit(f"daemon_bench: {url} did not answer")


def process_tree(pid):
    pids = [pid]
    for p in list(pids):
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    pids += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return pids


def reset_peak(pid):
    # "5" resets the peak resident set size (VmHWM) of the process (proc(5), clear_refs).
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass


def peak_mib(pid):
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


CLIENT = r"""
import hashlib, json, os, sys, time
from huggingface_hub import hf_hub_download
names = json.loads(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
start = time.monotonic()
paths = {n: hf_hub_download(repo_id=%r, filename=n) for n in names}
end = time.monotonic()
print(json.dumps({"start": start, "end": end}), flush=True)
digests = {}
for n, p in paths.items():
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    digests[n] = h.hexdigest()
print(json.dumps(digests), flush=True)
""" % REPO


def one_run(endpoint, clients, digests, scratch, payload):
    """N clients at once; returns (wall seconds from go to the last byte, bytes moved)."""
    names = sorted(digests)
    procs = []
    for index in range(clients):
        cache = os.path.join(scratch, f"client-{index}")
        env = dict(os.environ, HF_ENDPOINT=endpoint, HF_HUB_CACHE=cache, HF_HUB_DISABLE_TELEMETRY="1",
                   HF_HUB_DISABLE_PROGRESS_BARS="1", HF_HUB_ETAG_TIMEOUT="30", HF_HUB_DOWNLOAD_TIMEOUT="120")
        env.pop("HF_TOKEN", None)
        env.pop("HF_HUB_OFFLINE", None)
        # Different orders, so the clients do not all read the same file at the same moment.
        order = names[index % len(names):] + names[:index % len(names)]
        procs.append(subprocess.Popen([sys.executable, "-c", CLIENT, json.dumps(order)], env=env,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for p in procs:
        if p.stdout.readline().strip() != "ready":
            sys.exit(f"daemon_bench: a client did not start: {p.stderr.read()[-2000:]}")
    go = time.monotonic()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    ends = []
    for p in procs:
        line = p.stdout.readline()
        if not line:
            sys.exit(f"daemon_bench: a client failed against {endpoint}: {p.stderr.read()[-3000:]}")
        ends.append(json.loads(line)["end"])
    wall = max(ends) - go
    for p in procs:
        got = json.loads(p.stdout.readline())
        p.wait()
        if got != digests:
            bad = [n for n in digests if got.get(n) != digests[n]]
            sys.exit(f"daemon_bench: wrong bytes from {endpoint}: {bad}")
    for index in range(clients):
        shutil.rmtree(os.path.join(scratch, f"client-{index}"), ignore_errors=True)
    return wall, payload * clients


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--size", type=int, default=64 << 20, help="bytes per LFS file (default 64 MiB)")
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default=None, help="scratch directory (default: a new one under /tmp)")
    parser.add_argument("--lineage", default=".build/release/lineage")
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    base = args.dir or f"/tmp/lineage-daemon-bench-{os.getpid()}"
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    # Client caches on tmpfs, so the clients' disk is not what is measured.
    client_scratch = os.path.join("/dev/shm" if os.path.isdir("/dev/shm") else base, f"lineage-bench-clients-{os.getpid()}")
    os.makedirs(client_scratch)
    lineage = os.path.abspath(args.lineage)
    servers = {}
    try:
        digests = make_upstream(os.path.join(base, "mirrors"), args.files, args.size)
        payload = sum(os.path.getsize(os.path.join(base, "mirrors", "models", REPO, n)) for n in digests)

        olah_port = free_port()
        with open(os.path.join(base, "olah.toml"), "w") as f:
            f.write(f"""[basic]
host = "127.0.0.1"
port = {olah_port}
mirror-netloc = "127.0.0.1:{olah_port}"
mirror-lfs-netloc = "127.0.0.1:{olah_port}"
repos-path = "{base}/olah-repos"
mirrors-path = ["{base}/mirrors"]

[accessibility]
offline = true
""")
        olah_log = open(os.path.join(base, "olah.log"), "w")
        olah = subprocess.Popen(["olah-cli", "-c", os.path.join(base, "olah.toml")], cwd=base, stdout=olah_log, stderr=olah_log)
        servers["olah"] = (olah, f"http://127.0.0.1:{olah_port}")
        wait_http(f"http://127.0.0.1:{olah_port}/api/models/{REPO}/revision/main")

        store = os.path.join(base, "store")
        env = dict(os.environ, LINEAGE_STORE=store)
        env.pop("HF_TOKEN", None)
        run([lineage, "mirror", "add", REPO], env=env)
        run([lineage, "mirror", "sync", REPO, "--endpoint", f"http://127.0.0.1:{olah_port}"], env=env)
        daemon_port = free_port()
        daemon_log = open(os.path.join(base, "daemon.log"), "w")
        daemon = subprocess.Popen([lineage, "daemon", "--store", store, "--listen", f"127.0.0.1:{daemon_port}", "--log-level", "warning"],
                                  env=env, stdout=daemon_log, stderr=daemon_log)
        servers["lineage"] = (daemon, f"http://127.0.0.1:{daemon_port}")
        wait_http(f"http://127.0.0.1:{daemon_port}/healthz")

        # Warm both: the files in the page cache, olah's own caches filled.
        for name, (_, endpoint) in servers.items():
            one_run(endpoint, 1, digests, client_scratch, payload)

        rows = []
        for clients in counts:
            results = {}
            for name, (proc, _) in servers.items():
                reset_peak(proc.pid)
            for _ in range(args.repeat):
                for name in ("lineage", "olah"):  # interleaved, so both see the same machine load
                    wall, moved = one_run(servers[name][1], clients, digests, client_scratch, payload)
                    results.setdefault(name, []).append(moved / wall / 1e6)
            peaks = {name: peak_mib(proc.pid) for name, (proc, _) in servers.items()}
            rows.append((clients, statistics.median(results["lineage"]), statistics.median(results["olah"]),
                         peaks["lineage"], peaks["olah"], results))
            print(f"# {clients} clients: lineage {results['lineage']}, olah {results['olah']} MB/s; peak RSS MiB {peaks}",
                  file=sys.stderr, flush=True)

        print(f"{args.files} LFS files of {args.size / (1 << 20):.0f} MiB + config.json ({payload / 1e6:.0f} MB per client), "
              f"hf_hub_download file after file, medians of {args.repeat}; every byte checked against its SHA-256\n")
        print("| clients | lineage MB/s | olah MB/s | ratio lineage / olah | lineage peak RSS MiB | olah peak RSS MiB |")
        print("|---:|---:|---:|---:|---:|---:|")
        for clients, ours, theirs, our_peak, their_peak, _ in rows:
            print(f"| {clients} | {ours:.0f} | {theirs:.0f} | {ours / theirs:.1f}x | {our_peak:.0f} | {their_peak:.0f} |")
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(client_scratch, ignore_errors=True)
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
