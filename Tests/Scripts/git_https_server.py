#!/usr/bin/env python3
"""An HTTPS git + Git LFS server on 127.0.0.1 for lineage's transport tests.

Git itself is served by the real `git http-backend` (CGI, smart HTTP) over every bare repo
under --root; the LFS objects of a repo come from its standalone layout
(`<root>/<org>/<name>.git/lfs/objects/aa/bb/<oid>`, where a `file://` push of git-lfs puts
them) through the batch API at `<repo>.git/info/lfs/objects/batch` (basic transfer,
download only; an action carries the request's Authorization header) and
`GET /lfs-objects/<org>/<name>/<oid>`.

TLS with --cert/--key (a PEM chain and its key, made by the test with openssl). With
--token, every request needs `Authorization: Basic base64(<any user>:<token>)` or
`Bearer <token>`; others get 401 with `WWW-Authenticate: Basic`, like a private forge.

Every request is appended to --log as a JSON line (method, path, status, auth: whether an
Authorization header came). The port is written to --port-file. Only loopback is bound.
"""
import argparse
import base64
import json
import os
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, status):
        with LOCK, open(self.server.log, "a") as log:
            log.write(json.dumps({"method": self.command, "path": self.path, "status": status,
                                  "auth": "Authorization" in self.headers}) + "\n")

    def authorised(self):
        token = self.server.token
        if not token:
            return True
        header = self.headers.get("Authorization", "")
        if header == "Bearer " + token:
            return True
        if header.startswith("Basic "):
            try:
                user_pass = base64.b64decode(header[6:]).decode()
            except Exception:
                return False
            return user_pass.partition(":")[2] == token
        return False

    def reply(self, status, body=b"", content_type="text/plain", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.record(status)

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def handle_any(self):
        body = self.read_body() if self.command == "POST" else b""
        if not self.authorised():
            self.reply(401, b"credentials required\n", extra=[("WWW-Authenticate", 'Basic realm="lineage-test"')])
            return
        path, _, query = self.path.partition("?")
        if path.endswith(".git/info/lfs/objects/batch") and self.command == "POST":
            self.batch(path[: -len("/info/lfs/objects/batch")], body)
        elif path.startswith("/lfs-objects/") and self.command == "GET":
            self.lfs_object(path[len("/lfs-objects/"):])
        else:
            self.cgi(path, query, body)

    do_GET = do_POST = do_HEAD = handle_any

    def repo_dir(self, repo_path):
        # "/org/name.git" -> <root>/org/name.git, never outside the root.
        full = os.path.realpath(os.path.join(self.server.root, repo_path.lstrip("/")))
        if not full.startswith(os.path.realpath(self.server.root) + os.sep):
            return None
        return full

    def object_file(self, repo_dir, oid):
        if len(oid) != 64 or any(c not in "0123456789abcdef" for c in oid):
            return None
        return os.path.join(repo_dir, "lfs", "objects", oid[:2], oid[2:4], oid)

    def batch(self, repo_path, body):
        repo_dir = self.repo_dir(repo_path)
        request = json.loads(body or b"{}")
        if repo_dir is None or not os.path.isdir(repo_dir) or request.get("operation") != "download":
            self.reply(404, json.dumps({"message": "no such repo or operation"}).encode(), "application/vnd.git-lfs+json")
            return
        host = "https://127.0.0.1:%d" % self.server.server_address[1]
        objects = []
        for item in request.get("objects", []):
            oid, size = item.get("oid", ""), item.get("size", 0)
            path = self.object_file(repo_dir, oid)
            if path and os.path.isfile(path):
                action = {"href": "%s/lfs-objects%s/%s" % (host, repo_path[: -len(".git")], oid)}
                # Like Gitea and GitLab: the action carries the credentials its GET needs.
                if "Authorization" in self.headers:
                    action["header"] = {"Authorization": self.headers["Authorization"]}
                objects.append({"oid": oid, "size": size, "authenticated": True, "actions": {"download": action}})
            else:
                objects.append({"oid": oid, "size": size, "error": {"code": 404, "message": "object not found"}})
        self.reply(200, json.dumps({"transfer": "basic", "objects": objects}).encode(), "application/vnd.git-lfs+json")

    def lfs_object(self, rest):
        repo, _, oid = rest.rpartition("/")
        repo_dir = self.repo_dir(repo + ".git")
        path = self.object_file(repo_dir, oid) if repo_dir else None
        if not path or not os.path.isfile(path):
            self.reply(404, b"no such object\n")
            return
        size = os.path.getsize(path)
        start = 0
        status = 200
        header = self.headers.get("Range", "")
        if header.startswith("bytes=") and header[6:].endswith("-"):
            start = min(int(header[6:-1]), size)
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size - start))
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, size - 1, size))
        self.end_headers()
        with open(path, "rb") as f:
            f.seek(start)
            for chunk in iter(lambda: f.read(1 << 20), b""):
                self.wfile.write(chunk)
        self.record(status)

    def cgi(self, path, query, body):
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": self.server.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
        }
        if self.headers.get("Content-Encoding"):
            environment["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        result = subprocess.run(["git", "http-backend"], input=body, env=environment, capture_output=True)
        head, _, payload = result.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = result.stdout.partition(b"\n\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name.strip(), value.strip()))
        if result.returncode != 0 and not result.stdout:
            self.reply(500, result.stderr)
            return
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        self.record(status)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--token")
    parser.add_argument("--log", required=True)
    parser.add_argument("--port-file", required=True)
    arguments = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.root = os.path.realpath(arguments.root)
    server.token = arguments.token
    server.log = arguments.log
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(arguments.cert, arguments.key)
    # The handshake happens in the handler thread (on first read), so a client that rejects
    # the certificate cannot stall the accept loop.
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    temporary = arguments.port_file + ".tmp"
    with open(temporary, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(temporary, arguments.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
