"""The few places the CLI meets GitHub Actions: step outputs, the job summary,
the run link and, for the janitor, the list of open pull requests.

Everything degrades to local files or stdout outside Actions, so the same
commands run on a laptop and in ``scripts/tap simulate``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scripts.tapctl.core.errors import TapError

REPOSITORY_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_OUTPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def output_block(key: str, value: str, delimiter: str | None = None) -> str:
    """One ``$GITHUB_OUTPUT`` entry, always ``key<<DELIM\nvalue\nDELIM`` with a fresh random
    delimiter, so no value (a branch name, a PR title) can end it early and inject outputs."""
    if not _OUTPUT_NAME.fullmatch(key):
        raise TapError(f"step output name {key!r}: use letters, digits, '_' and '-'")
    delimiter = delimiter or f"ghadelimiter_{secrets.token_hex(16)}"
    if delimiter in value or delimiter in key:
        raise TapError(f"step output {key!r}: the value contains its delimiter; refusing to write it")
    return f"{key}<<{delimiter}\n{value}\n{delimiter}\n"


def write_outputs(values: Mapping[str, str], environ: Mapping[str, str] = os.environ) -> str:
    """Append each value to ``$GITHUB_OUTPUT`` (if set) in the delimited form; return
    ``key=value`` lines for people to read."""
    blocks = "".join(output_block(key, value) for key, value in values.items())
    target = environ.get("GITHUB_OUTPUT")
    if target:
        with Path(target).open("a", encoding="utf-8") as fh:
            fh.write(blocks)
    return "".join(f"{key}={value}\n" for key, value in values.items())


def read_outputs(path: Path) -> dict[str, str]:
    """Parse a ``$GITHUB_OUTPUT`` file (``key=value`` and ``key<<DELIM`` entries), as the runner does."""
    lines = path.read_text(encoding="utf-8").split("\n")
    values: dict[str, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        key, sep, delimiter = line.partition("<<")
        if not sep or "=" in key:
            key, _, value = line.partition("=")
            values[key] = value
            continue
        end = lines.index(delimiter, i)  # ValueError: an unterminated entry
        values[key] = "\n".join(lines[i:end])
        i = end + 1
    return values


def append_step_summary(markdown: str, environ: Mapping[str, str] = os.environ) -> Path | None:
    """Append to ``$GITHUB_STEP_SUMMARY`` when running in Actions."""
    target = environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    with Path(target).open("a", encoding="utf-8") as fh:
        fh.write(markdown.rstrip() + "\n\n")
    return Path(target)


def run_url(environ: Mapping[str, str] = os.environ) -> str | None:
    server, repo, run_id = (
        environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    if server and repo and run_id:
        return f"{server}/{repo}/actions/runs/{run_id}"
    return None


def validate_repository(repository: str) -> str:
    if not REPOSITORY_PATTERN.fullmatch(repository):
        raise TapError(f"--repository {repository!r} is not OWNER/REPO (e.g. acme/infra)")
    return repository


def api_url(environ: Mapping[str, str] = os.environ) -> str:
    """The REST API root: ``$GITHUB_API_URL`` (set by Actions, also on GHES) or api.github.com."""
    return environ.get("GITHUB_API_URL", "").rstrip("/") or "https://api.github.com"


def open_pull_requests(
    repository: str, *, token: str | None, api_root: str | None = None, timeout: float = 30.0
) -> set[int]:
    """Numbers of the repository's open pull requests (all pages)."""
    validate_repository(repository)
    root = api_root or api_url()
    numbers: set[int] = set()
    page = 1
    while True:
        url = f"{root}/repos/{repository}/pulls?state=open&per_page=100&page={page}"
        request = urllib.request.Request(url, headers=_headers(token))  # noqa: S310 - https API URL
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310
                batch = json.loads(resp.read().decode())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise TapError(f"cannot list open pull requests of {repository}: {exc}") from None
        numbers.update(int(pr["number"]) for pr in batch)
        if len(batch) < 100:
            return numbers
        page += 1


def environment_protection_rules(
    repository: str, environment: str, *, token: str | None, api_root: str | None = None
) -> list[str]:
    """Types of the protection rules on a GitHub environment (e.g. ``required_reviewers``)."""
    url = (
        f"{api_root or api_url()}/repos/{repository}/environments/{urllib.parse.quote(environment, safe='')}"
    )
    request = urllib.request.Request(url, headers=_headers(token))  # noqa: S310 - https API URL
    try:
        with urllib.request.urlopen(request, timeout=30.0) as resp:  # noqa: S310
            data = json.loads(resp.read().decode())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return []
        raise TapError(f"cannot read GitHub environment {environment!r} of {repository}: {exc}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise TapError(f"cannot read GitHub environment {environment!r} of {repository}: {exc}") from None
    return [str(rule.get("type")) for rule in data.get("protection_rules", [])]


def api_request(
    method: str, path: str, *, token: str | None, body: object = None, api_root: str | None = None
) -> Any:
    """One REST call (``path`` from the API root, e.g. ``/repos/o/r/issues``); the decoded JSON.

    A GET is tried up to three times on a network error or a 5xx; a write is tried once
    (a repeated POST could open a second issue)."""
    url = f"{api_root or api_url()}{path}"
    data = None if body is None else json.dumps(body).encode()
    headers = _headers(token) | ({"Content-Type": "application/json"} if data is not None else {})
    attempts = 3 if method == "GET" else 1
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30.0) as resp:  # noqa: S310 - the API root
                text = resp.read().decode()
            return json.loads(text) if text.strip() else None
        except urllib.error.HTTPError as exc:
            if exc.code < 500 or attempt == attempts:
                detail = exc.read().decode(errors="replace")[:200]
                raise TapError(f"GitHub API {method} {path}: HTTP {exc.code} {detail}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            if attempt == attempts:
                raise TapError(f"GitHub API {method} {path}: {exc}") from None
        time.sleep(0.5 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def paginate(path: str, *, token: str | None, api_root: str | None = None) -> list[Any]:
    """Every item of a list endpoint, 100 per page (``path`` may carry a query already)."""
    items: list[Any] = []
    sep = "&" if "?" in path else "?"
    page = 1
    while True:
        batch = api_request("GET", f"{path}{sep}per_page=100&page={page}", token=token, api_root=api_root)
        if not isinstance(batch, list):
            raise TapError(f"GitHub API GET {path}: expected a list, got {type(batch).__name__}")
        items += batch
        if len(batch) < 100:
            return items
        page += 1


def _headers(token: str | None) -> dict[str, str]:
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers
