"""What the benchmark chart shows, from ``bench.json``: sections, rows, bars, one colour per stage.

Standard library only, and no import from the rest of ``scripts.tapctl``: this module is
imported both by :mod:`scripts.tapctl.bench.chart` (which draws, inside the chart's own
venv where only matplotlib is installed) and by the unit tests (in the project's venv,
without matplotlib).

The JSON's ``waterfall`` is a list of ``{row, stage, start, seconds}`` from the median
repetition of part 3 (or of part 2 when part 3 did not run): row ``pipeline`` holds our
whole stages, every other row of ours is a stack, and rows named ``peer (...)`` are the
peer's. The peer's ``diff <stack>`` phases (part 2) become one row per stack with stage
``diff``; its whole-run phases (``cdktf deploy '*'`` ..., part 3) stay on one row.
"""

from __future__ import annotations

import colorsys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PIPELINE_ROW = "pipeline"
PEER_PREFIX = "peer"
PER_STACK_PEER_STAGES = ("diff",)

#: One colour per stage, none repeated (matplotlib's tab20: the peer's stages that do
#: what one of ours does take the light shade of ours: plan/diff, apply/deploy, outputs/output).
STAGE_COLOURS: dict[str, str] = {
    "synth": "#9467bd",
    "bootstrap": "#7f7f7f",
    "plan": "#2ca02c",
    "apply": "#ff7f0e",
    "converge": "#bcbd22",
    "outputs": "#17becf",
    "test": "#d62728",
    "secrets": "#e377c2",
    "destroy": "#8c564b",
    "comment": "#1f77b4",
    "diff": "#98df8a",
    "deploy": "#ffbb78",
    "output": "#9edae5",
}
#: For stages not listed above, in order of appearance.
SPARE_COLOURS = ("#aec7e8", "#c5b0d5", "#ff9896", "#c49c94", "#f7b6d2", "#dbdb8d", "#c7c7c7")
#: A bar at least this share of the time axis is labelled with its seconds.
LABEL_SHARE = 0.03


@dataclass(frozen=True)
class Span:
    stage: str
    start: float
    seconds: float

    @property
    def end(self) -> float:
        return self.start + self.seconds


@dataclass(frozen=True)
class Row:
    label: str
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class Section:
    title: str
    rows: tuple[Row, ...]

    @property
    def end(self) -> float:
        return max(s.end for r in self.rows for s in r.spans)


@dataclass(frozen=True)
class Chart:
    title: str
    subtitle: str
    sections: tuple[Section, ...]
    colours: dict[str, str]  # stage -> colour, in legend order

    @property
    def end(self) -> float:
        return max(s.end for s in self.sections)


def split_stage(stage: str) -> tuple[str, str | None]:
    """``"diff platform"`` -> ``("diff", "platform")``; any other stage -> ``(stage, None)``."""
    head, _, rest = stage.partition(" ")
    if head in PER_STACK_PEER_STAGES and rest:
        return head, rest
    return stage, None


def _rows(bars: Iterable[tuple[str, Span]]) -> dict[str, list[Span]]:
    """Row label -> its spans; rows in order of their first start (then label)."""
    rows: dict[str, list[Span]] = {}
    for label, span in bars:
        rows.setdefault(label, []).append(span)
    ordered = sorted(rows, key=lambda r: (min(s.start for s in rows[r]), r))
    return {r: sorted(rows[r], key=lambda s: s.start) for r in ordered}


def _span(bar: Mapping[str, Any], stage: str) -> Span:
    return Span(stage, float(bar["start"]), float(bar["seconds"]))


def sections(bars: Sequence[Mapping[str, Any]]) -> tuple[Section, ...]:
    """Ours (the whole stages, then one row per stack), then the peer's (one row per stack,
    and one for its phases over all stacks)."""
    ours = _rows((b["row"], _span(b, b["stage"])) for b in bars if not b["row"].startswith(PEER_PREFIX))
    result = []
    if ours:
        whole = ours.pop(PIPELINE_ROW, None)
        rows = [Row("all stacks (whole stages)", tuple(whole))] if whole else []
        rows += [Row(label, tuple(spans)) for label, spans in ours.items()]
        result.append(Section("ours: scripts/tap", tuple(rows)))
    peers = list(dict.fromkeys(b["row"] for b in bars if b["row"].startswith(PEER_PREFIX)))
    for peer in peers:
        per_stack, whole_run = [], []
        for bar in (b for b in bars if b["row"] == peer):
            stage, stack = split_stage(bar["stage"])
            (per_stack if stack else whole_run).append((stack or "", _span(bar, stage)))
        rows = [Row("all stacks", tuple(s for _, s in whole_run))] if whole_run else []
        rows += [Row(label, tuple(spans)) for label, spans in _rows(per_stack).items()]
        result.append(Section(f"peer: {_peer_name(peer)}", tuple(rows)))
    return tuple(result)


def _peer_name(row: str) -> str:
    """``"peer (cdktf)"`` -> ``"cdktf-cli"``; ``"peer (sequential terraform)"`` -> as is."""
    inner = row[len(PEER_PREFIX) :].strip().strip("()") or "peer"
    return "cdktf-cli" if inner == "cdktf" else inner


def colours(stages: Iterable[str]) -> dict[str, str]:
    """Stage -> colour, one distinct colour per stage: the fixed ones first (in
    :data:`STAGE_COLOURS` order), then others in order of appearance."""
    seen = list(dict.fromkeys(stages))
    known = [s for s in STAGE_COLOURS if s in seen]
    others = [s for s in seen if s not in STAGE_COLOURS]
    spare = list(SPARE_COLOURS) + _more_colours(len(others) - len(SPARE_COLOURS))
    return {**{s: STAGE_COLOURS[s] for s in known}, **dict(zip(others, spare, strict=False))}


def _more_colours(count: int) -> list[str]:
    """``count`` further colours around the hue circle (only for many unknown stages)."""
    result = []
    for i in range(max(0, count)):
        r, g, b = colorsys.hsv_to_rgb((i + 0.5) / count, 0.45, 0.8)
        result.append(f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}")
    return result


def ink_for(colour: str) -> str:
    """Black or white, whichever reads better on ``colour`` (``#rrggbb``)."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "white"


def bar_label(span: Span, axis_end: float) -> str | None:
    """The seconds written on a bar wide enough to hold them."""
    if axis_end <= 0 or span.seconds < LABEL_SHARE * axis_end:
        return None
    return f"{span.seconds:.0f} s"


def measured(stages: Iterable[str]) -> str:
    """Which part the waterfall is: part 2 renders a comment and the peer diffs."""
    names = {split_stage(s)[0] for s in stages}
    if "comment" in names or "diff" in names:
        return "PR feedback (part 2)"
    return "ephemeral cycle (part 3)"


def titles(doc: Mapping[str, Any]) -> tuple[str, str]:
    """The chart's title and subtitle: what was measured, when, how often, where."""
    bars = doc.get("waterfall") or []
    date = str(doc.get("started") or "")[:10] or "date unknown"
    title = f"scripts/tap bench, {date}: {measured(b['stage'] for b in bars)}"
    reps = doc.get("reps")
    rep = "1 repetition" if reps == 1 else f"the median of {reps} repetitions" if reps else "repetitions: ?"
    target = "/".join(str(p) for p in (doc.get("environment"), doc.get("suffix")) if p)
    stacks = doc.get("stacks") or []
    details = [
        f"{target or '?'}, {len(stacks)} stack{'s' if len(stacks) != 1 else ''}",
        rep,
        f"{doc.get('cpus') or '?'} CPUs",
        f"ours -j {doc.get('parallelism', '?')}, peer --parallelism {doc.get('peer_parallelism', '?')}",
    ]
    if doc.get("stopped_early"):
        details.append(f"stopped early: {doc['stopped_early']}")
    return title, "; ".join(details)


def from_document(doc: Mapping[str, Any]) -> Chart:
    """The chart of a ``bench.json`` document; a ``ValueError`` when it has no bars to draw."""
    bars = doc.get("waterfall") or []
    if not bars:
        raise ValueError("the JSON has no waterfall (parts 2 and 3 were not run): nothing to draw")
    parts = sections(bars)
    stages = (s.stage for section in parts for row in section.rows for s in row.spans)
    title, subtitle = titles(doc)
    return Chart(title, subtitle, parts, colours(stages))
