"""A small local stand-in for the GitHub REST API, for ``scripts/tap simulate``.

It answers the calls the CLI and the action stand-ins make -- pull requests,
environments, issues and issue comments -- from one JSON file (the
repository as GitHub would hold it), and records every call. The file
outlives a run, so a sequence of simulated events sees the comments and
issues the earlier ones left, as on GitHub. Loopback only; every request must
carry the token the simulation gave the workflow (as ``${{ github.token }}``).
"""

from __future__ import annotations

import json
import os
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"


def empty_state() -> dict[str, Any]:
    return {"pulls": {}, "environments": {}, "issues": {}, "comments": {}, "next_id": 1, "calls": []}


class Store:
    """The fake repository: a JSON file guarded by a lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            self.save(empty_state())

    def load(self) -> dict[str, Any]:
        return json.loads(self.path.read_text(encoding="utf-8"))

    def save(self, state: dict[str, Any]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True), encoding="utf-8")
        tmp.replace(self.path)


def _new_id(state: dict[str, Any]) -> int:
    state["next_id"] += 1
    return int(state["next_id"]) - 1


def _page(items: list[Any], query: dict[str, list[str]]) -> list[Any]:
    per_page = int(query.get("per_page", ["30"])[0])
    page = int(query.get("page", ["1"])[0])
    return items[(page - 1) * per_page : page * per_page]


Route = tuple[str, re.Pattern[str]]


class Api:
    """The routes: (method, path pattern) -> handler(state, match, query, body) -> (status, json)."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Any]] = []
        repo = r"/repos/(?P<repo>[^/]+/[^/]+)"
        self.add("GET", repo + r"/pulls", self.list_pulls)
        self.add("GET", repo + r"/environments/(?P<env>[^/]+)", self.get_environment)
        self.add("GET", repo + r"/issues", self.list_issues)
        self.add("POST", repo + r"/issues", self.create_issue)
        self.add("PATCH", repo + r"/issues/(?P<n>[0-9]+)", self.update_issue)
        self.add("GET", repo + r"/issues/(?P<n>[0-9]+)/comments", self.list_comments)
        self.add("POST", repo + r"/issues/(?P<n>[0-9]+)/comments", self.create_comment)
        self.add("PATCH", repo + r"/issues/comments/(?P<id>[0-9]+)", self.update_comment)
        self.add("DELETE", repo + r"/issues/comments/(?P<id>[0-9]+)", self.delete_comment)

    def add(self, method: str, pattern: str, handler: Any) -> None:
        self.routes.append((method, re.compile(pattern + r"/?$"), handler))

    def dispatch(self, state: dict[str, Any], method: str, path: str, query: dict[str, list[str]], body: Any):
        for m, pattern, handler in self.routes:
            match = pattern.fullmatch(path)
            if m == method and match:
                return handler(state, match, query, body)
        return 404, {"message": "Not Found"}

    # -- handlers -------------------------------------------------------------------------
    def list_pulls(self, state, match, query, body):
        wanted = query.get("state", ["open"])[0]
        pulls = [p for _, p in sorted(state["pulls"].items(), key=lambda kv: int(kv[0]))]
        return 200, _page([p for p in pulls if wanted == "all" or p["state"] == wanted], query)

    def get_environment(self, state, match, query, body):
        env = state["environments"].get(urllib.parse.unquote(match["env"]))
        return (200, env) if env is not None else (404, {"message": "Not Found"})

    def list_issues(self, state, match, query, body):
        wanted = query.get("state", ["open"])[0]
        issues = [i for _, i in sorted(state["issues"].items(), key=lambda kv: int(kv[0]))]
        return 200, _page([i for i in issues if wanted == "all" or i["state"] == wanted], query)

    def create_issue(self, state, match, query, body):
        number = _new_id(state)
        issue = {"number": number, "title": body["title"], "body": body.get("body", ""), "state": "open"}
        state["issues"][str(number)] = issue
        return 201, issue

    def update_issue(self, state, match, query, body):
        issue = state["issues"].get(match["n"])
        if issue is None:
            return 404, {"message": "Not Found"}
        issue.update({k: v for k, v in body.items() if k in ("title", "body", "state", "state_reason")})
        return 200, issue

    def list_comments(self, state, match, query, body):
        found = [c for c in state["comments"].values() if str(c["issue"]) == match["n"]]
        return 200, _page(sorted(found, key=lambda c: c["id"]), query)

    def create_comment(self, state, match, query, body):
        comment = {"id": _new_id(state), "issue": int(match["n"]), "body": body["body"]}
        state["comments"][str(comment["id"])] = comment
        return 201, comment

    def update_comment(self, state, match, query, body):
        comment = state["comments"].get(match["id"])
        if comment is None:
            return 404, {"message": "Not Found"}
        comment["body"] = body["body"]
        return 200, comment

    def delete_comment(self, state, match, query, body):
        return (204, None) if state["comments"].pop(match["id"], None) else (404, {"message": "Not Found"})


class FakeGithub:
    """``with FakeGithub(path, token) as gh:`` serves ``gh.url`` until the block ends."""

    def __init__(self, path: Path, token: str) -> None:
        self.store = Store(path)
        self.token = token
        self.api = Api()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://{HOST}:{self.server.server_address[1]}"

    def __enter__(self) -> FakeGithub:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                return

            def _serve(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    status, payload = 401, {"message": "Bad credentials"}
                else:
                    with fake.store.lock:
                        state = fake.store.load()
                        body = json.loads(raw) if raw else {}
                        status, payload = fake.api.dispatch(
                            state, self.command, url.path, urllib.parse.parse_qs(url.query), body
                        )
                        state["calls"].append({"method": self.command, "path": url.path, "status": status})
                        fake.store.save(state)
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _serve

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@dataclass
class Client:
    """What the stand-ins use to call the API (``$GITHUB_API_URL``)."""

    root: str
    token: str

    @classmethod
    def from_env(cls, token: str | None = None) -> Client:
        return cls(
            os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"),
            token or os.environ.get("GITHUB_TOKEN", ""),
        )

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(  # noqa: S310 - the API root comes from the runner
            self.root + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
                "Accept": "application/vnd.github+json",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
                text = resp.read().decode()
        except urllib.error.HTTPError as exc:
            raise RuntimeError(
                f"GitHub API {method} {path}: HTTP {exc.code} {exc.read().decode()[:200]}"
            ) from None
        return json.loads(text) if text else None

    def get(self, path: str) -> list[Any]:
        """Every page of a list endpoint."""
        items: list[Any] = []
        page = 1
        while True:
            sep = "&" if "?" in path else "?"
            batch = self.request("GET", f"{path}{sep}per_page=100&page={page}")
            items += batch
            if len(batch) < 100:
                return items
            page += 1
