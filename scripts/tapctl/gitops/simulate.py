"""``scripts/tap simulate <event>``: the real workflow file for a GitHub event, run by act.

This module only turns command-line arguments into an event
(:mod:`scripts.tapctl.gitops.act.events`), records the pull request in the fake
repository, and hands the run to :mod:`scripts.tapctl.gitops.act.runner`. The jobs,
their order, conditions and commands are the YAML's; nothing here repeats them.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from scripts.tapctl.core import emulator_process, paths, ui
from scripts.tapctl.core.errors import TapError
from scripts.tapctl.gitops import github
from scripts.tapctl.gitops.act import events, runner
from scripts.tapctl.gitops.act.github_fake import Store

EVENTS = ("pull_request", "close", "push", "destroy", "drift", "janitor")
PR_ACTIONS = ("opened", "synchronize", "reopened", "edited")
#: What each event needs on the command line.
REQUIRED = {
    "pull_request": ("pr", "base"),
    "close": ("pr",),
    "push": ("branch",),
    "destroy": ("suffix", "confirm"),
}


@dataclass(frozen=True)
class Request:
    """The simulated event: which one, and what its payload needs (see :data:`REQUIRED`)."""

    event: str
    pr: int | None = None
    base: str | None = None
    head: str = "feature/simulated"
    action: str = "opened"
    previous_base: str | None = None
    fork: str | None = None
    branch: str | None = None
    suffix: str | None = None
    confirm: str | None = None
    ref: str = "main"
    #: The checked-out tree (a git work tree holding the PR's head or the pushed commit);
    #: None: this repository's work tree.
    worktree: Path | None = None


def validate(request: Request, *, approve: Sequence[str] = (), stacks: str | None = None) -> None:
    """Refuse what the event lacks or names wrongly, before act or the emulator starts."""
    missing = [f"--{n}" for n in REQUIRED.get(request.event, ()) if getattr(request, n) is None]
    if missing:
        raise TapError(f"simulate {request.event} needs {', '.join(missing)}")
    from lib.config import load_all, resolve_target
    from lib.stacks import select_stacks

    unknown = sorted(set(approve) - set(load_all()))
    if unknown:
        raise TapError(
            f"--approve {', '.join(unknown)}: not an environment (known: {', '.join(sorted(load_all()))})"
        )
    if request.worktree is not None:
        check_worktree(request.worktree)
    if request.fork and not github.REPOSITORY_PATTERN.fullmatch(request.fork):
        raise TapError(f"--fork {request.fork!r} is not OWNER/REPO (e.g. mallory/tap)")
    if stacks:
        for name in load_all():
            try:
                select_stacks(resolve_target(name), stacks)
            except ValueError as exc:
                raise TapError(f"--stacks: {exc}") from None


def check_worktree(tree: Path) -> None:
    """A tree act can run: a git work tree with a commit and this repository's workflows."""
    if not (tree / ".github" / "workflows").is_dir():
        raise TapError(f"--worktree {tree}: no .github/workflows there (a checkout of this repository?)")
    head = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "HEAD"], cwd=tree, capture_output=True, check=False
    )
    if head.returncode != 0:
        raise TapError(f"--worktree {tree}: not a git work tree with a commit (act reads HEAD)")


def _record_pull(out: Path, request: Request, state: str) -> str:
    """The pull request as GitHub holds it (the janitor lists open ones); returns its base."""
    store = Store(out / "github.json")
    with store.lock:
        data = store.load()
        pull = data["pulls"].get(str(request.pr), {"number": request.pr, "base": request.base or "dev"})
        pull.update(state=state, base=request.base or pull["base"])
        data["pulls"][str(request.pr)] = pull
        store.save(data)
    return str(pull["base"])


def build(request: Request, out: Path) -> runner.Run:
    r = request
    root = (r.worktree or paths.ROOT).resolve()
    if r.event == "pull_request":
        _record_pull(out, r, "open")
        return events.pull_request(
            out, pr=r.pr, base=r.base, head=r.head, action=r.action,
            head_repository=r.fork, previous_base=r.previous_base, root=root,
        )  # fmt: skip
    if r.event == "close":
        base = _record_pull(out, r, "closed")
        return events.pull_request(out, pr=r.pr, base=base, head=r.head, action="closed", root=root)
    if r.event == "push":
        return events.push(out, branch=r.branch, root=root)
    if r.event == "destroy":
        run = events.destroy(out, suffix=r.suffix, confirm=r.confirm, ref=r.ref)
    else:
        run = events.scheduled(out, workflow=f"{r.event}.yml", label=r.event)
    run.root = root
    return run


def stub_jobs(run: runner.Run, jobs: list[str]) -> None:
    """Write a copy of the workflow whose ``jobs`` only echo that they were skipped here."""
    source = run.source
    # YAML 1.1 reads a bare `on` as True: give the trigger its name back before writing.
    doc = {
        ("on" if k is True else k): v for k, v in yaml.safe_load(source.read_text(encoding="utf-8")).items()
    }
    unknown = [j for j in jobs if j not in doc["jobs"]]
    if unknown:
        raise TapError(f"--skip-jobs: {', '.join(unknown)} is not a job of {run.workflow}")
    for job in jobs:
        doc["jobs"][job]["steps"] = [{"run": f"echo 'job {job}: skipped locally (--skip-jobs)'"}]
    copy = run.out / "workflows" / run.workflow
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    run.workflow_path = copy
    run.stubbed = tuple(jobs)


def command(
    request: Request,
    *,
    approve: Sequence[str] = (),
    skip_jobs: str = "",
    stacks: str | None = None,
    out: Path | None = None,
    port: int | None = None,
) -> int:
    """Run the event's workflow through act (the embedded AWS started if none runs); 1 if a job failed."""
    validate(request, approve=approve, stacks=stacks)
    out = (out or paths.workdir() / "simulate").resolve()
    out.mkdir(parents=True, exist_ok=True)
    run = build(request, out)
    run.approvals = tuple(approve)
    skipped = [j.strip() for j in skip_jobs.split(",") if j.strip()]
    if skipped:
        stub_jobs(run, skipped)
    ui.info(f"simulating {request.event}: {run.workflow} through act; files in {out}")
    with emulator_process.owned(port):
        runner.execute(run, stacks=stacks)
    failed = [j.job for j in run.jobs if j.result == "failure"]
    (out / "last-run.json").write_text(json.dumps({"label": run.label, "failed": failed}), encoding="utf-8")
    if run.returncode != 0 or failed:
        print(
            f"error: {run.workflow} failed: job(s) {', '.join(failed) or '?'} (log: {run.folder / 'act.log'})"
        )
        return 1
    return 0
