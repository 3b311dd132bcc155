"""``scripts/tap bench``: this pipeline against the stock cdktf-cli workflow, in one run.

:func:`prepare` validates the options, :func:`execute` runs the chosen parts
(:mod:`scripts.tapctl.bench.parts`, each a ratio of medians over ``--reps``
repetitions measured here and now) around one emulator and one deployed baseline,
and :func:`main` writes what was measured, also when a later part fails: a table on
stdout, ``<workdir>/bench/bench.json`` and the chart ``waterfall.png`` (matplotlib, in its
own venv: :mod:`scripts.tapctl.bench.chart_tool`; not drawn, with the reason, when that
venv cannot be installed or ``--no-install`` finds it absent).
"""

from __future__ import annotations

import json
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from lib.config import resolve_target
from lib.stacks import select_stacks
from scripts.tapctl.bench import change_aware, chart_tool, parts
from scripts.tapctl.bench.measure import Run, stdout_to_stderr
from scripts.tapctl.bench.peer import ensure_cli
from scripts.tapctl.bench.report import document, render_table
from scripts.tapctl.core import emulator_process, paths, ui
from scripts.tapctl.core.errors import StageFailed, TapError
from scripts.tapctl.core.terraform_setup import check_version, find_binary
from scripts.tapctl.stages import destroy
from scripts.tapctl.stages.session import default_parallelism

PARTS = (1, 2, 3, 4, 5)
#: a part that needs another in the same run
NEEDS = {5: 2}
MAX_REPS = 50


@dataclass(frozen=True)
class BenchOptions:
    """What ``scripts/tap bench`` was asked for (its arguments, typed)."""

    env: str = "pr"
    suffix: str | None = None
    stacks: str | None = None
    reps: int = 3
    parts: tuple[int, ...] = PARTS
    parallelism: int = field(default_factory=default_parallelism)
    peer_parallelism: int = 1
    cdktf: str | None = None
    no_install: bool = False
    out: Path | None = None


def prepare(options: BenchOptions) -> Run:
    """Validate everything before anything is measured."""
    for part, needed in NEEDS.items():
        if part in options.parts and needed not in options.parts:
            raise TapError(f"--parts: part {part} needs part {needed} in the same run (add {needed})")
    target = resolve_target(options.env, options.suffix)
    try:
        stacks = select_stacks(target, options.stacks)
    except ValueError as exc:
        raise TapError(f"--stacks: {exc}") from None
    if not target.env.protection.destroy_allowed:
        raise TapError(f"environment {target.env.name!r} is protected: the benchmark deploys and destroys it")
    out = options.out or paths.workdir() / "bench"
    out.mkdir(parents=True, exist_ok=True)
    if options.cdktf or not options.no_install:
        ui.info("bench    looking for cdktf-cli (installing it from npm if absent)")
    cli = ensure_cli(
        paths.workdir() / "bench" / "cdktf-cli", options.cdktf, install_missing=not options.no_install
    )
    ui.info(f"bench    {cli.message}")
    return Run(target, stacks, options.reps, options.parallelism, options.peer_parallelism, out, cli)


def execute(run: Run, chosen: tuple[int, ...]) -> None:
    """Run the parts; each finished one leaves its rows in ``run.rows`` and the latest
    waterfall in ``run.bars``, so a later failure loses nothing already measured."""
    run.terraform = find_binary()
    check_version(run.terraform)
    if 1 in chosen:
        parts.part_synth(run)
    if not {2, 3, 4, 5} & set(chosen):
        return
    with emulator_process.owned():
        if {2, 4, 5} & set(chosen):
            baseline = parts.deploy_baseline(run)
            try:
                if 2 in chosen:
                    run.bars = parts.part_pr_feedback(run, baseline)
                if 5 in chosen:
                    change_aware.part_change_aware(run, run.peer_feedback)
                if 4 in chosen:
                    parts.part_tests(run, baseline)
            finally:
                destroy.destroy(baseline)
        if 3 in chosen:
            run.bars = parts.part_ephemeral(run)


def main(options: BenchOptions) -> int:
    run = prepare(options)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    failure: BaseException | None = None
    with stdout_to_stderr():
        try:
            execute(run, options.parts)
        except (TapError, StageFailed, KeyboardInterrupt) as exc:
            failure = exc
        except Exception as exc:  # a bug must not lose what was measured: one line, the trace in a log
            log = paths.logs_dir() / "bench.traceback.log"
            log.write_text(traceback.format_exc(), encoding="utf-8")
            failure = TapError(f"{type(exc).__name__}: {exc} [log: {log}]")
    waterfall = run.bars
    meta = {
        "started": started,
        "environment": run.target.env.name,
        "suffix": run.target.suffix,
        "stacks": run.stacks,
        "reps": run.reps,
        "parts": list(options.parts),
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
    if waterfall:  # drawn after everything is measured: installing matplotlib times nothing
        print(
            chart_tool.try_render(
                run.out / "bench.json", run.out / "waterfall.png", install=not options.no_install
            )
        )
    else:
        print("chart not drawn (no waterfall: parts 2 and 3 were not run)")
    if failure is not None:
        ui.info(f"bench    stopped early (rows above: the parts finished before): {meta['stopped_early']}")
        raise failure
    return 0
