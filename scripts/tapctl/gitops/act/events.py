"""The event payloads GitHub sends, for the events ``scripts/tap simulate`` knows.

Each builder returns a :class:`Run` for :func:`scripts.tapctl.gitops.act.runner.execute`:
which workflow file, which GitHub event name, and the payload's fields the
workflows read (``pull_request.*``, ``ref``, ``inputs``). Nothing here
decides what a job does: the YAML does.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from scripts.tapctl.core import paths
from scripts.tapctl.gitops.act.runner import Run, repository


def head_sha(root: Path = paths.ROOT) -> str:
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=False)
    return out.stdout.strip() or "0" * 40


def _repo(full_name: str) -> dict[str, object]:
    owner, name = full_name.split("/", 1)
    return {"full_name": full_name, "name": name, "owner": {"login": owner}}


def pull_request(
    out: Path,
    *,
    pr: int,
    base: str,
    head: str,
    action: str = "opened",
    head_repository: str | None = None,
    previous_base: str | None = None,
    author: str = "octocat",
    root: Path = paths.ROOT,
) -> Run:
    """``opened``/``synchronize``/``reopened``/``edited`` run pull-request.yml; ``closed`` pr-closed.yml."""
    sha = head_sha(root)
    repo = repository()
    payload: dict[str, object] = {
        "action": action,
        "number": pr,
        "repository": _repo(repository()),
        "pull_request": {
            "number": pr,
            "state": "closed" if action == "closed" else "open",
            "merged": False,
            "user": {"login": author},
            "base": {"ref": base, "sha": sha, "repo": _repo(repo)},
            "head": {"ref": head, "sha": sha, "repo": _repo(head_repository or repo)},
        },
    }
    if action == "edited" and previous_base:
        payload["changes"] = {"base": {"ref": {"from": previous_base}}}
    workflow = "pr-closed.yml" if action == "closed" else "pull-request.yml"
    return Run(f"pr{pr}-{action}", workflow, "pull_request", payload, out, root=root)


def push(out: Path, *, branch: str, root: Path = paths.ROOT) -> Run:
    sha = head_sha(root)
    payload = {
        "ref": f"refs/heads/{branch}",
        "before": "0" * 40,
        "after": sha,
        "repository": _repo(repository()),
        "head_commit": {"id": sha},
    }
    return Run(f"push-{branch}", "deploy.yml", "push", payload, out, root=root)


def destroy(out: Path, *, suffix: str, confirm: str, ref: str = "main") -> Run:
    payload = {
        "ref": f"refs/heads/{ref}",
        "inputs": {"suffix": suffix, "confirm": confirm},
        "repository": _repo(repository()),
    }
    return Run(f"destroy-{suffix}", "destroy.yml", "workflow_dispatch", payload, out)


def scheduled(out: Path, *, workflow: str, label: str) -> Run:
    payload = {"schedule": "simulated", "ref": "refs/heads/main", "repository": _repo(repository())}
    return Run(label, workflow, "schedule", payload, out)
