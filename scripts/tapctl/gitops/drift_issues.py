"""``scripts/tap drift-issues``: one GitHub issue per drifted environment.

Reads what ``scripts/tap drift`` wrote for each environment (``drift-<env>.json``
beside its Markdown report) and, for each, finds the open issue whose body holds
the environment's marker:

- drift or a failed check (``open_issue``): update that issue's title and body,
  or open one;
- no drift any more: comment ``resolved`` on the issue and close it as completed.

Pull requests (which the issues API lists too) are never touched. The token is
``$GITHUB_TOKEN`` (``issues: write``); the API root ``$GITHUB_API_URL``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.tapctl.core.errors import TapError
from scripts.tapctl.gitops import github

#: What ``drift.issue_meta`` writes and this command needs.
META_KEYS = ("environment", "report", "marker", "title", "open_issue", "resolved")

Request = Callable[..., Any]


@dataclass(frozen=True)
class DriftMeta:
    environment: str
    marker: str
    title: str
    open_issue: bool
    resolved: str
    body: str


def load(folder: Path) -> list[DriftMeta]:
    """Every metadata file in ``folder`` (sorted), with the report it names."""
    if not folder.is_dir():
        raise TapError(f"drift-issues: {folder} is not a directory (were the drift artifacts downloaded?)")
    metas = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise TapError(f"drift-issues: {path} is not JSON: {exc}") from None
        missing = [k for k in META_KEYS if not isinstance(data, dict) or k not in data]
        if missing:
            raise TapError(
                f"drift-issues: {path} lacks {', '.join(missing)} (not written by `scripts/tap drift`)"
            )
        report = folder / Path(str(data["report"])).name
        if not report.is_file():
            raise TapError(f"drift-issues: {path} names the report {report}, which is missing")
        fields = {k: data[k] for k in META_KEYS if k != "report"}
        metas.append(DriftMeta(**fields, body=report.read_text(encoding="utf-8")))
    return metas


def _find(issues: list[dict[str, Any]], marker: str) -> dict[str, Any] | None:
    return next(
        (i for i in issues if "pull_request" not in i and marker in (i.get("body") or "")),
        None,
    )


def post(repository: str, metas: list[DriftMeta], request: Request, paginate: Request) -> list[str]:
    """Act on each environment; return one line per action."""
    base = f"/repos/{repository}/issues"
    issues = paginate(f"{base}?state=open")
    lines = []
    for meta in metas:
        issue = _find(issues, meta.marker)
        if meta.open_issue and issue is not None:
            request("PATCH", f"{base}/{issue['number']}", body={"title": meta.title, "body": meta.body})
            lines.append(f"updated #{issue['number']} for {meta.environment}")
        elif meta.open_issue:
            created = request("POST", base, body={"title": meta.title, "body": meta.body})
            lines.append(f"opened #{created['number']} for {meta.environment}")
        elif issue is not None:
            request("POST", f"{base}/{issue['number']}/comments", body={"body": meta.resolved})
            closed = {"state": "closed", "state_reason": "completed"}
            request("PATCH", f"{base}/{issue['number']}", body=closed)
            lines.append(f"closed #{issue['number']}: no drift in {meta.environment}")
    return lines


def command(folder: Path, repository: str) -> int:
    repository = github.validate_repository(repository)
    token = os.environ.get("GITHUB_TOKEN")
    if not token:
        raise TapError("drift-issues needs $GITHUB_TOKEN (a token with issues: write)")
    metas = load(folder)
    if not metas:
        print(f"no drift reports in {folder}: nothing to post")
        return 0
    root = github.api_url()

    def request(method: str, path: str, *, body: object = None) -> Any:
        return github.api_request(method, path, token=token, body=body, api_root=root)

    def paginate(path: str) -> list[Any]:
        return github.paginate(path, token=token, api_root=root)

    for line in post(repository, metas, request, paginate):
        print(line)
    return 0
