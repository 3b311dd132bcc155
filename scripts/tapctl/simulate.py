"""``scripts/tap simulate <event>``: the real workflow file for a GitHub event, run by act.

This module only turns command-line arguments into an event
(:mod:`scripts.tapctl.act.events`), records the pull request in the fake
repository, and hands the run to :mod:`scripts.tapctl.act.runner`. The jobs,
their order, conditions and commands are the YAML's; nothing here repeats them.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import yaml

from scripts.tapctl import commands, github, paths, ui
from scripts.tapctl.act import events, runner
from scripts.tapctl.act.github_fake import Store
from scripts.tapctl.errors import TapError

EVENTS = ("pull_request", "close", "push", "destroy", "drift", "janitor")
PR_ACTIONS = ("opened", "synchronize", "reopened", "edited")
#: What each event needs on the command line.
REQUIRED = {
    "pull_request": ("pr", "base"),
    "close": ("pr",),
    "push": ("branch",),
    "destroy": ("suffix", "confirm"),
}


def register(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add ``simulate`` (the embedded AWS only: the workflows themselves say --cloud aws)."""
    p = add("simulate", "run the workflow file of a GitHub event through act, locally, on the embedded AWS")
    p.add_argument("event", choices=EVENTS)
    p.add_argument("--pr", type=_pr_number, help="pull request number (pull_request, close)")
    p.add_argument("--base", help="the PR's base branch (pull_request; close: default its last base)")
    p.add_argument("--head", default="feature/simulated", help="the PR's head branch (pull_request)")
    p.add_argument("--action", choices=PR_ACTIONS, default="opened", help="pull_request activity type")
    p.add_argument("--previous-base", help="edited: the base branch the PR was retargeted from")
    p.add_argument("--fork", metavar="OWNER/REPO", help="pull_request: the head branch lives in this fork")
    p.add_argument("--branch", help="the pushed branch (push)")
    p.add_argument("--suffix", help="the suffix to destroy (destroy)")
    p.add_argument("--confirm", help="the suffix again (destroy)")
    p.add_argument("--ref", default="main", help="destroy: the branch the dispatch runs on (default: main)")
    p.add_argument(
        "--approve",
        action="append",
        default=[],
        metavar="ENV",
        help="a reviewer approves jobs of this GitHub environment (repeatable)",
    )
    p.add_argument(
        "--skip-jobs",
        default="",
        metavar="JOB,...",
        help="replace these jobs' steps by a no-op (shown as such); e.g. lint,unit already run",
    )
    p.add_argument(
        "--stacks", default=None, help="comma-separated stack subset (as $TAP_STACKS in every job)"
    )
    p.add_argument("--out", type=Path, default=None, help="where runs, artifacts and the fake GitHub live")
    p.add_argument("--port", type=int, default=None, help="emulator port if one is started")
    p.set_defaults(handler=cmd_simulate)


def _pr_number(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 9_999_999:
        raise argparse.ArgumentTypeError(f"{text!r} is not a pull request number")
    return int(text)


def _validate(args: argparse.Namespace) -> None:
    missing = [f"--{n}" for n in REQUIRED.get(args.event, ()) if getattr(args, n) is None]
    if missing:
        raise TapError(f"simulate {args.event} needs {', '.join(missing)}")
    from lib.config import load_all, resolve_target
    from lib.stacks import select_stacks

    unknown = sorted(set(args.approve) - set(load_all()))
    if unknown:
        raise TapError(
            f"--approve {', '.join(unknown)}: not an environment (known: {', '.join(sorted(load_all()))})"
        )
    if args.fork and not github.REPOSITORY_PATTERN.fullmatch(args.fork):
        raise TapError(f"--fork {args.fork!r} is not OWNER/REPO (e.g. mallory/tap)")
    if args.stacks:
        for name, env in load_all().items():
            try:
                select_stacks(resolve_target(name, "pr0" if env.is_ephemeral else None), args.stacks)
            except ValueError as exc:
                raise TapError(f"--stacks: {exc}") from None


def _record_pull(out: Path, args: argparse.Namespace, state: str) -> str:
    """The pull request as GitHub holds it (the janitor lists open ones); returns its base."""
    store = Store(out / "github.json")
    with store.lock:
        data = store.load()
        pull = data["pulls"].get(str(args.pr), {"number": args.pr, "base": args.base or "dev"})
        pull.update(state=state, base=args.base or pull["base"])
        data["pulls"][str(args.pr)] = pull
        store.save(data)
    return str(pull["base"])


def build(args: argparse.Namespace, out: Path) -> runner.Run:
    if args.event == "pull_request":
        _record_pull(out, args, "open")
        return events.pull_request(
            out, pr=args.pr, base=args.base, head=args.head, action=args.action,
            head_repository=args.fork, previous_base=args.previous_base,
        )  # fmt: skip
    if args.event == "close":
        base = _record_pull(out, args, "closed")
        return events.pull_request(out, pr=args.pr, base=base, head=args.head, action="closed")
    if args.event == "push":
        return events.push(out, branch=args.branch)
    if args.event == "destroy":
        return events.destroy(out, suffix=args.suffix, confirm=args.confirm, ref=args.ref)
    return events.scheduled(out, workflow=f"{args.event}.yml", label=args.event)


def stub_jobs(run: runner.Run, jobs: list[str]) -> None:
    """Write a copy of the workflow whose ``jobs`` only echo that they were skipped here."""
    source = runner.WORKFLOWS / run.workflow
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


def cmd_simulate(args: argparse.Namespace) -> int:
    _validate(args)
    out = (args.out or paths.workdir() / "simulate").resolve()
    out.mkdir(parents=True, exist_ok=True)
    run = build(args, out)
    run.approvals = tuple(args.approve)
    skipped = [j.strip() for j in args.skip_jobs.split(",") if j.strip()]
    if skipped:
        stub_jobs(run, skipped)
    ui.info(f"simulating {args.event}: {run.workflow} through act; files in {out}")
    with commands.own_emulator(args.port):
        runner.execute(run, stacks=args.stacks)
    failed = [j.job for j in run.jobs if j.result == "failure"]
    (out / "last-run.json").write_text(json.dumps({"label": run.label, "failed": failed}), encoding="utf-8")
    if run.returncode != 0 or failed:
        print(
            f"error: {run.workflow} failed: job(s) {', '.join(failed) or '?'} (log: {run.folder / 'act.log'})"
        )
        return 1
    return 0
