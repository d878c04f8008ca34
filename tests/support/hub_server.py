"""A stand-in for the Hugging Face Hub's HTTP API on 127.0.0.1: enough of it for
``HfApi.create_repo``, ``HfApi.upload_folder`` (files sent inline, never LFS) and
``snapshot_download`` (the file tree) / ``hf_hub_download``, so the code under test talks to it through the
real ``huggingface_hub`` client with ``HF_ENDPOINT`` pointing here.

Example::

    with FakeHubServer() as hub:
        env = {"HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0", "HF_TOKEN": "test"}
        ...                      # a subprocess pushes and downloads with that environment
        hub.repos["me/adapter"]  # {path: bytes} of the last commit
        hub.commits              # [(repo_id, commit message, [paths])]

Only model repositories and the ``main`` revision exist; every commit replaces the files it
names. Requests are not authenticated.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_REPO = r"(?P<repo>[\w.-]+/[\w.-]+)"
_API = re.compile(rf"^/api/models/{_REPO}(?:/revision/(?P<rev>[^/?]+))?/?(?:\?.*)?$")
_PREUPLOAD = re.compile(rf"^/api/models/{_REPO}/preupload/(?P<rev>[^/?]+)")
_COMMIT = re.compile(rf"^/api/models/{_REPO}/commit/(?P<rev>[^/?]+)")
_TREE = re.compile(rf"^/api/models/{_REPO}/tree/(?P<rev>[^/?]+)")
_RESOLVE = re.compile(rf"^/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>[^?]+)")


class FakeHubServer:
    """The server; ``repos`` maps a repo id to ``{path: bytes}``."""

    def __init__(self) -> None:
        self.repos: dict[str, dict[str, bytes]] = {}
        self.shas: dict[str, str] = {}
        self.commits: list[tuple[str, str, list[str]]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeHubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # ---- the API ------------------------------------------------------------------

    def _commit(self, repo: str, body: bytes) -> dict[str, Any]:
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        header = next(item["value"] for item in lines if item["key"] == "header")
        files = self.repos.setdefault(repo, {})
        paths = []
        for item in lines:
            if item["key"] == "file":
                value = item["value"]
                files[value["path"]] = base64.b64decode(value["content"])
                paths.append(value["path"])
            elif item["key"] == "deletedFile":
                files.pop(item["value"]["path"], None)
        digest = hashlib.sha1()
        for path, data in sorted(files.items()):
            digest.update(path.encode() + b"\0" + hashlib.sha256(data).digest())
        sha = digest.hexdigest()
        self.shas[repo] = sha
        self.commits.append((repo, header["summary"], paths))
        return {"commitUrl": f"{self.url}/{repo}/commit/{sha}", "commitOid": sha}

    def _info(self, repo: str) -> dict[str, Any]:
        return {
            "id": repo,
            "modelId": repo,
            "sha": self.shas[repo],
            "private": False,
            "siblings": [{"rfilename": path} for path in sorted(self.repos[repo])],
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any = None, headers: dict | None = None) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body or {}).encode()
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _missing(self, code: str) -> None:
                self._send(404, {"error": code}, {"X-Error-Code": code})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with hub._lock:
                    if self.path == "/api/repos/create":
                        request = json.loads(body)
                        repo = f"{request['organization']}/{request['name']}"
                        if repo not in hub.repos:
                            hub.repos[repo], hub.shas[repo] = {}, "0" * 40
                        return self._send(200, {"url": f"{hub.url}/{repo}", "name": repo})
                    if self.path == "/api/validate-yaml":
                        return self._send(200, {"errors": [], "warnings": []})
                    if match := _PREUPLOAD.match(self.path):
                        files = json.loads(body)["files"]
                        modes = [
                            {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                            for f in files
                        ]
                        return self._send(200, {"files": modes})
                    if match := _COMMIT.match(self.path):
                        if match["repo"] not in hub.repos:
                            return self._missing("RepoNotFound")
                        return self._send(200, hub._commit(match["repo"], body))
                self._send(404, {"error": f"no route {self.path}"})

            def do_GET(self) -> None:
                with hub._lock:
                    if match := _TREE.match(self.path):  # snapshot_download lists the files
                        if match["repo"] not in hub.repos:
                            return self._missing("RepoNotFound")
                        files = hub.repos[match["repo"]]
                        tree = [
                            {"type": "file", "path": path, "size": len(data),
                             "oid": hashlib.sha1(data).hexdigest()}
                            for path, data in sorted(files.items())
                        ]  # fmt: skip
                        return self._send(200, tree)
                    if match := _API.match(self.path):
                        if match["repo"] not in hub.repos:
                            return self._missing("RepoNotFound")
                        return self._send(200, hub._info(match["repo"]))
                    if match := _RESOLVE.match(self.path):
                        files = hub.repos.get(match["repo"])
                        if files is None:
                            return self._missing("RepoNotFound")
                        data = files.get(match["path"])
                        if data is None:
                            return self._missing("EntryNotFound")
                        etag = hashlib.sha256(data).hexdigest()
                        headers = {"ETag": f'"{etag}"', "X-Repo-Commit": hub.shas[match["repo"]]}
                        return self._send(200, data, headers)
                self._send(404, {"error": f"no route {self.path}"})

            do_HEAD = do_GET

        return Handler
