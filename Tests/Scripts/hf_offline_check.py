#!/usr/bin/env python3
"""Loads a mirrored repo the way users do, from lineage's cache view with no network.

Run with HF_HUB_CACHE=<store>/hub HF_HUB_OFFLINE=1. Prints one JSON object: the snapshot
folder snapshot_download returned, and for every file the sha256 of what hf_hub_download
returned, so the test compares bytes with the upstream's.
Usage: hf_offline_check.py REPO_ID [REVISION]
"""
import hashlib
import json
import os
import sys

assert os.environ.get("HF_HUB_OFFLINE") == "1", "run offline"
from huggingface_hub import hf_hub_download, snapshot_download  # noqa: E402

repo = sys.argv[1]
revision = sys.argv[2] if len(sys.argv) > 2 else None
folder = snapshot_download(repo_id=repo, revision=revision)
files = {}
for root, _, names in os.walk(folder):
    for name in names:
        rel = os.path.relpath(os.path.join(root, name), folder)
        path = hf_hub_download(repo_id=repo, filename=rel, revision=revision)
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        files[rel] = {"sha256": h.hexdigest(), "real": os.path.realpath(path)}
print(json.dumps({"folder": folder, "files": files}))
