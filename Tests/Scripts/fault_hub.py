#!/usr/bin/env python3
"""A small Hub-compatible HTTP server for lineage's mirror tests, with fault injection.

It serves one or more repos described by a manifest (JSON):

    {"repos": {"org/name": {"commit": "<40 hex>", "files": [
        {"path": "config.json", "content": "/abs/file", "lfs": false},
        {"path": "model.safetensors", "content": "/abs/file", "lfs": true,
         "serve": "/abs/other-file"}]}}}

`serve` makes the server send other bytes than the ones the tree advertises (wrong bytes).
Routes: the Hub API (revision, paginated recursive tree, resolve with Range) and a Git LFS
batch endpoint at /lfs (basic transfer; actions carry an auth header the object GET
requires, and expire). Faults are read from --faults (JSON, re-read on every request, so a
test can change them between runs), keyed by repo path or LFS oid:

    {"model.safetensors": {"status": 503, "times": 2}}   first 2 GETs answer 503
    {"model.safetensors": {"reset_at": 1000000}}         RST after that many body bytes
    {"model.safetensors": {"truncate_at": 1000000}}      clean close after that many bytes
    {"model.safetensors": {"ignore_range": true}}        answer 200 with the whole body
    {"model.safetensors": {"stall_at": 1000000}}         stop sending (until killed)
    {"model.safetensors": {"rate": 4000000}}             bytes per second
    "times" bounds any fault to its first N GETs (default: every GET).

Every request is appended to --log as a JSON line: method, path, range, status, bytes sent.
The chosen port is written to --port-file. Only loopback is ever bound.
"""
import argparse
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"counts": {}}
LOCK = threading.Lock()


def git_sha1(path):
    size = os.path.getsize(path)
    h = hashlib.sha1(b"blob %d\0" % size)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_manifest(path):
    with open(path) as f:
        manifest = json.load(f)
    for repo in manifest["repos"].values():
        for entry in repo["files"]:
            entry["size"] = os.path.getsize(entry["content"])
            entry["sha256"] = sha256(entry["content"])
            if entry.get("lfs"):
                pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (
                    entry["sha256"], entry["size"])
                entry["pointer_size"] = len(pointer)
                entry["oid"] = hashlib.sha1(b"blob %d\0" % len(pointer) + pointer.encode()).hexdigest()
            else:
                entry["oid"] = git_sha1(entry["content"])
    return manifest


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fault-hub/1"

    def log_message(self, format, *args):
        pass

    def record(self, status, sent, extra=None):
        line = {"method": self.command, "path": self.path, "range": self.headers.get("Range"),
                "status": status, "sent": sent, "auth": self.headers.get("Authorization")}
        if extra:
            line.update(extra)
        with LOCK, open(self.server.log_path, "a") as f:
            f.write(json.dumps(line) + "\n")

    def faults(self):
        try:
            with open(self.server.faults_path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def send_json(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.record(status, len(data))

    def find_repo(self, parts):
        repos = self.server.manifest["repos"]
        for n in (2, 1):
            rid = "/".join(parts[:n])
            if rid in repos:
                return rid, repos[rid], parts[n:]
        return None, None, parts

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_GET(self, head=False):
        url = urllib.parse.urlsplit(self.path)
        parts = [urllib.parse.unquote(p) for p in url.path.split("/") if p]
        query = urllib.parse.parse_qs(url.query)
        if parts[:2] == ["api", "models"]:
            rid, repo, rest = self.find_repo(parts[2:])
            if repo is None:
                return self.send_json(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
            if rest[:1] == ["revision"]:
                rev = "/".join(rest[1:])
                if rev not in ("main", repo["commit"]):
                    return self.send_json(404, {"error": "Invalid rev id"}, {"X-Error-Code": "RevisionNotFound"})
                siblings = [{"rfilename": e["path"]} for e in repo["files"]]
                return self.send_json(200, {"id": rid, "sha": repo["commit"], "siblings": siblings})
            if rest[:1] == ["tree"]:
                entries = []
                for e in repo["files"]:
                    item = {"type": "file", "path": e["path"], "oid": e["oid"], "size": e["size"]}
                    if e.get("lfs"):
                        item["lfs"] = {"oid": e["sha256"], "size": e["size"], "pointerSize": e["pointer_size"]}
                    entries.append(item)
                entries += repo.get("extra_tree", [])
                page = int(self.server.page_size)
                cursor = int(query.get("cursor", ["0"])[0])
                headers = {}
                if cursor + page < len(entries):
                    nxt = "%s?recursive=true&cursor=%d" % (url.path, cursor + page)
                    headers["Link"] = '<http://%s%s>; rel="next"' % (self.headers.get("Host"), nxt)
                return self.send_json(200, entries[cursor:cursor + page], headers)
            return self.send_json(404, {"error": "not found"})
        if parts[:2] == ["lfs", "objects"] and len(parts) == 3:
            oid = parts[2]
            if self.headers.get("Authorization") != "RemoteAuth from-batch-action":
                return self.send_json(401, {"message": "the batch action's header is required"})
            for repo in self.server.manifest["repos"].values():
                for e in repo["files"]:
                    if e.get("lfs") and e["sha256"] == oid:
                        return self.serve_file(e, oid, head)
            return self.send_json(404, {"message": "object not found"})
        rid, repo, rest = self.find_repo(parts)
        if repo is not None and rest[:1] == ["resolve"] and len(rest) >= 3:
            path = "/".join(rest[2:])
            for e in repo["files"]:
                if e["path"] == path:
                    return self.serve_file(e, path, head, {"X-Repo-Commit": repo["commit"]})
            return self.send_json(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"})
        self.send_json(404, {"error": "not found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path.rstrip("/") != "/lfs/objects/batch":
            return self.send_json(404, {"message": "not found"})
        fault = self.faults().get("batch", {})
        if "status" in fault and self.take(fault, "batch"):
            return self.send_json(fault["status"], {"message": "injected"})
        known = {}
        for repo in self.server.manifest["repos"].values():
            for e in repo["files"]:
                if e.get("lfs"):
                    known[e["sha256"]] = e
        objects = []
        host = self.headers.get("Host")
        expires_in = self.faults().get("expires_in", 3600)
        for obj in body.get("objects", []):
            e = known.get(obj["oid"])
            if e is None:
                objects.append({"oid": obj["oid"], "size": obj["size"],
                                "error": {"code": 404, "message": "Object does not exist"}})
                continue
            objects.append({"oid": obj["oid"], "size": obj["size"], "authenticated": True,
                            "actions": {"download": {"href": "http://%s/lfs/objects/%s" % (host, obj["oid"]),
                                                     "header": {"Authorization": "RemoteAuth from-batch-action"},
                                                     "expires_in": expires_in}}})
        data = json.dumps({"transfer": "basic", "objects": objects, "hash_algo": "sha256"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.git-lfs+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.record(200, len(data), {"objects": len(objects)})

    def take(self, fault, key):
        """Whether a fault applies to this request: to the first `times` ones, else to all."""
        if not fault:
            return False
        with LOCK:
            n = STATE["counts"].get(key, 0)
            STATE["counts"][key] = n + 1
        times = fault.get("times")
        return times is None or n < times

    def serve_file(self, entry, key, head, extra_headers=None):
        fault = self.faults().get(key, {})
        applies = self.take(fault, key) if fault else False
        source = entry.get("serve", entry["content"])
        size = os.path.getsize(source)
        etag = entry["sha256"] if entry.get("lfs") else entry["oid"]
        if applies and "status" in fault:
            return self.send_json(fault["status"], {"error": "injected fault"})
        start = 0
        rng = self.headers.get("Range")
        partial = False
        if rng and rng.startswith("bytes=") and not (applies and fault.get("ignore_range")):
            start = int(rng[len("bytes="):].split("-")[0])
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % size)
                self.send_header("Content-Length", "0")
                self.end_headers()
                self.record(416, 0)
                return
            partial = True
        self.send_response(206 if partial else 200)
        self.send_header("Content-Length", str(size - start))
        self.send_header("ETag", '"%s"' % etag)
        self.send_header("Accept-Ranges", "bytes")
        if partial:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, size - 1, size))
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if head:
            self.record(200, 0)
            return
        limit = size - start
        cut = None
        if applies:
            for k in ("reset_at", "truncate_at", "stall_at"):
                if k in fault:
                    cut = (k, max(0, fault[k] - start))
        rate = fault.get("rate") if applies else None
        sent = 0
        with open(source, "rb") as f:
            f.seek(start)
            if cut is None and rate is None:
                self.wfile.flush()
                while sent < limit:
                    n = self.connection.sendfile(f, start + sent, limit - sent)
                    if n == 0:
                        break
                    sent += n
            else:
                while sent < limit:
                    want = min(1 << 16, limit - sent)
                    if cut is not None:
                        want = min(want, cut[1] - sent)
                    if want <= 0:
                        break
                    chunk = f.read(want)
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    sent += len(chunk)
                    if rate:
                        time.sleep(len(chunk) / rate)
        self.record(206 if partial else 200, sent, {"start": start})
        if cut is not None and sent < limit:
            kind = cut[0]
            self.wfile.flush()
            if kind == "stall_at":
                time.sleep(3600)
            elif kind == "reset_at":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--faults", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--page-size", type=int, default=50)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.manifest = load_manifest(args.manifest)
    server.faults_path = args.faults
    server.log_path = args.log
    server.page_size = args.page_size
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
