"""The benchmark's four parts, each a ratio of medians measured here and now.

1. synth vs the provider import floor and ``cdktf synth``;
2. PR feedback (synth + plan + the comment rendered) vs ``cdktf diff`` per stack;
3. the ephemeral cycle (``scripts/tap pipeline``) vs cdktf deploy/output/destroy with
   serial pytest, and vs the slowest stack's own cycle;
4. integration tests with ``-n auto`` vs serial;
5. change-aware PR feedback (one-stack, docs-only, the workflow's critical path):
   :mod:`scripts.tapctl.bench.change_aware`.

Each part appends its :class:`~scripts.tapctl.bench.report.Comparison` rows to the run;
parts 2 and 3 return the bars of their median repetition (the waterfall).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

from scripts.tapctl.bench.measure import (
    Run,
    TimedPipeline,
    in_turn,
    median_rep,
    phase,
    recording,
    shifted,
    timed,
)
from scripts.tapctl.bench.peer import CdktfPeer
from scripts.tapctl.bench.report import Bar, Comparison
from scripts.tapctl.bench.report import Target as Goal
from scripts.tapctl.core import paths, ui
from scripts.tapctl.core.cloud import base_env
from scripts.tapctl.core.errors import TapError
from scripts.tapctl.gitops import comment, comment_inputs
from scripts.tapctl.stages import (
    apply,
    destroy,
    images,
    integration,
    outputs,
    plan,
    session,
    state,
    synth,
)
from scripts.tapctl.stages.session import Session, SessionOptions

IMPORT_FLOOR = "import cdktf_cdktf_provider_aws.provider"


# -- part 1: synth -------------------------------------------------------------------------


def part_synth(run: Run) -> None:
    floor, ours, cdktf = [], [], []
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20,18"}
    peer = run.peer(base_env())
    for rep in range(run.reps):
        ui.info(f"bench    synth rep {rep + 1}/{run.reps}")
        in_turn(
            rep,
            lambda: floor.append(
                timed(lambda: subprocess.run([sys.executable, "-c", IMPORT_FLOOR], env=env, check=True))
            ),
            lambda: ours.append(timed(lambda: synth.synth(run.target, run.only))),
            lambda: cdktf.append(timed(peer.synth)) if peer is not None else None,
        )
    run.rows.append(
        Comparison(
            "synth / import floor", "scripts/tap synth", "import floor", Goal("at_most", 1.15), ours, floor
        )
    )
    skipped = "" if peer else run.cli.message
    run.rows.append(
        Comparison(
            "synth vs cdktf synth",
            "scripts/tap synth",
            "cdktf synth",
            Goal("speedup", 1.6),
            ours,
            cdktf,
            skipped,
        )
    )


# -- parts 2 and 4: against a deployed baseline -----------------------------------------


def deploy_baseline(run: Run) -> Session:
    ui.info("bench    deploying the baseline")
    synth.synth(run.target, run.only)
    baseline = run.session()
    state.bootstrap(baseline)
    plan.plan(baseline)
    apply.apply(baseline)
    outputs.collect(baseline)
    return baseline


def pr_feedback_ours(run: Run, baseline: Session, bars: list[Bar]) -> None:
    def render() -> None:
        heading = comment.PlanReport(run.target.env.name, run.target.suffix, {})
        report = comment_inputs.load_report(paths.outdir(), heading)
        (run.out / "comment.md").write_text(comment.render(report), encoding="utf-8")

    phase(bars, "pipeline", "synth", lambda: synth.synth(run.target, run.only))
    phase(bars, "pipeline", "plan", lambda: plan.plan(baseline))
    phase(bars, "pipeline", "comment", render)


def part_pr_feedback(run: Run, baseline: Session) -> list[Bar]:
    ours, peer_times, reps, peer_reps = [], [], [], []
    peer = run.peer(baseline.cloud.env)
    fallback = run.session(parallelism=1)
    row = "peer (cdktf)" if peer else "peer (sequential terraform)"
    for rep in range(run.reps):
        ui.info(f"bench    PR feedback rep {rep + 1}/{run.reps}")

        def mine() -> None:
            bars: list[Bar] = []
            with recording(bars):
                ours.append(timed(lambda: pr_feedback_ours(run, baseline, bars)))
            reps.append((ours[-1], bars))

        def theirs() -> None:
            bars: list[Bar] = []
            if peer is not None:
                steps = [(f"diff {s}", lambda s=s: peer.diff(s)) for s in run.stacks]
            else:
                steps = [("synth", lambda: synth.synth(run.target, run.only))]
                steps.append(("plan", lambda: plan.plan(fallback)))
            peer_times.append(timed(lambda: [phase(bars, row, name, fn) for name, fn in steps]))
            peer_reps.append((peer_times[-1], bars))

        in_turn(rep, mine, theirs)
    label = "cdktf diff per stack" if peer else "terraform plan per stack, sequential"
    note = "" if peer else f"cdktf-cli unavailable ({run.cli.message}); peer is sequential terraform"
    run.rows.append(
        Comparison("PR feedback", "synth+plan+comment", label, Goal("speedup", 3), ours, peer_times, note)
    )
    run.peer_feedback = list(peer_times)
    drawn = median_rep(reps)
    return drawn + shifted(median_rep(peer_reps), min(b.start for b in drawn))


def part_tests(run: Run, baseline: Session) -> None:
    auto, serial = [], []
    for rep in range(run.reps):
        ui.info(f"bench    integration tests rep {rep + 1}/{run.reps}")
        in_turn(
            rep,
            lambda: auto.append(timed(lambda: integration.integration_tests(baseline, workers="auto"))),
            lambda: serial.append(timed(lambda: integration.integration_tests(baseline, workers="0"))),
        )
    run.rows.append(
        Comparison("integration tests", "pytest -n auto", "pytest serial", Goal("speedup", 1.6), auto, serial)
    )


# -- part 3: the ephemeral cycle --------------------------------------------------------------


def ours_cycle(run: Run, stacks: str) -> tuple[float, list[Bar]]:
    bars: list[Bar] = []
    pipeline = TimedPipeline(
        target=run.target,
        options=SessionOptions(cloud="emulator", parallelism=run.parallelism),
        terraform=run.terraform,
        stacks=stacks,
    )
    with recording(bars):
        seconds = timed(pipeline.run)
    return seconds, pipeline.bars + bars


def peer_cycle(run: Run, meta: dict[str, Any] | None = None) -> tuple[float, list[Bar]]:
    """cdktf deploy '*', cdktf output, serial pytest, cdktf destroy '*' (or sequential terraform).

    ``meta``: the synth metadata of every measured stack (which have container images);
    read from ``cdktf.out`` when not given."""
    serial = run.session(parallelism=1)
    peer = run.peer(serial.cloud.env)
    bars: list[Bar] = []
    row = "peer (cdktf)" if peer else "peer (sequential terraform)"

    def write_outputs() -> None:
        assert peer is not None
        outputs.write(peer.outputs_all(run.out / "peer-outputs.json"), paths.outputs_dir())

    state.bootstrap(serial)
    t0 = time.monotonic()
    if peer is not None:
        phase(bars, row, "deploy", lambda: peer_deploy(run, serial, peer, meta))
        phase(bars, row, "output", write_outputs)
        phase(bars, row, "test", lambda: integration.integration_tests(serial, workers="0"))
        phase(bars, row, "destroy", lambda: peer.destroy_all(run.peer_parallelism))
    else:
        phase(bars, row, "synth", lambda: synth.synth(run.target, run.only))
        phase(bars, row, "plan", lambda: plan.plan(serial))
        phase(bars, row, "apply", lambda: apply.apply(serial))
        phase(bars, row, "outputs", lambda: outputs.collect(serial))
        phase(bars, row, "test", lambda: integration.integration_tests(serial, workers="0"))
        phase(bars, row, "destroy", lambda: destroy.destroy(serial))
    return time.monotonic() - t0, bars


def peer_deploy(run: Run, serial: Session, peer: CdktfPeer, meta: dict[str, Any] | None = None) -> None:
    """``cdktf deploy '*'``; where a stack's functions are container images, what a team on
    cdktf-cli has to do too: deploy the other stacks (the ECR repositories among them), push
    the images (here the same :func:`images.publish` ours uses), then deploy those stacks."""
    if meta is None:
        meta = session.read_synth_metadata(run.target)  # ours: same code, same image tags
    missing = [s for s in run.stacks if s not in meta["stacks"]]
    if missing:
        raise TapError(
            f"the synth metadata lacks {', '.join(missing)}: synthesize every measured stack first"
        )
    with_images = [s for s in run.stacks if images.images_of(meta, s)]
    if not with_images:
        peer.deploy_all(run.peer_parallelism)
        return
    rest = [s for s in run.stacks if s not in with_images]
    if rest:
        peer.deploy(rest, run.peer_parallelism)
    for stack in with_images:
        images.publish(serial.cloud, meta, stack, log_name=f"{run.target.suffix}.peer.{stack}")
    peer.deploy(with_images, run.peer_parallelism, name="deploy.images")


def with_dependencies(stack: str, deps: dict[str, list[str]]) -> list[str]:
    """``stack`` and everything it depends on, transitively, dependencies first."""
    seen: list[str] = []

    def visit(name: str) -> None:
        for dep in deps.get(name, []):
            visit(dep)
        if name not in seen:
            seen.append(name)

    visit(stack)
    return seen


def slowest_stack(bars: list[Bar]) -> str:
    """The stack whose own plan+apply+destroy took longest in a cycle."""
    own: dict[str, float] = {}
    for bar in bars:
        if bar.row != "pipeline" and bar.stage in ("plan", "apply", "destroy"):
            own[bar.row] = own.get(bar.row, 0.0) + bar.seconds
    if not own:
        raise TapError("no per-stack timings recorded: cannot pick the slowest stack")
    return max(own, key=lambda s: own[s])


def part_ephemeral(run: Run) -> list[Bar]:
    ours: list[float] = []
    peer: list[float] = []
    solo: list[float] = []
    ours_reps: list[tuple[float, list[Bar]]] = []
    peer_reps: list[tuple[float, list[Bar]]] = []
    slowest: list[str] = []
    # The peer's image list comes from a synth of every measured stack, taken once: the
    # cdktf.out a repetition leaves behind holds only the slowest stack's cycle.
    ui.info("bench    synthesizing every measured stack once for the peer's image list (not timed)")
    meta = synth.synth(run.target, run.only)
    deps = {s: m.get("depends_on", []) for s, m in meta["stacks"].items()}
    for rep in range(run.reps):
        ui.info(f"bench    ephemeral cycle rep {rep + 1}/{run.reps}")
        in_turn(
            rep,
            lambda: ours_reps.append(ours_cycle(run, run.only)),
            lambda: peer_reps.append(peer_cycle(run, meta)),
        )
        ours.append(ours_reps[-1][0])
        peer.append(peer_reps[-1][0])
        if not slowest:
            slowest = with_dependencies(slowest_stack(ours_reps[0][1]), deps)
        solo.append(ours_cycle(run, ",".join(slowest))[0])
        ephemeral_rows(
            run, ours, peer, solo, slowest
        )  # each repetition's rows kept, also if a later one fails
    mine = median_rep(ours_reps)
    start = min(b.start for b in mine)
    return mine + shifted(median_rep(peer_reps), start)


EPHEMERAL_ROWS = ("ephemeral cycle", "ephemeral / slowest stack")


def ephemeral_rows(
    run: Run, ours: list[float], peer: list[float], solo: list[float], slowest: list[str]
) -> None:
    """Part 3's two rows from the repetitions so far (replacing the previous ones)."""
    run.rows[:] = [r for r in run.rows if r.name not in EPHEMERAL_ROWS]
    label = (
        "cdktf deploy/output/destroy + serial pytest"
        if run.cli.binary
        else "sequential terraform + serial pytest"
    )
    note = "" if run.cli.binary else f"cdktf-cli unavailable ({run.cli.message})"
    run.rows.append(
        Comparison(
            "ephemeral cycle", "scripts/tap pipeline", label, Goal("speedup", 2), list(ours), list(peer), note
        )
    )
    run.rows.append(
        Comparison(
            "ephemeral / slowest stack", "scripts/tap pipeline", f"{'+'.join(slowest)} alone",
            Goal("at_most", 1.3), list(ours), list(solo),
        )
    )  # fmt: skip
