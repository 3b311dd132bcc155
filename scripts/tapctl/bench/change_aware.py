"""Part 5: change-aware PR feedback, run as the PR workflow runs it.

A pull request is a copy of the work tree with one change in it: a one-line edit of
a ``file_processing`` handler, or a README-only edit. In that copy the commands of
the jobs up to the comment run as the workflow runs them (``scripts/tap synth``;
``changes``: ``changed``; ``plan``, one job per changed stack: ``plan --speculative
--stacks <stack>``; ``plan-summary``: ``comment``), one after another, against the
baseline part 2 deployed (its applies recorded every stack's fingerprint). Terraform
is reached through a wrapper that logs each run's stack directory, so "plans only
``file_processing``" and "no Terraform run at all" are counted, not assumed.

(a) one-stack change vs the peer's ``cdktf diff`` of every stack (part 2's, same run);
(b) docs-only: Terraform runs (must be 0) and feedback time;
(c) the PR workflow's critical path up to the comment, each job on its own runner:
    the ``needs:`` graph read from ``.github/workflows/pull-request.yml``, every job on
    the path timed here (its ``scripts/tap`` commands; the ``plan`` matrix as its
    slowest stack, each stack planned alone as on its own runner; runner start,
    checkout and cache restore are not measurable here and not counted), vs the
    peer's one job (lint + unit + ``cdktf diff`` per stack).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from scripts.tapctl.bench.measure import Run, in_turn, phase, timed
from scripts.tapctl.bench.report import Bar, Comparison, median
from scripts.tapctl.bench.report import Target as Goal
from scripts.tapctl.core import paths, ui
from scripts.tapctl.core.errors import TapError
from scripts.tapctl.gitops import changes

#: the one-stack change: a handler edit in file_processing (issue 14, item 5a)
EDITED_STACK = "file_processing"
HANDLER = Path("lib/lambda/file_processing/api/handler.py")
HANDLER_EDIT = "\n# bench: a one-line handler edit (scripts/tap bench, part 5)\n"
DOCS = Path("README.md")
DOCS_EDIT = "\n<!-- bench: a docs-only edit (scripts/tap bench, part 5) -->\n"
#: what a checkout does not carry (local state, caches, other outputs)
NOT_CHECKED_OUT = (
    ".git", ".tap", ".venv", ".venv-light", ".tox", "build", "cdktf.out", "node_modules",
    "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".coverage*",
)  # fmt: skip
WORKFLOW = Path(".github/workflows/pull-request.yml")
#: the job whose end is the PR feedback (it renders the comment the comment job posts)
FEEDBACK_JOB = "plan-summary"
PR_NUMBER = "5"

#: what the wrapper logs for a version check (not a run on a stack)
VERSION_CHECK = ("version", "-version", "--version")
WRAPPER = """#!/bin/sh
# terraform, counted: each run's stack directory, one line (scripts/tap bench, part 5)
printf '%s %s\\n' "$(basename "$PWD")" "$1" >> '{log}'
exec '{real}' "$@"
"""


@dataclass
class Checkout:
    """A copy of the work tree with one change, as a PR's runner checks it out."""

    name: str
    root: Path
    runs_log: Path

    def _runs(self) -> list[tuple[str, str]]:
        """(directory, subcommand) of each Terraform run since the log was last cleared;
        ``terraform version`` (the CLI's preflight check) is not a run on a stack."""
        if not self.runs_log.exists():
            return []
        runs = []
        for line in self.runs_log.read_text(encoding="utf-8").splitlines():
            directory, _, verb = line.partition(" ")
            if directory and verb not in VERSION_CHECK:
                runs.append((directory, verb))
        return runs

    def terraform_stacks(self) -> list[str]:
        """The stack directories Terraform ran in."""
        return sorted({directory for directory, _ in self._runs()})

    def terraform_runs(self) -> int:
        return len(self._runs())


def checkout(source: Path, dest: Path, name: str, *, edit: Path, text: str, terraform: str) -> Checkout:
    """``source``'s work tree copied to ``dest`` with ``text`` appended to ``edit``."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(*NOT_CHECKED_OUT), symlinks=True)
    target = dest / edit
    if not target.is_file():
        raise TapError(f"bench part 5: {edit} is not a file in {source}: cannot make the {name} change")
    target.write_text(target.read_text(encoding="utf-8") + text, encoding="utf-8")
    log = dest / ".bench-terraform-runs.log"
    wrapper = dest / ".bench-terraform"
    wrapper.write_text(WRAPPER.format(log=log, real=terraform), encoding="utf-8")
    wrapper.chmod(0o755)
    return Checkout(name, dest, log)


def tap(root: Path, args: list[str], env: Mapping[str, str], log: Path) -> None:
    """``scripts/tap ARGS`` in ``root``, as a workflow step runs it (output to ``log``)."""
    with log.open("ab") as fh:
        fh.write(f"$ scripts/tap {' '.join(args)}\n".encode())
        fh.flush()
        proc = subprocess.run(
            [str(root / "scripts" / "tap"), *args], cwd=root, env=dict(env), stdout=fh,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").strip().splitlines()[-12:])
        command = " ".join(args)
        raise TapError(
            f"bench part 5: `scripts/tap {command}` failed (exit {proc.returncode}) [log: {log}]\n{tail}"
        )


def step_env(run: Run, tree: Checkout | None, **extra: str) -> dict[str, str]:
    """The environment of a workflow step here: the embedded AWS this run owns, the
    toolchain already installed, the shared work dir, Terraform counted."""
    env = {
        **os.environ,
        "TAP_CLOUD": "emulator",
        "TAP_VENV": sys.prefix,
        "TAP_WORKDIR": str(paths.workdir()),
        "ENVIRONMENT": run.target.env.name,
        "ENVIRONMENT_SUFFIX": run.target.suffix,
    }
    for key in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ACTIONS", "TAP_STACKS"):
        env.pop(key, None)
    if run.only:  # synth the stacks this run measures (the plan job then acts on what was synthesized)
        env["TAP_STACKS"] = run.only
    if tree is not None:
        env["CDKTF_OUTDIR"] = str(tree.root / "cdktf.out")
        env["TERRAFORM_BINARY"] = str(tree.root / ".bench-terraform")
    env.update(extra)
    return env


def read_changed(tree: Checkout) -> list[str]:
    """The stacks ``scripts/tap changed`` answered (it saves its answer next to the synth)."""
    detected = changes.load(tree.root / "cdktf.out")
    if detected is None:
        raise TapError(f"bench part 5: `scripts/tap changed` saved no answer in {tree.root / 'cdktf.out'}")
    return detected.stacks


@dataclass
class PlanJobs:
    """One PR's jobs up to the comment, as timed in a checkout."""

    synth: float
    #: job -> seconds: ``changes``, ``plan`` (the matrix: its slowest stack), ``plan-summary``
    jobs: dict[str, float]
    #: every stack's own plan, one after another (the matrix's runners, on one machine)
    plans: list[float]
    stacks: list[str]

    @property
    def feedback(self) -> float:
        """On one machine, in turn: synth, changed, each stack's plan, comment."""
        return self.synth + self.jobs["changes"] + sum(self.plans) + self.jobs[FEEDBACK_JOB]


def plan_job(run: Run, tree: Checkout, bars: list[Bar], *, force_all: bool = False) -> PlanJobs:
    """Synth, then the PR workflow's steps up to the comment in ``tree``: ``changed``,
    a speculative plan of each changed stack on its own (a job each), ``comment``.
    ``force_all``: ``changed --all``, the jobs of a change that touches every stack."""
    env = step_env(run, tree)
    log = paths.logs_dir() / f"bench.part5.{tree.name}.log"
    row = f"{'all-stack' if force_all else tree.name} PR"

    def step(stage: str, args: list[str]) -> float:
        return timed(lambda: phase(bars, row, stage, lambda: tap(tree.root, args, env, log)))

    synth_s = step("synth", ["synth"])
    tree.runs_log.unlink(missing_ok=True)
    changes_s = step("changed", ["changed", "--all"] if force_all else ["changed"])
    stacks = read_changed(tree)
    # the plan matrix (skipped when nothing changed): one runner per stack
    plans = [step(f"plan {stack}", ["plan", "--speculative", "--stacks", stack]) for stack in stacks]
    # each plan left its own summary; the plan-summary job has them all (as downloaded artifacts)
    comment_s = step("comment", ["comment", "--out", str(tree.root / "build" / "comment" / "comment.md")])
    jobs = {"changes": changes_s, "plan": max(plans, default=0.0), FEEDBACK_JOB: comment_s}
    return PlanJobs(synth_s, jobs, plans, stacks)


# -- (c) the critical path ------------------------------------------------------------------


def workflow_needs(path: Path) -> dict[str, list[str]]:
    """Each job of a workflow file and the jobs it ``needs:``."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        jobs = doc["jobs"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise TapError(f"{path}: cannot read its jobs ({exc})") from None
    needs: dict[str, list[str]] = {}
    for name, job in jobs.items():
        raw = (job or {}).get("needs", [])
        needs[name] = [raw] if isinstance(raw, str) else list(raw)
    return needs


def critical_path(
    needs: Mapping[str, list[str]], seconds: Mapping[str, float], end: str
) -> tuple[float, list[str]]:
    """The longest chain of jobs ending with ``end`` (each job starts when all it needs
    have finished, each on its own runner): total seconds and the chain, first job first."""
    memo: dict[str, tuple[float, list[str]]] = {}

    def longest(job: str, trail: tuple[str, ...]) -> tuple[float, list[str]]:
        if job in trail:
            raise TapError(f"jobs {' -> '.join((*trail, job))}: a cycle in needs:")
        if job not in needs:
            raise TapError(f"job {job!r} is not in the workflow (jobs: {', '.join(needs)})")
        if job not in seconds:
            raise TapError(f"job {job!r} is on the path to {end!r} but was not timed")
        if job not in memo:
            before = [longest(dep, (*trail, job)) for dep in needs[job]]
            total, chain = max(before, key=lambda b: b[0], default=(0.0, []))
            memo[job] = (total + seconds[job], [*chain, job])
        return memo[job]

    return longest(end, ())


@dataclass
class Jobs:
    """The PR workflow's jobs before the plan job, each timed once (they do not depend on the change)."""

    seconds: dict[str, float]
    peer_extra: float  # lint + unit: what the peer's one job runs before its diffs


def time_jobs(run: Run) -> Jobs:
    """Time the jobs the plan job needs, as their steps are run (``scripts/tap`` commands)."""
    root = paths.ROOT
    env = step_env(run, None, CDKTF_OUTDIR=str(run.out / "part5-synth-job"))
    plain = {
        k: v for k, v in os.environ.items() if k not in ("ENVIRONMENT", "ENVIRONMENT_SUFFIX", "CDKTF_OUTDIR")
    }
    log = paths.logs_dir() / "bench.part5.jobs.log"
    ui.info("bench    part 5: preparing the light venv and the tox envs (not timed)")
    tap(root, ["resolve", "--branch", "dev"], env, log)
    warm = subprocess.run([sys.executable, "-m", "tox", "-e", "lint,unit", "--notest"], cwd=root, env=plain,
                          stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, check=False)  # fmt: skip
    if warm.returncode != 0:
        raise TapError("bench part 5: `tox -e lint,unit --notest` failed: cannot time the lint and unit jobs")
    seconds: dict[str, float] = {}
    ui.info("bench    part 5: timing the context, promotion, lint, unit and synth jobs (once)")
    seconds["context"] = timed(
        lambda: (
            tap(root, ["resolve", "--branch", "dev"], env, log),
            tap(root, ["resolve", "--pr", PR_NUMBER], env, log),
        )
    )
    seconds["promotion"] = timed(
        lambda: tap(root, ["promotion-check", "--base", "dev", "--head", "feature/bench"], env, log)
    )
    pr_target = f"{run.target.env.name}/pr{PR_NUMBER}={run.out / 'part5-synth-job-pr'}"
    # as the synth job runs it: both targets in one process
    seconds["synth"] = timed(lambda: tap(root, ["synth", "--also", pr_target], env, log))
    for job in ("lint", "unit"):
        seconds[job] = timed(lambda job=job: tap(root, ["check", "-e", job], plain, log))
    return Jobs(seconds, seconds["lint"] + seconds["unit"])


# -- the part -------------------------------------------------------------------------------


def part_change_aware(run: Run, peer: list[float]) -> None:
    """(a)-(c); ``peer`` is part 2 of the same run: the peer's ``cdktf diff`` of every
    stack, per repetition (its work does not depend on which stack changed)."""
    if not peer:
        raise TapError("bench part 5 needs part 2 in the same run (the peer's diff of every stack)")
    terraform = run.terraform
    one = checkout(
        paths.ROOT,
        run.out / "pr-one-stack",
        "one-stack",
        edit=HANDLER,
        text=HANDLER_EDIT,
        terraform=terraform,
    )
    docs = checkout(
        paths.ROOT, run.out / "pr-docs-only", "docs-only", edit=DOCS, text=DOCS_EDIT, terraform=terraform
    )
    one_s: list[float] = []
    docs_s: list[float] = []
    one_job: list[dict[str, float]] = []
    all_job: list[dict[str, float]] = []
    docs_runs: list[int] = []
    one_runs: list[int] = []
    bars: list[Bar] = []
    for rep in range(run.reps):
        ui.info(f"bench    change-aware PR feedback rep {rep + 1}/{run.reps}")

        def one_stack() -> None:
            done = plan_job(run, one, bars)
            planned = one.terraform_stacks()
            if done.stacks != [EDITED_STACK] or planned != [EDITED_STACK]:
                raise TapError(
                    f"bench part 5: a {HANDLER} edit changed {done.stacks or 'nothing'} and Terraform ran in "
                    f"{planned or 'no stack'}; expected {EDITED_STACK} alone"
                )
            one_s.append(done.feedback)
            one_job.append(done.jobs)
            one_runs.append(one.terraform_runs())

        def docs_only() -> None:
            done = plan_job(run, docs, bars)
            if done.stacks:
                raise TapError(f"bench part 5: a README-only edit changed {', '.join(done.stacks)}")
            docs_s.append(done.feedback)
            docs_runs.append(docs.terraform_runs())

        def all_stacks_changed() -> None:
            done = plan_job(run, docs, bars, force_all=True)
            if set(done.stacks) != set(run.stacks):  # in dependency-level order, not the run's
                raise TapError(f"bench part 5: `changed --all` gave {done.stacks}, not every stack")
            all_job.append(done.jobs)

        in_turn(rep, one_stack, docs_only, all_stacks_changed)
    jobs = time_jobs(run)
    needs = workflow_needs(paths.ROOT / WORKFLOW)
    peer_job = [jobs.peer_extra + p for p in peer]
    measured = Measured(one_s, one_job, docs_s, docs_runs, one_runs, all_job)
    add_rows(run, measured, peer=peer, peer_job=peer_job, jobs=jobs, needs=needs)
    run.bars = run.bars or bars


@dataclass
class Measured:
    """Part 5's repetitions: feedback seconds (synth + the jobs' steps in turn), each
    repetition's job seconds up to the comment, Terraform runs."""

    one: list[float]
    one_job: list[dict[str, float]]
    docs: list[float]
    docs_runs: list[int]
    one_runs: list[int]
    all_job: list[dict[str, float]]  # the jobs of a change to every stack (`changed --all`)


def add_rows(
    run: Run,
    m: Measured,
    *,
    peer: list[float],
    peer_job: list[float],
    jobs: Jobs,
    needs: Mapping[str, list[str]],
) -> None:
    diffs = "cdktf diff per stack"
    run.rows.append(
        Comparison(
            "(a) PR feedback, one stack", f"{EDITED_STACK} handler edit", diffs, Goal("speedup", 5),
            m.one, peer,
            f"synth + changed + plan --speculative --stacks {EDITED_STACK} + comment, in turn; Terraform ran "
            f"{median(m.one_runs):g} times, all in {EDITED_STACK}; "
            f"peer: part 2's diffs of all {len(run.stacks)} stacks",
        )
    )  # fmt: skip
    run.rows.append(
        Comparison(
            "(b) docs-only PR", "README edit: Terraform runs", diffs, Goal("none", 1),
            [float(n) for n in m.docs_runs], [float(len(run.stacks))] * len(peer),
            "peer: one cdktf diff (a terraform plan) per stack", unit="runs",
        )
    )  # fmt: skip
    run.rows.append(
        Comparison(
            "(b) docs-only PR feedback", "synth + changed + comment", diffs, Goal("speedup", 5), m.docs, peer
        )
    )
    timed_jobs = ", ".join(f"{j} {s:.0f}s" for j, s in sorted(jobs.seconds.items()))
    for name, plan_times in (("one stack", m.one_job), ("all stacks", m.all_job)):
        found = [critical_path(needs, {**jobs.seconds, **p}, FEEDBACK_JOB) for p in plan_times]
        run.rows.append(
            Comparison(
                f"(c) PR critical path, {name}", "a runner per job", "peer: one job", Goal("speedup", 3),
                [total for total, _ in found], peer_job,
                f"path {' -> '.join(found[0][1])}; jobs timed once: {timed_jobs}; changes, plan (a runner "
                "per stack: the slowest) and plan-summary timed per rep; "
                "peer's job = lint + unit + its diffs; runner start, checkout and cache restore not counted",
            )
        )  # fmt: skip
