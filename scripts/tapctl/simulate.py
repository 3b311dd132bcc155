"""``scripts/tap simulate <event>``: the workflows' job sequence, run locally on the embedded AWS.

Each event runs the jobs of its workflow in the workflow's order
(:data:`WORKFLOW_JOBS`, checked against ``.github/workflows`` by the unit
tests), with the same CLI calls the workflow steps make. Every environment
instance gets its own ``cdktf.out`` and outputs directory (like separate CI
jobs passing artifacts), and what GitHub would show -- the PR comment per
target environment, the job summary, drift issues -- is written to files in
``--out``. One emulator serves a whole sequence of events when it is started
beforehand (``scripts/tap emulator start``); otherwise each event starts and
stops its own.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lib.config import Target, load_all, resolve_target
from scripts.tapctl import commands, comment, janitor, outdirs, paths, promotion, seal, ui
from scripts.tapctl.errors import StageFailed, TapError
from scripts.tapctl.targets import connect

#: Workflow file and job ids, in run order, for each simulated event.
WORKFLOW_JOBS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pull_request": (
        "pull-request.yml",
        (
            "context",
            "promotion",
            "lint",
            "unit",
            "synth",
            "plan",
            "comment",
            "deploy",
            "integration",
            "report",
        ),
    ),
    "push": ("deploy.yml", ("context", "synth", "plan", "apply", "summary")),
    "close": ("pr-closed.yml", ("context", "destroy")),
    "destroy": ("destroy.yml", ("validate", "destroy")),
    "drift": ("drift.yml", ("environments", "drift", "report")),
    "janitor": ("janitor.yml", ("context", "janitor")),
}
#: Jobs the simulation does not repeat: `scripts/tap check -e lint,unit` runs them.
LOCAL_SKIPS = {"lint": "run `scripts/tap check -e lint`", "unit": "run `scripts/tap check -e unit`"}


@dataclass
class Simulator:
    """Runs jobs, records their time and status, and owns the output files."""

    event: str
    out: Path
    parallelism: int
    stacks: str | None = None
    timer: ui.StageTimer = field(default_factory=ui.StageTimer)
    failures: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    #: The stand-in for the repository secret TAP_PLAN_KEY (deploy: plan job -> apply job).
    plan_key: str = field(default_factory=lambda: os.environ.get(seal.KEY_ENV) or secrets.token_urlsafe(48))

    def __post_init__(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        self.summary_path = self.out / f"step-summary-{self.event}.md"
        self.summary_path.write_text("", encoding="utf-8")
        self.files["job summary"] = self.summary_path

    # -- jobs ---------------------------------------------------------------------
    def job(self, name: str, fn: Callable[[], Any], *, needs_ok: bool = True) -> Any:
        """Run one job; with ``needs_ok`` it is skipped after an earlier failure (like `needs:`)."""
        if needs_ok and self.failures:
            self.timer.record(name, 0.0, "skipped (a needed job failed)")
            ui.info(f"== job {name}: skipped (a needed job failed)")
            return None
        ui.info(f"== job {name}")
        t0 = time.monotonic()
        try:
            value = fn()
        except (StageFailed, TapError) as exc:
            self.timer.record(name, time.monotonic() - t0, "FAILED")
            self.failures.append(f"{name}: {exc}")
            ui.info(f"== job {name} FAILED: {exc}")
            return None
        self.timer.record(name, time.monotonic() - t0, "ok")
        return value

    def skip(self, name: str, reason: str) -> None:
        self.timer.record(name, 0.0, f"skipped locally ({reason})")

    def summarize(self, markdown: str) -> None:
        with self.summary_path.open("a", encoding="utf-8") as fh:
            fh.write(markdown.rstrip() + "\n\n")

    def write(self, label: str, name: str, text: str) -> Path:
        path = self.out / name
        path.write_text(text, encoding="utf-8")
        self.files[label] = path
        return path

    def finish(self) -> None:
        print(self.timer.table())
        for label, path in self.files.items():
            print(f"{label}: {path}")
        (self.out / f"timings-{self.event}.json").write_text(
            json.dumps(
                [{"job": j, "seconds": round(s, 1), "status": st} for j, s, st in self.timer.rows], indent=2
            )
        )
        if self.failures:
            raise StageFailed(f"simulated {self.event} failed: " + " | ".join(self.failures))

    # -- environments -------------------------------------------------------------
    def workspace(self, target: Target) -> Path:
        return self.out / "work" / target.suffix

    def session(self, target: Target) -> commands.Session:
        return commands.Session(
            target=target, cloud=connect("emulator", target.env.account_id), parallelism=self.parallelism
        )

    def synth(self, target: Target) -> None:
        with outdirs.scoped(self.workspace(target)):
            commands.synth(target, self.stacks)

    def in_env(self, target: Target, fn: Callable[[commands.Session], Any]) -> Any:
        with outdirs.scoped(self.workspace(target)):
            return fn(self.session(target))

    def deployed(self, target: Target) -> bool:
        """Does every selected stack of ``target`` have state?"""

        def check(session: commands.Session) -> bool:
            import boto3

            state = target.env.state
            s3 = boto3.client("s3", region_name=state.region, **commands._boto_kwargs(session.cloud))
            if not commands._bucket_exists(s3, state.bucket):
                return False
            return all(
                commands._object_exists(s3, state.bucket, f"{target.suffix}/{s}.tfstate")
                for s in session.stacks
            )

        return bool(self.in_env(target, check))

    def deploy(self, target: Target) -> None:
        """bootstrap (the emulator's state bucket) -> plan -> apply -> outputs."""

        def run(session: commands.Session) -> None:
            ui.info(commands.bootstrap(session))
            commands.plan(session)
            commands.apply(session)
            flat, _ = commands.collect_outputs(session)
            self.files[f"outputs artifact ({target.suffix})"] = flat

        self.in_env(target, run)

    def test(self, target: Target, counts: dict[str, int] | None = None) -> dict[str, int] | None:
        """Run the integration tests; their counts go into ``counts`` even when they fail."""

        def run(session: commands.Session) -> dict[str, int] | None:
            junit = paths.outputs_dir() / "integration-junit.xml"
            try:
                commands.integration_tests(session)
            finally:
                found = comment.junit_counts(junit)
                if found is not None and counts is not None:
                    counts.update(found)
                self.summarize(f"**Integration tests `{target.suffix}`:** {comment.describe_tests(found)}")
            return found

        return self.in_env(target, run)

    def destroy(self, target: Target) -> None:
        def run(session: commands.Session) -> None:
            for stack, result in commands.destroy(session).items():
                ui.info(f"destroy  {stack}: {result.value}")

        self.synth(target)
        self.in_env(target, run)

    def plan_report(self, target: Target, **extra: Any) -> comment.PlanReport:
        report = comment.load_report(
            self.workspace(target) / "cdktf.out", env=target.env.name, suffix=target.suffix, commit=_commit()
        )
        for key, value in extra.items():
            setattr(report, key, value)
        return report


# -- events -----------------------------------------------------------------------------


def pull_request(sim: Simulator, *, pr: int, base: str, head: str) -> None:
    envs = load_all()
    ctx: dict[str, Target] = {}

    def context() -> None:
        env = promotion.env_for_branch(base, envs)
        ctx["base"] = resolve_target(env.name, None)
        ctx["pr"] = resolve_target(promotion.ephemeral_template(envs).name, f"pr{pr}")
        ui.info(f"PR #{pr} {head} -> {base}: plans {ctx['base'].suffix}, deploys {ctx['pr'].suffix}")

    def check_promotion() -> None:
        decision = promotion.check_promotion(base=base, head=head, envs=envs)
        sim.summarize(f"**Promotion check:** {decision.reason}")
        if not decision.allowed:
            raise promotion.PromotionRefused(decision.reason)

    def synth() -> None:
        sim.synth(ctx["base"])
        sim.synth(ctx["pr"])

    def plan() -> None:
        base_target = ctx["base"]
        if not sim.deployed(base_target):
            ui.info(
                f"baseline: {base_target.suffix} is not deployed; deploying it first (as its branch would)"
            )
            sim.deploy(base_target)
        sim.in_env(base_target, commands.plan)

    def render_comment(results: list[comment.JobResult] | None = None) -> None:
        base_target = ctx["base"]
        report = sim.plan_report(base_target)
        if results:
            report.results_title = f"Ephemeral environment `{ctx['pr'].suffix}`"
            report.results = results
        text = comment.render(report)
        sim.write(f"PR comment ({base_target.env.name})", f"comment-{base_target.env.name}.md", text)
        sim.summarize(text)

    sim.job("context", context)
    before = len(sim.failures)
    sim.job("promotion", check_promotion, needs_ok=False)
    promotion_failed = sim.failures[before:]
    del sim.failures[before:]  # like a separate required check: later jobs do not need it
    for name in ("lint", "unit"):
        sim.skip(name, LOCAL_SKIPS[name])
    sim.job("synth", synth)
    sim.job("plan", plan)
    sim.job("comment", render_comment)
    deployed = sim.job("deploy", lambda: sim.deploy(ctx["pr"]) or True)
    counts: dict[str, int] = {}
    tested = sim.job("integration", lambda: sim.test(ctx["pr"], counts) or True)
    results = [
        comment.JobResult("deploy", "success" if deployed else "failure"),
        comment.JobResult(
            "integration tests",
            "success" if tested else ("failure" if deployed else "skipped"),
            comment.describe_tests(counts or None),
        ),
    ]
    if "base" in ctx:
        sim.job("report", lambda: render_comment(results), needs_ok=False)
    sim.failures[:0] = promotion_failed


def push(sim: Simulator, *, branch: str) -> None:
    ctx: dict[str, Target] = {}
    sealed = sim.out / "plans.sealed"

    def context() -> None:
        env = promotion.env_for_branch(branch)
        ctx["t"] = resolve_target(env.name, None)

    def plan() -> None:
        target = ctx["t"]

        def run(session: commands.Session) -> None:
            ui.info(commands.bootstrap(session))  # the emulator has no admin-created bucket
            commands.plan(session)

        sim.in_env(target, run)
        text = comment.render(sim.plan_report(target, title="Deploy plan"))
        sim.write(f"plan summary ({target.env.name})", f"plan-{target.env.name}.md", text)
        sim.summarize(text)

        def hand_over(session: commands.Session) -> None:
            """As the workflow does: only the sealed plans reach the apply job."""
            seal.seal(paths.outdir(), sealed, sim.plan_key)
            for stack in session.stacks:
                for name in (commands.PLAN_FILE, "plan.json"):
                    (session.stack_dir(stack) / name).unlink(missing_ok=True)

        sim.in_env(target, hand_over)
        sim.files[f"plan artifact, sealed ({target.env.name})"] = sealed

    def apply() -> None:
        target = ctx["t"]
        if target.env.protection.approval_required:
            note = (
                f"approval gate: environment `{target.env.name}` requires approval "
                "(GitHub environment reviewers); approved automatically in the simulation"
            )
            ui.info(note)
            sim.summarize(f"**{note}**")

        def run(session: commands.Session) -> None:
            seal.unseal(sealed, paths.outdir(), sim.plan_key)
            commands.apply(session)
            flat, _ = commands.collect_outputs(session)
            sim.files[f"outputs artifact ({target.suffix})"] = flat

        sim.in_env(target, run)
        # In the same job: a second job in a gated GitHub environment would ask for approval again.
        sim.test(target)

    def summary() -> None:
        target = ctx["t"]
        applied = "success" if not sim.failures else "failure"
        report = sim.plan_report(
            target, title="Deploy", results_title=f"Deploy `{target.suffix}` from `{branch}`"
        )
        report.results = [comment.JobResult("apply, outputs and integration tests", applied)]
        sim.summarize(comment.render(report))

    sim.job("context", context)
    sim.job("synth", lambda: sim.synth(ctx["t"]))
    sim.job("plan", plan)
    sim.job("apply", apply)
    if "t" in ctx:
        sim.job("summary", summary, needs_ok=False)


def close(sim: Simulator, *, pr: int) -> None:
    ctx: dict[str, Target] = {}

    def context() -> None:
        ctx["t"] = resolve_target(promotion.ephemeral_template().name, f"pr{pr}")

    sim.job("context", context)
    sim.job("destroy", lambda: sim.destroy(ctx["t"]))
    if not sim.failures:
        sim.summarize(f"Destroyed `pr{pr}` and its state (PR #{pr} closed).")


def destroy_dispatch(sim: Simulator, *, suffix: str, confirm: str) -> None:
    from scripts.tapctl import gitops_commands

    ctx: dict[str, Target] = {}

    def validate() -> None:
        ctx["t"] = gitops_commands.destroy_target(suffix, confirm, cloud="aws")

    sim.job("validate", validate)
    sim.job("destroy", lambda: sim.destroy(ctx["t"]))
    if not sim.failures:
        sim.summarize(f"Destroyed `{suffix}` (workflow_dispatch, confirmed).")


def drift_check(sim: Simulator, *, env_names: list[str] | None) -> None:
    from scripts.tapctl import gitops_commands

    names: list[str] = []

    def environments() -> None:
        names.extend(env_names or promotion.long_lived())

    def run_drift() -> None:
        for name in names:
            target = resolve_target(name, None)
            sim.synth(target)
            if not sim.deployed(target):
                ui.info(f"drift: {name} is not deployed; nothing to compare")
                continue
            path = sim.out / f"drift-{name}.md"
            sim.in_env(target, lambda s, p=path: gitops_commands.drift_run(s, report=p, commit=_commit()))
            sim.files[f"drift issue ({name})"] = path

    sim.job("environments", environments)
    sim.job("drift", run_drift)
    sim.job("report", lambda: sim.summarize("Drift reports: " + ", ".join(names)), needs_ok=False)


def janitor_sweep(sim: Simulator, *, open_prs: set[int], now: datetime | None) -> None:
    from scripts.tapctl import gitops_commands

    names: list[str] = []

    def run() -> None:
        name = names[0]
        text = gitops_commands.janitor_run(
            sim.session(resolve_target(name, "pr0")),
            open_prs=open_prs,
            now=now or janitor.now_utc(),
            dry_run=False,
            session_for=lambda suffix: sim.session(resolve_target(name, suffix)),
            workroot=sim.out / "work" / "janitor",
        )
        sim.write("janitor report", "janitor.md", text)
        sim.summarize(text)

    sim.job("context", lambda: names.append(promotion.ephemeral_template().name))
    sim.job("janitor", run)


def _commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=paths.ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
    except OSError:
        return None
    return out.stdout.strip() or None


def clean(out: Path) -> None:
    work = out / "work"
    if work.exists():
        shutil.rmtree(work)
