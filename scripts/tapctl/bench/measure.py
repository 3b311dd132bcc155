"""How the benchmark measures: one run's state, timing helpers, and the waterfall's bars.

:func:`recording` turns every per-stack stage the pipeline runs into a bar (start,
duration) through :func:`scripts.tapctl.stages.parallel.observed`; :class:`TimedPipeline`
adds one bar per whole stage.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lib.config import Target
from scripts.tapctl.bench.peer import CdktfPeer, CliLookup
from scripts.tapctl.bench.report import Bar, Comparison
from scripts.tapctl.core import paths
from scripts.tapctl.stages import parallel
from scripts.tapctl.stages.parallel import StackResult
from scripts.tapctl.stages.pipeline import Pipeline
from scripts.tapctl.stages.session import Session, SessionOptions, open_session


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
    #: part 2's peer seconds per repetition (part 5 compares against them)
    peer_feedback: list[float] = field(default_factory=list)

    @property
    def only(self) -> str:
        return ",".join(self.stacks)

    def session(self, parallelism: int | None = None) -> Session:
        options = SessionOptions(cloud="emulator", parallelism=parallelism or self.parallelism)
        return open_session(self.target, options, terraform=self.terraform)

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
    """Record every per-stack stage run inside the block (start and duration) as bars."""

    def record(stage: str, results: Mapping[str, StackResult[Any]]) -> None:
        bars.extend(Bar(r.stack, stage, r.started, r.seconds) for r in results.values() if not r.skipped)

    with parallel.observed(record):
        yield bars


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


def phase(bars: list[Bar], row: str, name: str, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` and record it as one bar ``name`` of ``row``."""
    t0 = time.monotonic()
    try:
        return fn()
    finally:
        bars.append(Bar(row, name, t0, time.monotonic() - t0))
