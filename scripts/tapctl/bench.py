"""``scripts/tap bench``: this pipeline against the stock cdktf-cli workflow, in one run.

Parts (each a ratio of medians over ``--reps`` repetitions measured here and now):

1. synth of the environment's stacks vs the provider import floor and ``cdktf synth``;
2. PR feedback (synth + plan of every stack against a deployed baseline + the
   comment rendered) vs ``cdktf diff`` per stack;
3. the ephemeral cycle (``scripts/tap pipeline``'s stages) vs ``cdktf deploy '*'``,
   ``cdktf output``, serial pytest, ``cdktf destroy '*'``; and vs the slowest
   stack's own cycle;
4. integration tests with ``-n auto`` vs serial.

Everything runs on the embedded AWS (one emulator for the whole run). Output:
a table on stdout, ``<workdir>/bench/bench.json`` and ``waterfall.png``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lib.config import Target
from lib.stacks import select_stacks
from scripts.tapctl import bench_png, commands, comment, images, outputs, paths, ui
from scripts.tapctl.bench_peer import CdktfPeer, CliLookup, ensure_cli
from scripts.tapctl.bench_report import Bar, Comparison, document, render_table
from scripts.tapctl.bench_report import Target as Goal
from scripts.tapctl.errors import StageFailed, TapError
from scripts.tapctl.parallel import StackResult
from scripts.tapctl.pipeline import Pipeline
from scripts.tapctl.targets import base_env, connect
from scripts.tapctl.terraform import check_version, find_binary

PARTS = (1, 2, 3, 4)
IMPORT_FLOOR = "import cdktf_cdktf_provider_aws.provider"
MAX_REPS = 50


# -- arguments -------------------------------------------------------------------------


def reps_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--reps {text!r} is not an integer") from None
    if not 1 <= value <= MAX_REPS:
        raise argparse.ArgumentTypeError(f"--reps {value} is out of range: use 1-{MAX_REPS}")
    return value


def parts_arg(text: str) -> tuple[int, ...]:
    chosen: list[int] = []
    for item in (t.strip() for t in text.split(",")):
        if not item.isdigit() or int(item) not in PARTS:
            raise argparse.ArgumentTypeError(
                f"--parts {text!r}: {item!r} is not a part; use a comma-separated subset of 1,2,3,4"
            )
        if int(item) not in chosen:
            chosen.append(int(item))
    return tuple(sorted(chosen))


def parallelism_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"{value} is out of range: use 1-64")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    help_text = "benchmark this pipeline against the stock cdktf-cli workflow (table, JSON, PNG waterfall)"
    p = sub.add_parser("bench", help=help_text, description=help_text)
    p.add_argument(
        "-e", "--env", default=os.environ.get("ENVIRONMENT", "pr"), help="environment (default: pr)"
    )
    p.add_argument("-s", "--suffix", default=os.environ.get("ENVIRONMENT_SUFFIX"), help="suffix (pr: pr0)")
    p.add_argument("--stacks", default=None, help="comma-separated subset of the environment's stacks")
    p.add_argument("--reps", type=reps_arg, default=3, help="repetitions per measurement (default: 3)")
    p.add_argument("--parts", type=parts_arg, default=PARTS, help="subset of parts 1-4 (default: all)")
    p.add_argument(
        "-j", "--parallelism", type=parallelism_arg, default=commands.default_parallelism(),
        help="our stacks run at once (default: %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--peer-parallelism", type=parallelism_arg, default=1,
        help="the peer's cdktf deploy/destroy --parallelism (default: 1; cdktf's own: unbounded)",
    )  # fmt: skip
    p.add_argument(
        "--cdktf", default=None, help="an existing cdktf-cli 0.21 binary (default: install from npm)"
    )
    p.add_argument(
        "--no-install", action="store_true", help="do not install cdktf-cli; skip its columns if absent"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where bench.json and waterfall.png go (default: <workdir>/bench)",
    )
    p.set_defaults(handler=main)


# -- measuring -------------------------------------------------------------------------


@dataclass
class Run:
    """The state of one benchmark run."""

    target: Target
    stacks: list[str]
    reps: int
    parallelism: int
    peer_parallelism: int
    out: Path
    cli: CliLookup
    terraform: str = ""
    rows: list[Comparison] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def only(self) -> str:
        return ",".join(self.stacks)

    def session(self, parallelism: int | None = None) -> commands.Session:
        cloud = connect("emulator", self.target.env.account_id)
        return commands.Session(
            target=self.target,
            cloud=cloud,
            parallelism=parallelism or self.parallelism,
            terraform=self.terraform,
        )

    def peer(self, env: dict[str, str]) -> CdktfPeer | None:
        """The cdktf-cli peer with ``env`` (a cloud's child environment), if cdktf-cli is here."""
        if self.cli.binary is None:
            return None
        return CdktfPeer(
            self.cli.binary, self.target, env=env, outdir=self.out / "peer.out",
            stacks=self.stacks, log_dir=paths.logs_dir(),
        )  # fmt: skip


def in_turn(rep: int, *tasks: Callable[[], Any]) -> None:
    """Run ``tasks``, starting with a different one each repetition, so a load that
    changes during the run does not always favour the same side."""
    shift = rep % len(tasks)
    for task in tasks[shift:] + tasks[:shift]:
        task()


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


@contextlib.contextmanager
def recording(bars: list[Bar]) -> Iterator[list[Bar]]:
    """Record every per-stack stage ``commands`` runs (start and duration) as bars."""
    original = commands.run_stacks

    def wrapper(stage: str, *args: Any, **kwargs: Any) -> dict[str, StackResult[Any]]:
        results = original(stage, *args, **kwargs)
        bars.extend(Bar(r.stack, stage, r.started, r.seconds) for r in results.values() if not r.skipped)
        return results

    commands.run_stacks = wrapper  # type: ignore[assignment]
    try:
        yield bars
    finally:
        commands.run_stacks = original


@dataclass
class TimedPipeline(Pipeline):
    """``scripts/tap pipeline``, with each whole stage recorded as a bar of row ``pipeline``."""

    bars: list[Bar] = field(default_factory=list)

    def stage(self, name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.monotonic()
        try:
            return super().stage(name, fn)
        finally:
            self.bars.append(Bar("pipeline", name, t0, time.monotonic() - t0))


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Progress of the measured commands (and their child processes) goes to stderr."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def shifted(bars: list[Bar], start: float) -> list[Bar]:
    """``bars`` moved so the earliest starts at ``start`` (to share one time axis)."""
    t0 = min((b.start for b in bars), default=start)
    return [Bar(b.row, b.stage, b.start - t0 + start, b.seconds) for b in bars]


def median_rep(reps: list[tuple[float, list[Bar]]]) -> list[Bar]:
    """The bars of the repetition whose total is the median (the lower one for even counts)."""
    ordered = sorted(reps, key=lambda r: r[0])
    return ordered[(len(ordered) - 1) // 2][1]


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
            lambda: ours.append(timed(lambda: commands.synth(run.target, run.only))),
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


def deploy_baseline(run: Run) -> commands.Session:
    ui.info("bench    deploying the baseline")
    commands.synth(run.target, run.only)
    session = run.session()
    commands.bootstrap(session)
    commands.plan(session)
    commands.apply(session)
    commands.collect_outputs(session)
    return session


def phase(bars: list[Bar], row: str, name: str, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` and record it as one bar ``name`` of ``row``."""
    t0 = time.monotonic()
    try:
        return fn()
    finally:
        bars.append(Bar(row, name, t0, time.monotonic() - t0))


def pr_feedback_ours(run: Run, session: commands.Session, bars: list[Bar]) -> None:
    def render() -> None:
        report = comment.load_report(paths.outdir(), env=run.target.env.name, suffix=run.target.suffix)
        (run.out / "comment.md").write_text(comment.render(report), encoding="utf-8")

    phase(bars, "pipeline", "synth", lambda: commands.synth(run.target, run.only))
    phase(bars, "pipeline", "plan", lambda: commands.plan(session))
    phase(bars, "pipeline", "comment", render)


def part_pr_feedback(run: Run, session: commands.Session) -> list[Bar]:
    ours, peer_times, reps, peer_reps = [], [], [], []
    peer = run.peer(session.cloud.env)
    fallback = run.session(parallelism=1)
    row = "peer (cdktf)" if peer else "peer (sequential terraform)"
    for rep in range(run.reps):
        ui.info(f"bench    PR feedback rep {rep + 1}/{run.reps}")

        def mine() -> None:
            bars: list[Bar] = []
            with recording(bars):
                ours.append(timed(lambda: pr_feedback_ours(run, session, bars)))
            reps.append((ours[-1], bars))

        def theirs() -> None:
            bars: list[Bar] = []
            if peer is not None:
                steps = [(f"diff {s}", lambda s=s: peer.diff(s)) for s in run.stacks]
            else:
                steps = [("synth", lambda: commands.synth(run.target, run.only))]
                steps.append(("plan", lambda: commands.plan(fallback)))
            peer_times.append(timed(lambda: [phase(bars, row, name, fn) for name, fn in steps]))
            peer_reps.append((peer_times[-1], bars))

        in_turn(rep, mine, theirs)
    label = "cdktf diff per stack" if peer else "terraform plan per stack, sequential"
    note = "" if peer else f"cdktf-cli unavailable ({run.cli.message}); peer is sequential terraform"
    run.rows.append(
        Comparison("PR feedback", "synth+plan+comment", label, Goal("speedup", 3), ours, peer_times, note)
    )
    drawn = median_rep(reps)
    return drawn + shifted(median_rep(peer_reps), min(b.start for b in drawn))


def part_tests(run: Run, session: commands.Session) -> None:
    auto, serial = [], []
    for rep in range(run.reps):
        ui.info(f"bench    integration tests rep {rep + 1}/{run.reps}")
        in_turn(
            rep,
            lambda: auto.append(timed(lambda: commands.integration_tests(session, workers="auto"))),
            lambda: serial.append(timed(lambda: commands.integration_tests(session, workers="0"))),
        )
    run.rows.append(
        Comparison("integration tests", "pytest -n auto", "pytest serial", Goal("speedup", 1.6), auto, serial)
    )


# -- part 3: the ephemeral cycle --------------------------------------------------------------


def ours_cycle(run: Run, stacks: str) -> tuple[float, list[Bar]]:
    bars: list[Bar] = []
    pipeline = TimedPipeline(
        target=run.target,
        cloud="emulator",
        parallelism=run.parallelism,
        terraform=run.terraform,
        stacks=stacks,
    )
    with recording(bars):
        seconds = timed(pipeline.run)
    return seconds, pipeline.bars + bars


def peer_cycle(run: Run) -> tuple[float, list[Bar]]:
    """cdktf deploy '*', cdktf output, serial pytest, cdktf destroy '*' (or sequential terraform)."""
    session = run.session(parallelism=1)
    peer = run.peer(session.cloud.env)
    bars: list[Bar] = []
    row = "peer (cdktf)" if peer else "peer (sequential terraform)"

    def write_outputs() -> None:
        assert peer is not None
        outputs.write(peer.outputs_all(run.out / "peer-outputs.json"), paths.outputs_dir())

    commands.bootstrap(session)
    t0 = time.monotonic()
    if peer is not None:
        phase(bars, row, "deploy", lambda: peer_deploy(run, session, peer))
        phase(bars, row, "output", write_outputs)
        phase(bars, row, "test", lambda: commands.integration_tests(session, workers="0"))
        phase(bars, row, "destroy", lambda: peer.destroy_all(run.peer_parallelism))
    else:
        phase(bars, row, "synth", lambda: commands.synth(run.target, run.only))
        phase(bars, row, "plan", lambda: commands.plan(session))
        phase(bars, row, "apply", lambda: commands.apply(session))
        phase(bars, row, "outputs", lambda: commands.collect_outputs(session))
        phase(bars, row, "test", lambda: commands.integration_tests(session, workers="0"))
        phase(bars, row, "destroy", lambda: commands.destroy(session))
    return time.monotonic() - t0, bars


def peer_deploy(run: Run, session: commands.Session, peer: CdktfPeer) -> None:
    """``cdktf deploy '*'``; where a stack's functions are container images, what a team on
    cdktf-cli has to do too: deploy the other stacks (the ECR repositories among them), push
    the images (here the same :func:`images.publish` ours uses), then deploy those stacks."""
    meta = commands.read_synth_metadata(run.target)  # ours: same code, same image tags
    with_images = [s for s in run.stacks if images.images_of(meta, s)]
    if not with_images:
        peer.deploy_all(run.peer_parallelism)
        return
    rest = [s for s in run.stacks if s not in with_images]
    if rest:
        peer.deploy(rest, run.peer_parallelism)
    for stack in with_images:
        images.publish(session.cloud, meta, stack, log_name=f"{run.target.suffix}.peer.{stack}")
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
    ours, peer, solo = [], [], []
    ours_reps, peer_reps = [], []
    slowest: list[str] = []
    for rep in range(run.reps):
        ui.info(f"bench    ephemeral cycle rep {rep + 1}/{run.reps}")
        in_turn(
            rep,
            lambda: ours_reps.append(ours_cycle(run, run.only)),
            lambda: peer_reps.append(peer_cycle(run)),
        )
        ours.append(ours_reps[-1][0])
        peer.append(peer_reps[-1][0])
        if not slowest:
            meta = commands.read_synth_metadata(run.target)["stacks"]
            deps = {s: m.get("depends_on", []) for s, m in meta.items()}
            slowest = with_dependencies(slowest_stack(ours_reps[0][1]), deps)
        solo.append(ours_cycle(run, ",".join(slowest))[0])
    label = (
        "cdktf deploy/output/destroy + serial pytest"
        if run.cli.binary
        else "sequential terraform + serial pytest"
    )
    note = "" if run.cli.binary else f"cdktf-cli unavailable ({run.cli.message})"
    run.rows.append(
        Comparison("ephemeral cycle", "scripts/tap pipeline", label, Goal("speedup", 2), ours, peer, note)
    )
    run.rows.append(
        Comparison(
            "ephemeral / slowest stack", "scripts/tap pipeline", f"{'+'.join(slowest)} alone",
            Goal("at_most", 1.3), ours, solo,
        )
    )  # fmt: skip
    mine = median_rep(ours_reps)
    start = min(b.start for b in mine)
    return mine + shifted(median_rep(peer_reps), start)


# -- the command ----------------------------------------------------------------------------


def prepare(args: argparse.Namespace) -> Run:
    """Validate everything before anything is measured."""
    from scripts.tapctl.cli import resolve  # the CLI's suffix rule (pr -> pr0)

    target = resolve(args)
    try:
        stacks = select_stacks(target, args.stacks)
    except ValueError as exc:
        raise TapError(f"--stacks: {exc}") from None
    if not target.env.protection.destroy_allowed:
        raise TapError(f"environment {target.env.name!r} is protected: the benchmark deploys and destroys it")
    out = args.out or paths.workdir() / "bench"
    out.mkdir(parents=True, exist_ok=True)
    if args.cdktf or not args.no_install:
        ui.info("bench    looking for cdktf-cli (installing it from npm if absent)")
    cli = ensure_cli(paths.workdir() / "bench" / "cdktf-cli", args.cdktf, install_missing=not args.no_install)
    ui.info(f"bench    {cli.message}")
    return Run(target, stacks, args.reps, args.parallelism, args.peer_parallelism, out, cli)


def execute(run: Run, parts: tuple[int, ...]) -> None:
    """Run the parts; each finished one leaves its rows in ``run.rows`` and the latest
    waterfall in ``run.bars``, so a later failure loses nothing already measured."""
    run.terraform = find_binary()
    check_version(run.terraform)
    if 1 in parts:
        part_synth(run)
    if not {2, 3, 4} & set(parts):
        return
    with commands.own_emulator():
        if {2, 4} & set(parts):
            session = deploy_baseline(run)
            try:
                if 2 in parts:
                    run.bars = part_pr_feedback(run, session)
                if 4 in parts:
                    part_tests(run, session)
            finally:
                commands.destroy(session)
        if 3 in parts:
            run.bars = part_ephemeral(run)


def main(args: argparse.Namespace) -> int:
    run = prepare(args)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    failure: BaseException | None = None
    with stdout_to_stderr():
        try:
            execute(run, args.parts)
        except (TapError, StageFailed, KeyboardInterrupt) as exc:
            failure = exc
    waterfall = run.bars
    meta = {
        "started": started,
        "environment": run.target.env.name,
        "suffix": run.target.suffix,
        "stacks": run.stacks,
        "reps": run.reps,
        "parts": list(args.parts),
        "parallelism": run.parallelism,
        "peer_parallelism": run.peer_parallelism,
        "cpus": os.cpu_count(),
        "cdktf_cli": run.cli.message,
        "stopped_early": None if failure is None else str(failure).splitlines()[0] or type(failure).__name__,
    }
    doc = document(run.rows, waterfall, meta=meta)
    (run.out / "bench.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    if run.rows:
        print(render_table(run.rows))
    print(f"\nJSON: {run.out / 'bench.json'}")
    if waterfall:
        title = f"{run.target.env.name}/{run.target.suffix}: {', '.join(run.stacks)}"
        print(f"waterfall: {bench_png.write_waterfall(waterfall, run.out / 'waterfall.png', title)}")
    if failure is not None:
        ui.info(f"bench    stopped early (rows above: the parts finished before): {meta['stopped_early']}")
        raise failure
    return 0
