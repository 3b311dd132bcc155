"""Benchmark figures: medians, ratios, targets, the table and the JSON document.

Pure functions only (no processes, no clock): ``bench.py`` measures, this
module turns seconds into figures. Every figure is a ratio of medians of
repetitions measured in the same run; a target is checked here and printed,
never asserted by a timed test.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from scripts.tapctl.core import ui
from scripts.tapctl.core.errors import TapError

JSON_VERSION = 1

#: ``at_most``: median(ours) / median(reference) must be <= the target.
#: ``speedup``: median(reference) / median(ours) must be >= the target.
#: ``none``: a count (e.g. Terraform runs) that must be 0 in every repetition; the
#: figure is the median count and ``value`` is unused.
KINDS = ("at_most", "speedup", "none")


@dataclass(frozen=True)
class Target:
    kind: str
    value: float

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise TapError(f"target kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.value <= 0 and self.kind != "none":
            raise TapError(f"target value {self.value} must be > 0")

    def describe(self) -> str:
        if self.kind == "none":
            return "0 in every rep"
        return f"<= {self.value:g}x" if self.kind == "at_most" else f">= {self.value:g}x faster"


@dataclass(frozen=True)
class Bar:
    """One bar of the waterfall: ``row`` (a stack) spent ``seconds`` in ``stage`` from ``start``."""

    row: str
    stage: str
    start: float
    seconds: float


@dataclass
class Comparison:
    """One table row: our timings against a reference's, over the same repetitions."""

    name: str
    ours_label: str
    reference_label: str
    target: Target
    ours: list[float] = field(default_factory=list)
    reference: list[float] = field(default_factory=list)
    note: str = ""
    unit: str = "s"

    def show(self, values: Sequence[float]) -> str:
        """A median as the table prints it (seconds, or a count with its unit)."""
        if not values:
            return "-"
        value = median(values)
        return f"{value:.1f}s" if self.unit == "s" else f"{value:g} {self.unit}"

    @property
    def measured(self) -> bool:
        return bool(self.ours) and bool(self.reference)

    def figure(self) -> float | None:
        if not self.measured:
            return None
        return ratio(self.ours, self.reference, self.target.kind)

    def passed(self) -> bool | None:
        value = self.figure()
        if value is None:
            return None
        if self.target.kind == "none":
            return all(v == 0 for v in self.ours)
        if self.target.kind == "at_most":
            return value <= self.target.value
        return value >= self.target.value

    def to_dict(self) -> dict[str, Any]:
        figure = self.figure()
        return {
            "name": self.name,
            "ours": _series(self.ours_label, self.ours),
            "reference": _series(self.reference_label, self.reference),
            "figure": None if figure is None else round(figure, 4),
            "target": {"kind": self.target.kind, "value": self.target.value},
            "passed": self.passed(),
            "unit": self.unit,
            "note": self.note,
        }


def _series(label: str, seconds: Sequence[float]) -> dict[str, Any]:
    return {
        "label": label,
        "seconds": [round(s, 3) for s in seconds],
        "median": round(median(seconds), 3) if seconds else None,
    }


def median(seconds: Sequence[float]) -> float:
    if not seconds:
        raise TapError("no repetitions measured: a median needs at least one")
    if any(s < 0 for s in seconds):
        raise TapError(f"negative duration in {list(seconds)}")
    return float(statistics.median(seconds))


def ratio(ours: Sequence[float], reference: Sequence[float], kind: str) -> float:
    """The figure of a comparison: a ratio of medians (see ``KINDS``)."""
    mine, theirs = median(ours), median(reference)
    if kind == "none":
        return mine
    if kind == "at_most":
        if theirs == 0:
            raise TapError("the reference median is 0 s: cannot divide by it")
        return mine / theirs
    if kind == "speedup":
        if mine == 0:
            raise TapError("our median is 0 s: cannot divide by it")
        return theirs / mine
    raise TapError(f"ratio kind {kind!r} is not one of {', '.join(KINDS)}")


def verdict(row: Comparison) -> str:
    passed = row.passed()
    if passed is None:
        return "not measured"
    return "PASS" if passed else "MISS"


def render_table(rows: Sequence[Comparison]) -> str:
    """The stdout table (medians, figure, target, PASS/MISS per row), then each row's note."""
    body = []
    for row in rows:
        figure = row.figure()
        body.append(
            [
                row.name,
                row.show(row.ours),
                row.reference_label,
                row.show(row.reference),
                "-" if figure is None else f"{figure:g}" if row.target.kind == "none" else f"{figure:.2f}x",
                row.target.describe(),
                verdict(row),
            ]
        )
    headers = ["comparison", "ours (median)", "reference", "ref (median)", "figure", "target", "result"]
    notes = [f"note: {row.name}: {row.note}" for row in rows if row.note]
    return "\n".join([ui.table(headers, body), *notes])


def document(rows: Sequence[Comparison], bars: Sequence[Bar], *, meta: dict[str, Any]) -> dict[str, Any]:
    """The JSON written to ``.tap/bench/bench.json``."""
    t0 = min((b.start for b in bars), default=0.0)
    return {
        "version": JSON_VERSION,
        **meta,
        "rows": [r.to_dict() for r in rows],
        "waterfall": [
            {"row": b.row, "stage": b.stage, "start": round(b.start - t0, 3), "seconds": round(b.seconds, 3)}
            for b in bars
        ],
    }
