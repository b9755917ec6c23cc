#!/usr/bin/env python3
"""Downloads a repo from a running lineage daemon with the real huggingface_hub client.

Run with HF_ENDPOINT=http://127.0.0.1:PORT and a fresh HF_HUB_CACHE. Prints one JSON object:
model_info (sha, siblings with sizes), list_repo_files, the sha256 of every file that
hf_hub_download and snapshot_download returned, and the exception class names the client
raised for an unknown repo, revision and file, so the test compares all of it with the
upstream.
Usage: hf_daemon_check.py REPO_ID [REVISION]
"""
import hashlib
import json
import os
import sys

assert os.environ.get("HF_ENDPOINT", "").startswith("http://127.0.0.1:"), "point HF_ENDPOINT at the daemon"
from huggingface_hub import HfApi, hf_hub_download, snapshot_download  # noqa: E402

repo = sys.argv[1]
revision = sys.argv[2] if len(sys.argv) > 2 else None
api = HfApi()


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


info = api.model_info(repo, revision=revision, files_metadata=True)
listed = sorted(api.list_repo_files(repo, revision=revision))
downloads = {name: digest(hf_hub_download(repo_id=repo, filename=name, revision=revision)) for name in listed}
folder = snapshot_download(repo_id=repo, revision=revision)
snapshot = {}
for root, _, names in os.walk(folder):
    for name in names:
        full = os.path.join(root, name)
        snapshot[os.path.relpath(full, folder)] = digest(full)


def error_of(call):
    try:
        call()
    except Exception as error:  # the class name is what the test checks
        return type(error).__name__
    return None


errors = {
    "unknown_repo": error_of(lambda: hf_hub_download(repo_id="nobody/nothing-here", filename="config.json")),
    "unknown_revision": error_of(lambda: hf_hub_download(repo_id=repo, filename=listed[0], revision="no-such-branch")),
    "unknown_file": error_of(lambda: hf_hub_download(repo_id=repo, filename="no/such/file.bin", revision=revision)),
}
print(json.dumps({
    "sha": info.sha,
    "siblings": {s.rfilename: {"size": s.size, "lfs": s.lfs.sha256 if s.lfs else None} for s in info.siblings},
    "listed": listed,
    "downloads": downloads,
    "snapshot": snapshot,
    "errors": errors,
}))
