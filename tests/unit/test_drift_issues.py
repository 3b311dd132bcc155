"""``scripts/tap drift-issues`` replaces the drift workflow's inline github-script (issue 11):
one issue per environment, found by its marker, opened or updated on drift, commented and
closed once the drift is gone; pull requests are never touched. Against a small GitHub on
127.0.0.1 that keeps issues and records every call."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from scripts.tapctl import cli
from scripts.tapctl.gitops import drift
from scripts.tapctl.stages.plans import PlanSummary

REPO = "acme/tap"
TOKEN = "ghs_test"


class FakeIssues:
    """Issues of one repository: list (paginated), create, update, comment."""

    def __init__(self) -> None:
        self.issues: dict[int, dict[str, Any]] = {}
        self.comments: list[dict[str, Any]] = []
        self.calls: list[tuple[str, str]] = []
        self.tokens: set[str | None] = set()

    def add(self, body: str, *, pull_request: bool = False, state: str = "open") -> int:
        number = len(self.issues) + 1
        self.issues[number] = {"number": number, "title": f"#{number}", "body": body, "state": state}
        if pull_request:
            self.issues[number]["pull_request"] = {"url": "..."}
        return number

    def handle(self, method: str, url: str, body: Any) -> tuple[int, Any]:
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = parts.path.removeprefix(f"/repos/{REPO}/issues")
        self.calls.append((method, parts.path + (f"?{parts.query}" if method == "GET" else "")))
        if method == "GET" and path == "":
            listed = [i for i in self.issues.values() if i["state"] == query.get("state", "open")]
            size, page = int(query.get("per_page", 30)), int(query.get("page", 1))
            return 200, listed[(page - 1) * size : page * size]
        if method == "POST" and path == "":
            number = self.add(body["body"])
            self.issues[number]["title"] = body["title"]
            return 201, self.issues[number]
        number = int(path.strip("/").split("/")[0])
        if method == "PATCH":
            self.issues[number].update(body)
            return 200, self.issues[number]
        if method == "POST" and path.endswith("/comments"):
            self.comments.append({"issue": number, "body": body["body"]})
            return 201, {"id": len(self.comments)}
        return 404, {"message": "Not Found"}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeIssues]:
    state = FakeIssues()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            state.tokens.add(self.headers.get("Authorization"))
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            status, payload = state.handle(self.command, self.path, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = _serve

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("GITHUB_API_URL", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _report(folder: Path, env: str, *, drifted: bool, failed: bool = False) -> dict[str, Any]:
    """What `scripts/tap drift` writes: drift-<env>.md and drift-<env>.json."""
    summary = PlanSummary(env, change=1 if drifted else 0, error="boom" if failed else None)
    result = drift.DriftResult(summaries={"platform": summary}, texts={})
    report = folder / f"drift-{env}.md"
    drift.write_report(
        report, drift.render_report(result, env=env, suffix=env, commit="c" * 40, run_url=None)
    )
    drift.write_issue_meta(report, result, env=env)
    return json.loads(report.with_suffix(".json").read_text())


def test_opens_updates_and_closes_one_issue_per_environment(fake, tmp_path, capsys):
    folder = tmp_path / "drift"
    dev = _report(folder, "dev", drifted=True)
    prod = _report(folder, "prod", drifted=False)
    staging = _report(folder, "staging", drifted=False, failed=True)
    for n in range(100):  # the first page: unrelated issues
        fake.add(f"unrelated {n}")
    fake.add(f"a PR quoting {prod['marker']}", pull_request=True)
    old_prod = fake.add(f"{prod['marker']}\nold drift")
    old_staging = fake.add(f"{staging['marker']}\nold")
    fake.add(f"{dev['marker']}\nclosed long ago", state="closed")

    assert cli.main(["drift-issues", "--dir", str(folder), "--repository", REPO]) == 0

    opened = max(fake.issues)
    assert capsys.readouterr().out.splitlines() == [
        f"opened #{opened} for dev",
        f"closed #{old_prod}: no drift in prod",
        f"updated #{old_staging} for staging",
    ]
    assert fake.issues[opened]["title"] == "Drift detected in dev"
    assert fake.issues[opened]["body"] == (folder / "drift-dev.md").read_text()
    assert dev["marker"] in fake.issues[opened]["body"]
    assert fake.comments == [{"issue": old_prod, "body": prod["resolved"]}]
    assert fake.issues[old_prod]["state"] == "closed"
    assert fake.issues[old_prod]["state_reason"] == "completed"
    assert fake.issues[old_staging]["title"] == "Drift check failed for staging"
    assert fake.issues[old_staging]["body"] == (folder / "drift-staging.md").read_text()
    assert fake.issues[101]["state"] == "open", "the pull request is not touched"
    lists = [path for method, path in fake.calls if method == "GET"]
    assert lists == [
        f"/repos/{REPO}/issues?state=open&per_page=100&page=1",
        f"/repos/{REPO}/issues?state=open&per_page=100&page=2",
    ], "one paginated listing"
    assert fake.tokens == {f"Bearer {TOKEN}"}


def test_no_drift_and_no_issue_writes_nothing(fake, tmp_path, capsys):
    folder = tmp_path / "drift"
    _report(folder, "dev", drifted=False)
    assert cli.main(["drift-issues", "--dir", str(folder), "--repository", REPO]) == 0
    assert capsys.readouterr().out == ""
    assert [m for m, _ in fake.calls] == ["GET"]


def test_a_second_run_updates_the_issue_it_opened(fake, tmp_path, capsys):
    folder = tmp_path / "drift"
    _report(folder, "dev", drifted=True)
    assert cli.main(["drift-issues", "--dir", str(folder), "--repository", REPO]) == 0
    assert cli.main(["drift-issues", "--dir", str(folder), "--repository", REPO]) == 0
    assert capsys.readouterr().out.splitlines() == ["opened #1 for dev", "updated #1 for dev"]
    assert len(fake.issues) == 1


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("no-token", "needs $GITHUB_TOKEN"),
        ("no-dir", "is not a directory"),
        ("bad-meta", "lacks marker, title"),
        ("no-report", "which is missing"),
        ("bad-repo", "is not OWNER/REPO"),
    ],
)
def test_bad_input_is_refused_before_any_call(fake, tmp_path, monkeypatch, capsys, setup, message):
    folder = tmp_path / "drift"
    folder.mkdir()
    repo = "not a repo" if setup == "bad-repo" else REPO
    if setup == "no-token":
        monkeypatch.delenv("GITHUB_TOKEN")
    if setup == "no-dir":
        folder = tmp_path / "missing"
    if setup == "bad-meta":
        (folder / "drift-dev.json").write_text('{"environment": "dev", "report": "drift-dev.md"}')
    if setup == "no-report":
        _report(folder, "dev", drifted=True)
        (folder / "drift-dev.md").unlink()
    assert cli.main(["drift-issues", "--dir", str(folder), "--repository", repo]) == 2
    assert message in capsys.readouterr().err
    assert fake.calls == []


def test_an_api_error_names_the_call(fake, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "drift"
    _report(folder, "dev", drifted=True)
    monkeypatch.setattr(
        fake, "handle", lambda method, url, body: (403, {"message": "Resource not accessible"})
    )
    assert cli.main(["drift-issues", "--dir", str(folder), "--repository", REPO]) == 2
    err = capsys.readouterr().err
    assert f"GitHub API GET /repos/{REPO}/issues?state=open&per_page=100&page=1: HTTP 403" in err
    assert "Resource not accessible" in err
